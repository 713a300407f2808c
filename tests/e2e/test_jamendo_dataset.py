"""MTG-Jamendo end to end: a generated checkout in the published layout (autotagging_top50tags.tsv, the official
split-0 files, full tracks in folders 00-99) -> preprocess.py (info_format mtg_jamendo, --split file, two windows
per track) -> train.py (narrow FCN-4, one epoch) -> eval.py, as processes; broken rows skipped and reported."""

import json
from collections import Counter

import numpy as np
import pytest

from src import features
from src.core.tag_list import read_tag_list
from src.preprocess.annotations import label_matrix, read_annotations, top_tags
from tests.helpers.datasets import split_rows
from tests.helpers.format_corpora import jamendo_corpus
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import run_script

WINDOWS = 2
NUM_CLASSES = 5
DURATIONS = [12.0, 59.0] * 7 + [12.0]  # 59 s holds two whole 29.12 s windows, 12 s one (zero-padded)
ROWS = sum(features.windows_in(seconds, WINDOWS) for seconds in DURATIONS)  # 22
NARROW = ("--channels", str(list(NARROW_CHANNELS)), "--batch_size", "4", "--device_target", "CPU")
CLASSES = ("--num_classes", str(NUM_CLASSES))


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("jamendo")
    corpus = jamendo_corpus(root, DURATIONS)
    lists = [arg for name, flag in (("train", "--train_list"), ("val", "--val_list"), ("test", "--test_list"))
             for arg in (flag, str(corpus.lists[name]))]  # fmt: skip
    mr, ckpt = root / "mr", root / "ckpt"
    made = run_script(
        "preprocess.py",
        *("--info_format", "mtg_jamendo", "--info_path", str(corpus.info), "--audio_path", str(corpus.audio)),
        *("--split", "file", *lists, "--num_classes", str(NUM_CLASSES), "--track_windows", str(WINDOWS)),
        *("--mr_path", str(mr), "--num_consumer", "1", "--preprocess_workers", "2"),
    )
    assert made.returncode == 0, made.stderr[-3000:]
    trained = run_script("train.py", "--mr_path", str(mr), "--checkpoint_path", str(ckpt), "--epoch_size", "1", *NARROW,
                         *CLASSES)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    evaluated = run_script("eval.py", "--mr_path", str(mr), "--checkpoint_path", str(ckpt), "--eval_split", "test",
                           "--bootstrap_resamples", "0", "--device_target", "CPU", *CLASSES)  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    return {"corpus": corpus, "mr": mr, "ckpt": ckpt, "eval": evaluated.stdout}


def test_the_dataset_holds_the_files_tags_and_reports_each_broken_rows_windows(chain):
    corpus, mr = chain["corpus"], chain["mr"]
    annotations = read_annotations(corpus.info, "mtg_jamendo")
    assert read_tag_list(mr / "tags.txt") == top_tags(annotations, NUM_CLASSES)
    report = json.loads((mr / "preprocess_report.json").read_text())
    assert Counter(entry["mp3_path"] for entry in report["skipped"]) == {
        "12/912.mp3": 2, "13/913.mp3": 1, "14/914.mp3": 1, "../outside/915.mp3": 1,
    }  # fmt: skip
    for entry in report["skipped"]:
        assert corpus.broken[entry["mp3_path"]] in entry["reason"], entry
    assert sorted(entry["clip_id"] for entry in report["skipped"] if entry["mp3_path"] == "12/912.mp3") == [1824, 1825]
    assert sum(report["written"].values()) == ROWS
    config = json.loads((mr / "manifest.json").read_text())["config"]
    assert config["track_windows"] == WINDOWS and config["info_format"] == "mtg_jamendo"


def test_every_window_is_its_tracks_cut_with_its_labels_and_no_track_spans_two_splits(chain):
    corpus, mr = chain["corpus"], chain["mr"]
    annotations = read_annotations(corpus.info, "mtg_jamendo")
    labels = label_matrix(annotations, read_tag_list(mr / "tags.txt"))
    row_of = {int(track): i for i, track in enumerate(annotations.clip_ids)}
    split_of: dict[int, str] = {}
    seen = set()
    for split in ("train", "val", "test"):
        for row_id, _, label in split_rows(mr, split):
            track = row_id // WINDOWS
            assert split_of.setdefault(track, split) == split and row_id not in seen
            seen.add(row_id)
            np.testing.assert_array_equal(label, labels[row_of[track]])
    assert len(seen) == ROWS
    long_track = next(t for t, s in split_of.items() if s == "train" and (t * WINDOWS + 1) in seen)
    path = corpus.audio / annotations.mp3_paths[row_of[long_track]]
    y = features.load_audio(path)
    stored = {row_id: feature for row_id, feature, _ in split_rows(mr, "train")}
    for window in range(WINDOWS):
        expected = features.log_mel(features.track_window(y, window, WINDOWS))
        np.testing.assert_allclose(stored[long_track * WINDOWS + window], expected, atol=1e-4)


def test_train_and_eval_run_on_the_window_rows(chain):
    records = [json.loads(line) for line in (chain["ckpt"] / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1]
    summary = json.loads((chain["ckpt"] / "eval_test.json").read_text())
    assert summary["num_samples"] == len(split_rows(chain["mr"], "test"))
    assert 0.0 <= summary["roc_auc"] <= 1.0
    assert f"ROC-AUC {summary['roc_auc']:.4f}" in chain["eval"]
