"""Splits (seeded random, MTAT folders, split files) and the preprocessing plan built on them."""

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from src import demo_data
from src.core.errors import UserError
from src.core.fileio import file_sha256
from src.model_utils.config import get_config
from src.preprocess.plan import make_plan
from src.preprocess.specs import DatasetSpec, SplitSpec
from src.preprocess.splits import (
    MTAT_FOLDER_SPLIT,
    file_split,
    folder_split,
    random_split,
    read_split_list,
    refused_rows,
)


def test_random_split_is_reproducible_and_follows_the_ratio():
    a, b, c = random_split(4000, 0.8, seed=7), random_split(4000, 0.8, seed=7), random_split(4000, 0.8, seed=8)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert set(a) == {"train", "val"}
    assert 0.77 < np.mean(a == "train") < 0.83


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5])
def test_random_split_rejects_a_ratio_outside_0_1(ratio):
    with pytest.raises(UserError, match="train_ratio"):
        random_split(10, ratio, 1)


def test_folder_split_counts_follow_the_mtat_folders():
    paths = demo_data.clip_paths(160, seed=0)  # round-robin over the 16 folders: 10 clips each
    splits = folder_split(paths)
    assert Counter(splits.tolist()) == {"train": 120, "val": 10, "test": 30}
    for path, split in zip(paths, splits, strict=True):
        assert MTAT_FOLDER_SPLIT[path[0]] == split
    assert [f for f, s in MTAT_FOLDER_SPLIT.items() if s == "val"] == ["c"]
    assert sorted(f for f, s in MTAT_FOLDER_SPLIT.items() if s == "test") == ["d", "e", "f"]


def test_folder_split_rejects_a_file_of_another_layout():
    with pytest.raises(UserError, match="'clips'"):
        folder_split(["clips/a.mp3", "clips/b.mp3"])


def test_folder_split_leaves_odd_rows_out_and_names_why():
    paths = ["0/a.mp3", "clips/b.mp3", "/tmp/c.mp3", "../d.mp3", "", "c/e.mp3", "0/../../f.mp3"]
    splits = folder_split(paths)
    assert splits.tolist() == ["train", "", "", "", "", "val", "train"]  # the last one: the workers refuse it
    reasons = refused_rows(paths, splits, "mtat")
    assert sorted(reasons) == [1, 2, 3, 4]
    assert reasons[1] == "folder 'clips' is not an MTAT folder 0-9/a-f (split=mtat)"
    assert "must be relative to the audio root" in reasons[2] and "must be relative" in reasons[3]
    assert "is empty or invalid" in reasons[4]
    assert refused_rows(paths, np.array(["train", "", "val"]), "file") == {}  # not listed on purpose


def test_file_split_reads_text_and_won_style_npy_lists(tmp_path):
    paths = demo_data.clip_paths(12, seed=1)
    (tmp_path / "train.txt").write_text("# train clips\n" + "\n".join(paths[:6]) + "\n\n")
    np.save(tmp_path / "valid.npy", np.array([f"{i}\t{p}" for i, p in enumerate(paths[6:9])]))
    splits = file_split(paths, {"train": str(tmp_path / "train.txt"), "val": str(tmp_path / "valid.npy")})
    assert splits.tolist() == ["train"] * 6 + ["val"] * 3 + [""] * 3
    assert read_split_list(tmp_path / "valid.npy") == paths[6:9]


