"""info_format=mtg_jamendo: MTG-Jamendo's autotagging TSVs as published -> Annotations, official split files,
and the plan's rows when long tracks are cut into several windows."""

import numpy as np
import pytest

from src.core.errors import UserError
from src.preprocess.annotations import read_annotations
from src.preprocess.plan import make_plan
from src.preprocess.splits import read_split_list
from tests.helpers.datasets import format_spec

HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"
# Rows as published in MTG/mtg-jamendo-dataset's data/splits/split-0/autotagging_top50tags-validation.tsv:
# one TAGS header field, then as many tag fields as the track has; zero-padded ids, PATH folder = last two digits.
TOP50 = [
    "track_0917538\tartist_378901\talbum_108650\t38/917538.mp3\t126.5\tgenre---easylistening\tgenre---soundtrack\t"
    "instrument---piano",
    "track_0917539\tartist_378901\talbum_108650\t39/917539.mp3\t219.6\tgenre---funk\tgenre---soundtrack",
    "track_0917542\tartist_378901\talbum_108650\t42/917542.mp3\t184.8\tgenre---pop\tmood/theme---happy",
    "track_1405384\tartist_439637\talbum_164315\t84/1405384.mp3\t208.0\tinstrument---electricpiano",
    "track_0000773\tartist_000104\talbum_000126\t73/773.mp3\t275.3\tgenre---electronic",
    "track_0394604\tartist_340435\talbum_049520\t04/394604.mp3\t39.1\tgenre---easylistening\tgenre---electronic\t"
    "genre---lounge",
]
# data/autotagging_moodtheme.tsv: a subset file, whose tags are not sorted within a row.
MOODTHEME = [
    "track_1376256\tartist_490499\talbum_161779\t56/1376256.mp3\t166.0\tmood/theme---corporate\tmood/theme---commercial",
    "track_0786434\tartist_368880\talbum_092222\t34/786434.mp3\t460.8\tmood/theme---deep",
    "track_1376257\tartist_490499\talbum_161779\t57/1376257.mp3\t188.1\tmood/theme---corporate\tmood/theme---uplifting",
]


def _tsv(path, rows, header=HEADER):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in [header, *rows]), encoding="utf-8")
    return path


def test_the_published_layout_is_read_with_full_tags_in_file_order(tmp_path):
    notes = read_annotations(_tsv(tmp_path / "autotagging_top50tags.tsv", TOP50), "mtg_jamendo")
    assert notes.clip_ids.tolist() == [917538, 917539, 917542, 1405384, 773, 394604]
    assert notes.mp3_paths[:2] == ["38/917538.mp3", "39/917539.mp3"] and notes.mp3_paths[4] == "73/773.mp3"
    np.testing.assert_array_equal(notes.durations, [126.5, 219.6, 184.8, 208.0, 275.3, 39.1])
    assert notes.tag_names == [
        "genre---easylistening", "genre---soundtrack", "instrument---piano", "genre---funk", "genre---pop",
        "mood/theme---happy", "instrument---electricpiano", "genre---electronic", "genre---lounge",
    ]  # fmt: skip
    assert notes.tag_matrix.sum(axis=1).tolist() == [3, 2, 2, 1, 1, 3]
    assert notes.tag_matrix[2, notes.tag_names.index("mood/theme---happy")] == 1
    assert notes.splits is None


def test_a_subset_file_with_unsorted_tags_a_bom_and_crlf_lines(tmp_path):
    path = tmp_path / "autotagging_moodtheme.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(f"{r}\r\n" for r in [HEADER, *MOODTHEME]).encode())
    notes = read_annotations(path, "mtg_jamendo")
    assert notes.tag_names == ["mood/theme---corporate", "mood/theme---commercial", "mood/theme---deep",
                               "mood/theme---uplifting"]  # fmt: skip
    np.testing.assert_array_equal(notes.tag_matrix, [[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]])


