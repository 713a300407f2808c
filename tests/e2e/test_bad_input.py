"""Bad input to the entry points: one `error: ...` line naming what is wrong, exit code 2."""

import csv

import numpy as np
import pytest

from src.core.tag_list import write_tag_list
from src.dataset import SplitWriter
from src.features import FEATURE_SHAPE
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import assert_one_line_error, run_script


def _csv(path, tags, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["clip_id", *tags, "mp3_path"])
        writer.writerows(rows)


def _preprocess(root, *extra):
    return run_script("preprocess.py", "--audio_path", str(root), "--mr_path", str(root / "mr"), *extra)


def test_missing_annotation_file(tmp_path):
    assert_one_line_error(_preprocess(tmp_path), "annotations_final.csv")


def test_malformed_annotation_file(tmp_path):
    tags = [f"tag{i}" for i in range(60)]
    _csv(tmp_path / "annotations_final.csv", tags, [[1, *[0] * 60, "0/a.mp3"], [2, 1, "0/b.mp3"]])
    assert_one_line_error(_preprocess(tmp_path), "annotations_final.csv", "line 3")


def test_annotation_file_with_fewer_than_50_tags(tmp_path):
    tags = [f"tag{i}" for i in range(12)]
    _csv(tmp_path / "annotations_final.csv", tags, [[1, *[1] * 12, "0/a.mp3"]])
    assert_one_line_error(_preprocess(tmp_path), "annotations_final.csv", "12", "50")


def test_dataset_whose_every_clip_is_unusable(tmp_path):
    tags = [f"tag{i}" for i in range(50)]
    _csv(tmp_path / "annotations_final.csv", tags, [[1, *[1] * 50, "0/a.mp3"], [2, *[0] * 50, "1/b.mp3"]])
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "a.mp3").write_bytes(b"")
    assert_one_line_error(_preprocess(tmp_path), "no usable clip", "all 2 were skipped")


def test_annotation_path_escaping_the_dataset_root(tmp_path):
    tags = [f"tag{i}" for i in range(50)]
    _csv(tmp_path / "annotations_final.csv", tags, [[1, *[1] * 50, "../../etc/passwd"]])
    assert_one_line_error(_preprocess(tmp_path), "../../etc/passwd")


def test_unknown_config_key_names_the_closest_one(tmp_path):
    assert_one_line_error(run_script("train.py", "--epochs", "3"), "--epochs", "did you mean epoch_size?")


@pytest.fixture
def shards(tmp_path):
    """A tiny valid dataset: 3 val clips, 50 tags."""
    mr = tmp_path / "mr"
    writer = SplitWriter(mr, "val", 1, 50)
    for i in range(3):
        writer.add(i, np.zeros(FEATURE_SHAPE, np.float32), np.eye(50, dtype=np.int32)[i])
    writer.commit()
    write_tag_list(mr / "tags.txt", [f"tag{i}" for i in range(50)])
    return mr


def test_eval_with_a_missing_checkpoint(shards, tmp_path):
    missing = tmp_path / "nope.ckpt"
    result = run_script("eval.py", "--mr_path", str(shards), "--ckpt_file", str(missing))
    assert_one_line_error(result, str(missing), "does not exist")


def test_eval_with_a_checkpoint_of_another_shape(shards, tmp_path):
    import mindspore as ms

    from src.musictagger import ModelParams, MusicTaggerCNN

    path = tmp_path / "narrow.ckpt"
    ms.save_checkpoint(MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS)), str(path))
    result = run_script("eval.py", "--mr_path", str(shards), "--ckpt_file", str(path))
    assert_one_line_error(result, str(path), "model_params.json is missing", "pools cannot be known")


