"""The on-disk contract: shard names as MindSpore writes them, checkpoint names matched exactly."""

import pytest

from src.core.file_names import (
    best_checkpoint,
    dataset_files,
    eval_result,
    is_step_checkpoint,
    parse_shard,
    split_shards,
    step_checkpoint,
)


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("train.mindrecord0", ("train", 0, False)),
        ("val.mindrecord12", ("val", 12, False)),
        ("test.mindrecord3.db", ("test", 3, True)),
        ("train.mindrecord", ("train", 0, False)),
        ("train.mindrecord.db", ("train", 0, True)),
        ("other.mindrecord0", None),
        ("train.mindrecordx", None),
        ("train.mindrecord0.tmp", None),
        ("tags.txt", None),
    ],
)
def test_parse_shard(name, parsed):
    assert parse_shard(name) == parsed


def test_split_shards_sorts_by_index_and_leaves_out_indexes_unless_asked(tmp_path):
    names = [
        "train.mindrecord10",
        "train.mindrecord2",
        "train.mindrecord2.db",
        "train.mindrecord10.db",
        "val.mindrecord0",
        "train.mindrecord2.partial",
        "manifest.json",
    ]
    for name in names:
        (tmp_path / name).touch()
    assert [p.name for p in split_shards(tmp_path, "train")] == ["train.mindrecord2", "train.mindrecord10"]
    assert [p.name for p in split_shards(tmp_path, "train", with_indexes=True)] == [
        "train.mindrecord2",
        "train.mindrecord2.db",
        "train.mindrecord10",
        "train.mindrecord10.db",
    ]
    assert [p.name for p in dataset_files(tmp_path)] == [
        "train.mindrecord10",
        "train.mindrecord10.db",
        "train.mindrecord2",
        "train.mindrecord2.db",
        "val.mindrecord0",
    ]


def test_checkpoint_names_and_exact_prefix_match():
    assert step_checkpoint("MusicTagger", 3, 120) == "MusicTagger-3_120.ckpt"
    assert best_checkpoint("run") == "run-best.ckpt"
    assert is_step_checkpoint("run-3_120.ckpt", "run")
    assert not is_step_checkpoint("run-ft-3_120.ckpt", "run")  # another run's prefix
    assert not is_step_checkpoint("run-best.ckpt", "run")
    assert not is_step_checkpoint("a.b-1_2.ckpt", "a*b") and is_step_checkpoint("a*b-1_2.ckpt", "a*b")
    assert eval_result("test") == "eval_test.json"