@pytest.mark.parametrize(
    "header, rows, needle",
    [
        ("TRACK_ID,ARTIST_ID,ALBUM_ID,PATH,DURATION,TAGS", [], "line 1: expected the MTG-Jamendo header"),
        ('"clip_id"\t"guitar"\t"mp3_path"', ['"2"\t"1"\t"f/a.mp3"'], "line 1: expected the MTG-Jamendo header"),
        (HEADER, [], "has a header but no track rows"),
        (HEADER, ["track_0000001\tartist_1\talbum_1\t01/1.mp3"], "line 2: 4 fields, expected at least 5"),
        (HEADER, ["1\tartist_1\talbum_1\t01/1.mp3\t30.0\tgenre---rock"], "line 2: TRACK_ID '1' is not like"),
        (HEADER, ["track_0000001\tartist_1\talbum_1\t01/1.mp3\t2:05\tgenre---rock"], "DURATION '2:05' is not"),
        (HEADER, ["track_0000001\tartist_1\talbum_1\t01/1.mp3\tnan\tgenre---rock"], "DURATION 'nan' is not"),
        (HEADER, ["track_0000001\tartist_1\talbum_1\t01/1.mp3\t30.0\trock"], "tag 'rock' is not category---name"),
        (HEADER, [TOP50[0], TOP50[1], TOP50[0]], "line 4: TRACK_ID track_0917538 already appears on line 2"),
        (HEADER, [TOP50[0], TOP50[1].replace("39/917539", "38/917538")], "line 3: PATH '38/917538.mp3' already"),
        (HEADER, ["track_2147483648\tartist_1\talbum_1\t48/2147483648.mp3\t30.0\tgenre---rock"], "int32 id column"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_line_and_field(tmp_path, header, rows, needle):
    with pytest.raises(UserError) as caught:
        read_annotations(_tsv(tmp_path / "jam.tsv", rows, header), "mtg_jamendo")
    assert needle in str(caught.value) and "jam.tsv" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.fixture
def checkout(tmp_path):
    """The repository's data/ folder: a subset file and its official split-0 files, in the same layout."""
    data = tmp_path / "mtg-jamendo-dataset" / "data"
    _tsv(data / "autotagging_top50tags.tsv", TOP50)
    split = data / "splits" / "split-0"
    lists = {
        "train": _tsv(split / "autotagging_top50tags-train.tsv", [TOP50[i] for i in (0, 1, 4, 5)]),
        "val": _tsv(split / "autotagging_top50tags-validation.tsv", [TOP50[2]]),
        "test": _tsv(split / "autotagging_top50tags-test.tsv", [TOP50[3]]),
    }
    return data, {name: str(path) for name, path in lists.items()}


def test_official_split_files_are_split_lists_by_their_path_column(tmp_path, checkout):
    data, lists = checkout
    assert read_split_list(lists["train"]) == ["38/917538.mp3", "39/917539.mp3", "73/773.mp3", "04/394604.mp3"]
    plan = make_plan(
        format_spec(tmp_path, data / "autotagging_top50tags.tsv", "mtg_jamendo", 9, method="file", lists=lists)
    )
    assert dict(zip(plan.clip_ids.tolist(), plan.splits, strict=True)) == {
        917538: "train", 917539: "train", 773: "train", 394604: "train", 917542: "val", 1405384: "test",
    }  # fmt: skip
    assert plan.settings["info_format"] == "mtg_jamendo"
    assert plan.settings["split_lists"]["val"]["file"] == "autotagging_top50tags-validation.tsv"
    assert plan.tags[-3:] == ["genre---easylistening", "genre---electronic", "genre---soundtrack"]  # 2 tracks each
    row = plan.clip_ids.tolist().index(917542)
    assert {plan.tags[j] for j in np.flatnonzero(plan.labels[row])} == {"genre---pop", "mood/theme---happy"}


def test_a_split_file_of_another_subset_is_refused(tmp_path, checkout):
    data, lists = checkout
    _tsv(data / "autotagging_moodtheme.tsv", MOODTHEME)
    with pytest.raises(UserError, match="'38/917538.mp3' is not an mp3_path of the annotation file"):
        make_plan(
            format_spec(tmp_path, data / "autotagging_moodtheme.tsv", "mtg_jamendo", 2, method="file", lists=lists)
        )


def test_long_tracks_become_windows_with_unique_ids_all_in_their_tracks_split(tmp_path, checkout):
    data, lists = checkout
    info = data / "autotagging_top50tags.tsv"
    plan = make_plan(format_spec(tmp_path, info, "mtg_jamendo", 9, track_windows=4, method="file", lists=lists))
    # 126.5 s holds 4 whole 29.12 s windows, 219.6 s 7 (capped at 4), 39.1 s one.
    windows = {int(i) // 4: int(n) for i, (_, n) in zip(plan.clip_ids, plan.windows, strict=True)}
    assert windows == {917538: 4, 917539: 4, 773: 4, 394604: 1, 917542: 4, 1405384: 4}
    assert len(plan) == 21 and len(set(plan.clip_ids.tolist())) == 21
    np.testing.assert_array_equal(plan.clip_ids % 4, plan.windows[:, 0])
    assert plan.clip_ids.tolist()[:4] == [917538 * 4 + k for k in range(4)]  # a track's windows side by side
    one = make_plan(format_spec(tmp_path, info, "mtg_jamendo", 9, method="file", lists=lists))
    for track, split, label in zip(one.clip_ids, one.splits, one.labels, strict=True):
        rows = plan.clip_ids // 4 == track
        assert set(plan.splits[rows]) == {split}
        assert (plan.labels[rows] == label).all()
    assert plan.planned == {"train": 13, "val": 4, "test": 4}
    assert plan.settings["track_windows"] == 4 and "track_windows" not in one.settings
    assert plan.fingerprint != one.fingerprint
    assert len(set(plan.mp3_paths)) == 6


def test_track_windows_refuse_ids_that_do_not_fit_int32(tmp_path):
    info = _tsv(tmp_path / "big.tsv", ["track_2000000000\tartist_1\talbum_1\t00/2000000000.mp3\t90.0\tgenre---rock"])
    with pytest.raises(UserError, match=r"track_windows=2: row ids .* clip id 2000000000; use at most 1"):
        make_plan(format_spec(tmp_path, info, "mtg_jamendo", 1, track_windows=2))


def test_tags_the_split_files_drop_are_left_out_as_on_the_official_splits(tmp_path, checkout, caplog):
    data, lists = checkout
    # As autotagging_moodtheme.tsv's mood/theme---ambiental (460 tracks) is in no split-0 file: frequent, yet gone.
    _tsv(data / "autotagging_top50tags.tsv", [row + "\tmood/theme---ambiental" for row in TOP50])
    with caplog.at_level("INFO", logger="fcn4"):
        plan = make_plan(format_spec(tmp_path, data / "autotagging_top50tags.tsv", "mtg_jamendo", 9, method="file",
                                     lists=lists))  # fmt: skip
    assert "mood/theme---ambiental" not in plan.tags and len(plan.tags) == 9
    assert any("1 tags of" in r.getMessage() and "mood/theme---ambiental" in r.getMessage() for r in caplog.records)
    with pytest.raises(UserError, match="has 9 tag columns"):
        make_plan(format_spec(tmp_path, data / "autotagging_top50tags.tsv", "mtg_jamendo", 10, method="file",
                              lists=lists))  # fmt: skip