def test_training_on_a_mindrecord_of_another_schema(tmp_path):
    from mindspore.mindrecord import FileWriter

    mr = tmp_path / "mr"
    mr.mkdir()
    writer = FileWriter(str(mr / "train.mindrecord"), shard_num=1, overwrite=True)
    writer.add_schema({"id": {"type": "int32"}, "image": {"type": "bytes"}}, "other")
    writer.write_raw_data([{"id": 1, "image": b"x"}])
    writer.commit()
    write_tag_list(mr / "tags.txt", [f"tag{i}" for i in range(50)])
    result = run_script(
        "train.py",
        "--mr_path",
        str(mr),
        "--checkpoint_path",
        str(tmp_path / "ck"),
        "--channels",
        str(list(NARROW_CHANNELS)),
    )
    assert_one_line_error(result, "train.mindrecord", "no 'feature' field")


def test_training_without_shards(tmp_path):
    mr = tmp_path / "mr"
    mr.mkdir()
    write_tag_list(mr / "tags.txt", [f"tag{i}" for i in range(50)])
    result = run_script("train.py", "--mr_path", str(mr), "--checkpoint_path", str(tmp_path / "ck"))
    assert_one_line_error(result, "no MindRecord shards for split 'train'", "preprocess.py")
    result = run_script("train.py", "--mr_path", str(tmp_path / "typo"), "--checkpoint_path", str(tmp_path / "ck"))
    assert_one_line_error(result, "no MindRecord shards for split 'train'", str(tmp_path / "typo"), "preprocess.py")
    assert not (tmp_path / "ck").exists() and not (tmp_path / "typo").exists()


def test_mixed_precision_on_cpu_is_refused_before_any_work(tmp_path):
    result = run_script(
        "train.py",
        "--device_target",
        "CPU",
        "--mixed_precision",
        "True",
        "--mr_path",
        str(tmp_path / "none"),
        "--checkpoint_path",
        str(tmp_path / "ck"),
    )
    assert_one_line_error(result, "mixed_precision=True needs device_target Ascend or GPU")
    assert not (tmp_path / "ck").exists()


@pytest.fixture
def narrow_run(tmp_path, mindspore_cpu):
    """A narrow FCN-4 run folder: MusicTagger-best.ckpt and model_params.json."""
    from tests.helpers.models import random_network, save_checkpoint

    save_checkpoint(random_network(NARROW_CHANNELS), tmp_path / "ck")
    return tmp_path / "ck"


def test_eval_when_no_tag_can_be_scored_writes_nothing(tmp_path, narrow_run):
    mr = tmp_path / "mr"
    writer = SplitWriter(mr, "val", 1, 50)
    for i in range(2):
        writer.add(i, np.zeros(FEATURE_SHAPE, np.float32), np.zeros(50, np.int32))  # no clip carries a tag
    writer.commit()
    write_tag_list(mr / "tags.txt", [f"tag{i}" for i in range(50)])

    result = run_script("eval.py", "--mr_path", str(mr), "--checkpoint_path", str(narrow_run), "--device_target", "CPU")

    assert_one_line_error(result, "split 'val'", "no tag has both positive and negative clips among 2")
    assert not (narrow_run / "eval_val.json").exists()


def test_eval_result_file_that_cannot_be_written_is_found_before_loading(shards, tmp_path, narrow_run):
    (tmp_path / "notes.txt").write_text("mine")
    result_file = tmp_path / "notes.txt" / "eval.json"
    result = run_script(
        "eval.py", "--mr_path", str(shards), "--checkpoint_path", str(narrow_run), "--result_file", str(result_file)
    )
    assert_one_line_error(result, f"result_file {result_file}", "notes.txt exists and is not a folder")
    assert "loaded" not in result.stderr  # refused before the checkpoint was even read
    assert (tmp_path / "notes.txt").read_text() == "mine"

    result = run_script(
        "eval.py", "--mr_path", str(shards), "--checkpoint_path", str(narrow_run), "--result_file", "/sys/fcn4/e.json"
    )
    assert_one_line_error(result, "result_file /sys/fcn4/e.json", "cannot write in /sys")
    assert "loaded" not in result.stderr
