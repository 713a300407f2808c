"""info_format=msd_lastfm: the MSD last.fm top-50 split in musicnn-training's text layout -> Annotations and a
plan with the split its gt files define; the published pickles are refused, never opened."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from src.core.errors import UserError
from src.preprocess.annotations import read_annotations
from src.preprocess.plan import make_plan
from tests.helpers.datasets import format_spec
from tests.helpers.format_corpora import LASTFM_50

TAGS = list(LASTFM_50)  # sota-music-tagging-models' split/msd/50tagList.txt, in its order
# Track ids of musicnn-training's data/index/msd/ files; each labelled with the tags at these positions.
SPLITS = {
    "train": {"TRAAAAK128F9318786": (0, 14), "TRAAAAW128F429D538": (1,), "TRZZZZD128F4236844": (0, 11, 42)},
    "val": {"TRYOGXX128F42483A6": (39,), "TRYOHDO128F42669A4": (1, 45)},
    "test": {"TRYOHDQ12903CB277E": (1, 4, 6, 48)},
}


def _gt_line(track: str, positives: tuple[int, ...]) -> str:
    labels = np.zeros(len(TAGS), int)
    labels[list(positives)] = 1
    return f"{track}\t{labels.tolist()}\n"  # what create_MSD_gt.py writes: str(gt.tolist())


def write_musicnn_folder(folder: Path, spelling: str = "msd", tag_list: str = "50tagList.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, tracks in SPLITS.items():
        lines = "".join(_gt_line(track, positives) for track, positives in tracks.items())
        (folder / f"{split}_gt_{spelling}.tsv").write_text(lines)
    if tag_list == "50tagList.txt":
        (folder / tag_list).write_text("".join(f"{tag}\n" for tag in TAGS))
    else:
        (folder / tag_list).write_text(f"# Output labels\nMSD_LABELS = {TAGS!r}\n\n")
    return folder


def test_the_gt_files_and_tag_list_are_read_with_their_split_and_the_id_path_layout(tmp_path):
    notes = read_annotations(write_musicnn_folder(tmp_path / "msd"), "msd_lastfm")
    assert notes.tag_names == TAGS
    assert notes.clip_ids.tolist() == [1, 2, 3, 4, 5, 6]
    assert notes.splits.tolist() == ["train", "train", "train", "val", "val", "test"]
    assert notes.mp3_paths[0] == "A/A/A/TRAAAAK128F9318786.mp3"  # as musicnn's index_msd_debug.tsv lists it
    assert notes.mp3_paths[3] == "Y/O/G/TRYOGXX128F42483A6.mp3"
    assert [np.flatnonzero(row).tolist() for row in notes.tag_matrix] == [
        list(p) for tracks in SPLITS.values() for p in tracks.values()
    ]
    assert [Path(f).name for f in notes.files] == ["train_gt_msd.tsv", "val_gt_msd.tsv", "test_gt_msd.tsv",
                                                   "50tagList.txt"]  # fmt: skip


def test_musicnn_spellings_its_label_file_and_an_index_of_7digital_paths(tmp_path):
    folder = write_musicnn_folder(tmp_path / "msd", spelling="MSD", tag_list="output_labels_msd.txt")
    tracks = [track for split in SPLITS.values() for track in split]
    index = "".join(f"{track}\t8/9/{8947470 + i}.clip.mp3\textra\n" for i, track in enumerate(reversed(tracks)))
    (folder / "index_MSD.tsv").write_text(index)
    notes = read_annotations(folder, "msd_lastfm")
    assert notes.tag_names == TAGS
    assert notes.mp3_paths[0] == f"8/9/{8947470 + len(tracks) - 1}.clip.mp3"
    assert Path(notes.files[-1]).name == "index_MSD.tsv"


class _Marker:
    """Unpickling this creates a file: the test's proof that a pickle was (or was not) loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.mark.parametrize("point_at", ["file", "folder"])
