"""MindRecord shards: reference schema and names, streamed writes, schema checks, reading back."""

import numpy as np
import pytest

from src.core.errors import UserError
from src.dataset import SplitWriter, check_schema, count_rows, create_dataset, find_shards, mindrecord_schema
from src.features import FEATURE_SHAPE


def _write(mr_dir, split, n, num_classes=5, shards=2):
    rng = np.random.default_rng(n)
    writer = SplitWriter(mr_dir, split, shards, num_classes)
    rows = []
    for i in range(n):
        feature = rng.normal(size=FEATURE_SHAPE).astype(np.float32)
        label = (rng.random(num_classes) > 0.5).astype(np.int32)
        writer.add(100 + i, feature, label)
        rows.append((100 + i, feature, label))
    assert writer.commit() == n
    return rows


def test_reference_schema_and_shard_names(tmp_path):
    _write(tmp_path, "train", 3, num_classes=50, shards=4)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([f"train.mindrecord{i}" for i in range(4)] + [f"train.mindrecord{i}.db" for i in range(4)])
    assert mindrecord_schema(50) == {
        "id": {"type": "int32"},
        "feature": {"type": "float32", "shape": [1, 96, 1366]},
        "label": {"type": "int32", "shape": [50]},
    }
    check_schema(find_shards(tmp_path, "train"), 50)


def test_rows_read_back_exactly_in_id_order(tmp_path):
    rows = _write(tmp_path, "val", 20)
    from mindspore.mindrecord import FileReader

    reader = FileReader([str(f) for f in find_shards(tmp_path, "val")])
    got = {int(r["id"]): r for r in reader.get_next()}
    reader.close()
    assert sorted(got) == [r[0] for r in rows]
    for clip_id, feature, label in rows:
        np.testing.assert_array_equal(got[clip_id]["feature"].reshape(FEATURE_SHAPE), feature)
        np.testing.assert_array_equal(got[clip_id]["label"], label)
    assert count_rows(find_shards(tmp_path, "val")) == 20


def test_a_single_shard_has_no_index_suffix(tmp_path):
    _write(tmp_path, "val", 2, shards=1)
    assert [p.name for p in find_shards(tmp_path, "val")] == ["val.mindrecord"]


def test_uncommitted_writer_leaves_no_shard_behind(tmp_path):
    writer = SplitWriter(tmp_path, "train", 2, 5)
    writer.add(1, np.zeros(FEATURE_SHAPE, np.float32), np.zeros(5, np.int32))
    assert not list(tmp_path.glob("train.mindrecord*"))
    with pytest.raises(UserError, match="no MindRecord shards for split 'train'"):
        find_shards(tmp_path, "train")


def test_other_schema_is_refused(tmp_path):
    _write(tmp_path, "train", 2, num_classes=5)
    with pytest.raises(UserError, match="field 'label'.*num_classes"):
        check_schema(find_shards(tmp_path, "train"), 50)


def test_foreign_mindrecord_is_refused(tmp_path):
    from mindspore.mindrecord import FileWriter

    writer = FileWriter(str(tmp_path / "train.mindrecord"), shard_num=1, overwrite=True)
    writer.add_schema({"image": {"type": "bytes"}, "id": {"type": "int32"}}, "other")
    writer.write_raw_data([{"image": b"x", "id": 1}])
    writer.commit()
    with pytest.raises(UserError, match="no 'feature' field"):
        check_schema(find_shards(tmp_path, "train"), 50)


def test_garbage_file_is_refused(tmp_path):
    (tmp_path / "train.mindrecord0").write_bytes(b"not a mindrecord" * 10)
    with pytest.raises(UserError, match="not a readable MindRecord"):
        check_schema(find_shards(tmp_path, "train"), 50)


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda data: data[: len(data) // 2], r"truncated: \d+ bytes, its header describes \d+"),
        (lambda data: data[:100], "no MindRecord header"),
        (lambda data: np.random.default_rng(0).bytes(len(data)), "no MindRecord header"),
        (lambda data: data[:8] + b"x" + data[9:], "damaged MindRecord header"),
    ],
    ids=["truncated", "cut-in-header", "garbage", "bad-json"],
)
def test_a_damaged_shard_is_named_by_its_own_file_name(tmp_path, damage, problem):
    _write(tmp_path, "val", 4)
    second = tmp_path / "val.mindrecord1"
    second.write_bytes(damage(second.read_bytes()))
    files = find_shards(tmp_path, "val")
    for check in (lambda: check_schema(files, 5), lambda: count_rows(files)):
        with pytest.raises(UserError, match=rf"val\.mindrecord1: not a readable MindRecord file \({problem}\)"):
            check()


def test_a_missing_shard_of_a_split_is_named(tmp_path):
    _write(tmp_path, "val", 4, shards=3)
    (tmp_path / "val.mindrecord2").unlink()
    with pytest.raises(UserError, match=r"val\.mindrecord0: .*its split's shard val\.mindrecord2 is missing"):
        check_schema(find_shards(tmp_path, "val"), 5)


def test_training_batches_drop_the_remainder_and_eval_keeps_it(tmp_path, mindspore_cpu):
    _write(tmp_path, "train", 10)
    train = create_dataset(tmp_path, "train", 4, 5, training=True)
    assert train.get_dataset_size() == 2
    feature, label = next(train.create_tuple_iterator(num_epochs=1, output_numpy=True))
    assert feature.shape == (4, *FEATURE_SHAPE) and feature.dtype == np.float32
    assert label.shape == (4, 5) and label.dtype == np.float32
    assert create_dataset(tmp_path, "train", 4, 5, training=False).get_dataset_size() == 3


def test_shuffle_order_is_reproducible_by_seed(tmp_path, mindspore_cpu):
    _write(tmp_path, "train", 12)

    def first_labels(seed):
        data = create_dataset(tmp_path, "train", 12, 5, training=True, seed=seed)
        return next(data.create_tuple_iterator(num_epochs=1, output_numpy=True))[0][:, 0, 0, 0]

    np.testing.assert_array_equal(first_labels(3), first_labels(3))
    assert not np.array_equal(first_labels(3), first_labels(4))
