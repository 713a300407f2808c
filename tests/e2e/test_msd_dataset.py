"""The MSD last.fm split end to end: a generated musicnn-training data/index/msd/ folder (train/val/test_gt_msd.tsv,
50tagList.txt) with audio at A/B/C/<id>.mp3 -> preprocess.py (info_format msd_lastfm, --split annotations) ->
train.py (narrow FCN-4, one epoch) -> eval.py, as processes; broken rows skipped and reported, pickles refused."""

import json

import numpy as np
import pytest

from src.core.tag_list import read_tag_list
from src.preprocess.annotations import label_matrix, read_annotations, top_tags
from tests.helpers.datasets import split_rows
from tests.helpers.format_corpora import msd_corpus
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import assert_one_line_error, run_script

COUNTS = {"train": 10, "val": 4, "test": 4}
NUM_CLASSES = 5
CLASSES = ("--num_classes", str(NUM_CLASSES))
NARROW = ("--channels", str(list(NARROW_CHANNELS)), "--batch_size", "4", "--device_target", "CPU")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("msd")
    corpus = msd_corpus(root, COUNTS, seconds=8.0)
    mr, ckpt = root / "mr", root / "ckpt"
    args = ("--info_format", "msd_lastfm", "--info_path", str(corpus.info), "--audio_path", str(corpus.audio))
    made = run_script("preprocess.py", *args, "--split", "annotations", *CLASSES, "--mr_path", str(mr),
                      "--num_consumer", "1", "--preprocess_workers", "2")  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    trained = run_script("train.py", "--mr_path", str(mr), "--checkpoint_path", str(ckpt), "--epoch_size", "1",
                         *NARROW, *CLASSES)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    evaluated = run_script("eval.py", "--mr_path", str(mr), "--checkpoint_path", str(ckpt), "--eval_split", "test",
                           "--bootstrap_resamples", "0", "--device_target", "CPU", *CLASSES)  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    return {"corpus": corpus, "mr": mr, "ckpt": ckpt, "args": args, "eval": evaluated.stdout}


def test_the_dataset_keeps_the_published_split_and_reports_the_broken_tracks(chain):
    corpus, mr = chain["corpus"], chain["mr"]
    annotations = read_annotations(corpus.info, "msd_lastfm")
    assert read_tag_list(mr / "tags.txt") == top_tags(annotations, NUM_CLASSES)
    report = json.loads((mr / "preprocess_report.json").read_text())
    assert report["written"] == COUNTS
    assert {entry["mp3_path"]: entry["split"] for entry in report["skipped"]} == dict(
        zip(corpus.broken, COUNTS, strict=True)
    )  # one broken track after each split's tracks
    for entry in report["skipped"]:
        assert corpus.broken[entry["mp3_path"]] in entry["reason"], entry
    manifest = json.loads((mr / "manifest.json").read_text())
    assert manifest["config"]["split"] == "annotations" and manifest["config"]["info_format"] == "msd_lastfm"


def test_rows_carry_their_gt_files_labels_under_row_number_ids(chain):
    corpus, mr = chain["corpus"], chain["mr"]
    annotations = read_annotations(corpus.info, "msd_lastfm")
    labels = label_matrix(annotations, read_tag_list(mr / "tags.txt"))
    for split in COUNTS:
        rows = split_rows(mr, split)
        ids = [row_id for row_id, _, _ in rows]
        assert {str(annotations.splits[i - 1]) for i in ids} == {split}
        for row_id, _, label in rows:
            np.testing.assert_array_equal(label, labels[row_id - 1])


def test_train_and_eval_run_on_the_test_split(chain):
    records = [json.loads(line) for line in (chain["ckpt"] / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1]
    summary = json.loads((chain["ckpt"] / "eval_test.json").read_text())
    assert summary["num_samples"] == COUNTS["test"]
    assert f"ROC-AUC {summary['roc_auc']:.4f}" in chain["eval"]


def test_a_pickle_given_as_info_path_is_refused_in_one_line_and_nothing_is_made(chain, tmp_path):
    pickled = tmp_path / "filtered_list_train.cP"
    pickled.write_bytes(b"\x80\x04N.")  # a valid pickle (None): it is refused by name, never loaded
    args = list(chain["args"])
    args[args.index("--info_path") + 1] = str(pickled)
    result = run_script("preprocess.py", *args, "--split", "annotations", "--mr_path", str(tmp_path / "mr"))
    assert_one_line_error(result, "is a Python pickle: this toolkit never unpickles", "create_MSD_gt.py")
    assert not (tmp_path / "mr").exists() or not any((tmp_path / "mr").iterdir())