def test_sota_pickles_are_refused_with_the_conversion_and_never_loaded(tmp_path, point_at):
    folder = tmp_path / "split" / "msd"
    folder.mkdir(parents=True)
    marker = tmp_path / "unpickled"
    for name in ("filtered_list_train.cP", "msd_id_to_tag_vector.cP", "MSD_id_to_7D_id.pkl"):
        (folder / name).write_bytes(pickle.dumps(_Marker(marker)))
    (folder / "50tagList.txt").write_text("".join(f"{tag}\n" for tag in TAGS))
    target = folder / "filtered_list_train.cP" if point_at == "file" else folder
    with pytest.raises(UserError) as caught:
        read_annotations(target, "msd_lastfm")
    message = str(caught.value)
    assert "never unpickles" in message and "create_MSD_gt.py" in message and "\n" not in message
    assert ("is a Python pickle" if point_at == "file" else "filtered_list_train.cP") in message
    assert not marker.exists()


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda f: (f / "train_gt_msd.tsv").unlink(), "has no train_gt_msd.tsv"),
        (lambda f: (f / "50tagList.txt").unlink(), "has no tag list"),
        (lambda f: _write(f, "val_gt_msd.tsv", ""), "val_gt_msd.tsv is empty"),
        (lambda f: _write(f, "val_gt_msd.tsv", "TRYOGXX128F42483A6\t[0, 1]\n"), "line 1: 2 labels, expected 50"),
        (lambda f: _write(f, "val_gt_msd.tsv", "TRYOGXX128F42483A6\t[2" + ", 0" * 49 + "]\n"), "not a list of 0/1"),
        (lambda f: _write(f, "val_gt_msd.tsv", "TRYOGXX128F42483A6 [0]\n"), "line 1: 1 fields, expected 2"),
        (lambda f: _write(f, "val_gt_msd.tsv", "../../etc\t[0]\n"), "track id '../../etc' is not an MSD id"),
        (lambda f: _write(f, "test_gt_msd.tsv", _gt_line("TRAAAAW128F429D538", (1,))), "already appears in train"),
        (lambda f: _write(f, "50tagList.txt", "rock\npop\nrock\n"), "tags listed twice: rock"),
        (lambda f: _write(f, "index_msd.tsv", "TRAAAAK128F9318786\tA/A/A/TRAAAAK128F9318786.mp3\n"),
         "has no path for track TRAAAAW128F429D538 (train_gt_msd.tsv, line 2)"),
    ],
)  # fmt: skip
def test_a_bad_folder_is_one_line_naming_the_file_and_line(tmp_path, change, needle):
    folder = write_musicnn_folder(tmp_path / "msd")
    change(folder)
    with pytest.raises(UserError) as caught:
        read_annotations(folder, "msd_lastfm")
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_a_gt_file_given_instead_of_its_folder_names_the_folder(tmp_path):
    folder = write_musicnn_folder(tmp_path / "msd")
    with pytest.raises(UserError, match=f"pass --info_path {folder}"):
        read_annotations(folder / "val_gt_msd.tsv", "msd_lastfm")


def test_the_plan_takes_the_split_of_the_gt_files_and_fingerprints_every_file(tmp_path):
    folder = write_musicnn_folder(tmp_path / "msd")
    plan = make_plan(format_spec(tmp_path, folder, "msd_lastfm", 5, method="annotations"))
    assert plan.planned == {"train": 3, "val": 2, "test": 1}
    assert plan.tags == ["heavy metal", "metal", "rnb", "rock", "pop"]  # ascending frequency, ties by name
    assert plan.settings["split"] == "annotations" and plan.settings["info_format"] == "msd_lastfm"
    before = plan.fingerprint
    with open(folder / "test_gt_msd.tsv", "a") as handle:
        handle.write(_gt_line("TRYOHGA128F92F6CDB", (2,)))
    assert make_plan(format_spec(tmp_path, folder, "msd_lastfm", 5, method="annotations")).fingerprint != before


def test_a_random_or_folder_split_of_the_published_split_is_refused(tmp_path):
    folder = write_musicnn_folder(tmp_path / "msd")
    for method in ("random", "mtat"):
        with pytest.raises(UserError, match=f"pass --split annotations .*not split={method}"):
            make_plan(format_spec(tmp_path, folder, "msd_lastfm", 5, method=method))


def test_split_annotations_needs_a_format_that_defines_a_split(tmp_path):
    csv = tmp_path / "mine.csv"
    csv.write_text("path,tags\na.mp3,x\nb.mp3,y\n")
    with pytest.raises(UserError, match="info_format=path_tags defines no split of its own"):
        make_plan(format_spec(tmp_path, csv, "path_tags", 2, method="annotations"))