def test_file_split_rejects_duplicates_unknown_paths_and_object_arrays(tmp_path):
    paths = demo_data.clip_paths(4, seed=1)
    (tmp_path / "a.txt").write_text(paths[0] + "\n")
    (tmp_path / "b.txt").write_text(paths[0] + "\n")
    with pytest.raises(UserError, match="already listed in"):
        file_split(paths, {"train": str(tmp_path / "a.txt"), "val": str(tmp_path / "b.txt")})
    (tmp_path / "c.txt").write_text("0/not_in_annotations.mp3\n")
    with pytest.raises(UserError, match="not an mp3_path of the annotation file"):
        file_split(paths, {"train": str(tmp_path / "c.txt")})
    np.save(tmp_path / "d.npy", np.array([paths[0], None], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="d.npy"):
        read_split_list(tmp_path / "d.npy")
    with pytest.raises(UserError, match="does not exist"):
        read_split_list(tmp_path / "missing.txt")


def _spec(root, **overrides) -> DatasetSpec:
    values = {
        "audio_path": str(root),
        "info_name": "annotations_final.csv",
        "info_format": "mtat",
        "mr_path": str(root / "mr"),
        "num_classes": 2,
        "split": SplitSpec("mtat", 0.8, 1),
        "top_tags_from": "all",
        "drop_untagged": False,
        "num_consumer": 1,
    }
    return DatasetSpec(**{**values, **overrides})


@pytest.fixture
def small_csv(tmp_path):
    """Train (folder 0) rich in 'rock', val/test (c, d) rich in 'jazz'; one clip untagged per split."""
    rows = [
        (1, 1, 0, 0, "0/a.mp3"),
        (2, 1, 0, 0, "0/b.mp3"),
        (3, 0, 1, 0, "0/c.mp3"),
        (4, 0, 0, 0, "0/d.mp3"),
        (5, 0, 1, 1, "c/e.mp3"),
        (6, 0, 1, 1, "c/f.mp3"),
        (7, 0, 0, 0, "d/g.mp3"),
        (8, 0, 1, 1, "d/h.mp3"),
    ]
    with open(tmp_path / "annotations_final.csv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["clip_id", "rock", "pop", "jazz", "mp3_path"])
        writer.writerows(rows)
    return tmp_path


def test_plan_orders_clips_by_split_and_counts_tags_over_the_whole_file_by_default(small_csv):
    plan = make_plan(_spec(small_csv))
    assert plan.tags == ["jazz", "pop"]  # whole file: rock 2, jazz 3, pop 4; label order is ascending
    assert plan.clip_ids.tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert plan.splits.tolist() == ["train"] * 4 + ["val"] * 2 + ["test"] * 2
    assert plan.planned == {"train": 4, "val": 2, "test": 2}


def test_plan_can_take_tags_from_train_only_and_drop_untagged_clips(small_csv):
    plan = make_plan(_spec(small_csv, top_tags_from="train", drop_untagged=True))
    assert plan.tags == ["pop", "rock"]  # train counts: rock 2, pop 1, jazz 0
    assert plan.clip_ids.tolist() == [1, 2, 3, 5, 6, 8]
    assert plan.dropped_untagged == {"train": 1, "val": 0, "test": 1}
    assert plan.labels.tolist() == [[0, 1], [0, 1], [1, 0], [1, 0], [1, 0], [1, 0]]


def test_plan_fingerprint_changes_with_any_output_setting(small_csv):
    base = make_plan(_spec(small_csv)).fingerprint
    assert make_plan(_spec(small_csv)).fingerprint == base
    for change in (
        {"split": SplitSpec("random", 0.8, 1)},
        {"num_consumer": 2},
        {"drop_untagged": True},
        {"top_tags_from": "train"},
    ):
        assert make_plan(_spec(small_csv, **change)).fingerprint != base, change


# Recorded by the code before plans took explicit values: datasets made then must still be "already done".
_SETTINGS = (
    '{"info_name": "annotations_final.csv", "annotations_sha256": '
    '"9707309f102f92f341295f0db8b63472d5167ede623d6baf6e2525bf1cac42c1", "num_classes": 2, "split": %s, '
    '"top_tags_from": "all", "drop_untagged": false, "num_consumer": 1%s}'
)
_RECORDED = {
    "mtat": (_SETTINGS % ('"mtat"', ""), "6ae6d47dd40df3986d638c65cc8ec0c22696e82519a2770f92b423b97e412ba5"),
    "random": (
        _SETTINGS % ('"random"', ', "train_ratio": 0.8, "split_seed": 3'),
        "bf2a73c6bcacbc4a214381a9a40ac43a037d7e3a2ac77f53f340645b50a8a9e6",
    ),
    "file": (
        _SETTINGS
        % (
            '"file"',
            ', "split_lists": {"train": {"file": "train.txt", "sha256": '
            '"10afcfd2758a85b0f00f7f9626118cc9542164ca1fefebeed6e3a19962f76045"}, '
            '"val": {"file": "val.txt", "sha256": '
            '"7967fd4b23d7c57a7f5c40e6a4858a6c247e41a74a97911648d74b2fac23c497"}}',
        ),
        "830b3f5de96cbb2503c467ac9dcd0674b4556cadf3f07b86dd538b0e2e7d5508",
    ),
}


@pytest.mark.parametrize("method", sorted(_RECORDED))
def test_plan_settings_and_fingerprint_match_those_older_datasets_recorded(small_csv, method):
    (small_csv / "train.txt").write_text("0/a.mp3\n0/b.mp3\nc/e.mp3\n")
    (small_csv / "val.txt").write_text("d/h.mp3\n")
    lists = {"train": str(small_csv / "train.txt"), "val": str(small_csv / "val.txt"), "test": ""}
    split = SplitSpec(method, 0.8, 3, lists if method == "file" else {})
    plan = make_plan(_spec(small_csv, split=split))
    assert (json.dumps(plan.settings), plan.fingerprint) == _RECORDED[method]


def test_plan_skips_and_reports_rows_that_split_mtat_cannot_place(small_csv):
    csv_path = small_csv / "annotations_final.csv"
    with open(csv_path, "a", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerows([(9, 1, 1, 1, "/etc/passwd"), (10, 1, 1, 1, "extra/x.mp3")])
    plan = make_plan(_spec(small_csv))
    assert plan.clip_ids.tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [(r["clip_id"], r["mp3_path"], r["split"]) for r in plan.refused] == [
        (9, "/etc/passwd", ""),
        (10, "extra/x.mp3", ""),
    ]
    assert "relative to the audio root" in plan.refused[0]["reason"]
    assert "'extra' is not an MTAT folder" in plan.refused[1]["reason"]


def test_plan_reads_info_path_with_a_bom_apart_from_the_audio(small_csv, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("labels") / "my annotations.tsv"
    elsewhere.write_bytes(b"\xef\xbb\xbf" + (small_csv / "annotations_final.csv").read_bytes())
    (small_csv / "annotations_final.csv").unlink()
    plan = make_plan(_spec(small_csv, info_path=str(elsewhere)))
    assert plan.clip_ids.tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert plan.settings["annotations_sha256"] == file_sha256(elsewhere)


def test_plan_warns_once_when_no_clip_carries_a_kept_tag(tmp_path, caplog):
    with open(tmp_path / "annotations_final.csv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["clip_id", "rock", "pop", "mp3_path"])
        writer.writerows([(1, 0, 0, "0/a.mp3"), (2, 0, 0, "c/b.mp3")])
    with caplog.at_level("WARNING", logger="fcn4"):
        make_plan(_spec(tmp_path))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "no clip carries any of the 2 kept tags" in warnings[0]


def test_follow_symlinks_is_an_output_setting_recorded_only_when_set(small_csv):
    plain = make_plan(_spec(small_csv))
    followed = make_plan(_spec(small_csv, follow_symlinks=True))
    assert "follow_symlinks" not in plain.settings and followed.settings["follow_symlinks"] is True
    assert plain.fingerprint != followed.fingerprint


def test_preprocess_entry_point_turns_the_config_into_these_values(tmp_path):
    import preprocess

    config = get_config(
        [
            "--audio_path",
            str(tmp_path),
            "--mr_path",
            str(tmp_path / "mr"),
            "--split",
            "file",
            "--train_list",
            "t.txt",
            "--split_seed",
            "5",
            "--num_consumer",
            "3",
            "--preprocess_workers",
            "2",
            "--preprocess_shard_id",
            "0",
            "--preprocess_num_shards",
            "2",
            "--info_path",
            "labels.csv",
            "--follow_symlinks",
            "True",
        ]
    )
    spec = preprocess.dataset_spec(config)
    assert spec == _spec(
        tmp_path,
        num_classes=50,
        num_consumer=3,
        split=SplitSpec("file", 0.8, 5, {"train": "t.txt", "val": "", "test": ""}),
        info_path="labels.csv",
        follow_symlinks=True,
    )
    assert spec.csv_path == Path("labels.csv")
    options = preprocess.run_options(config)
    assert (options.workers, options.num_shards, options.shard_id, options.overwrite) == (2, 2, 0, False)
