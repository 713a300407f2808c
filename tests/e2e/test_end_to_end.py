"""The real entry points as processes on a small generated MTAT-format corpus:
preprocess -> train (narrow FCN-4) -> eval -> export, resume after a kill, and the oneDNN cap."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from src import demo_data, features
from src.core.tag_list import read_tag_list
from src.model import checkpoint
from src.preprocess.annotations import read_annotations, top_tags
from tests.helpers.datasets import make_corpus
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import ROOT, run_script

NARROW = [
    "--channels",
    str(list(NARROW_CHANNELS)),
    "--batch_size",
    "4",
    "--eval_batch_size",
    "8",
    "--device_target",
    "CPU",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("e2e"), num_clips=28, inject_broken=True)


def _train(corpus, out, *extra, env=None):
    return run_script(
        "train.py", "--mr_path", str(corpus / "mr"), "--checkpoint_path", str(out), *NARROW, *extra, env=env
    )


def test_preprocess_writes_reference_shards_tags_and_reports_broken_clips(corpus):
    mr = corpus / "mr"
    assert {p.name for p in mr.glob("*.mindrecord?")} == {
        "train.mindrecord0",
        "train.mindrecord1",
        "val.mindrecord0",
        "val.mindrecord1",
    }
    annotations = read_annotations(corpus / "mtat" / "annotations_final.csv")
    assert read_tag_list(mr / "tags.txt") == top_tags(annotations, 50)
    report = json.loads((mr / "preprocess_report.json").read_text())
    assert sorted(s["mp3_path"] for s in report["skipped"]) == sorted(demo_data.BROKEN_PATHS)
    reasons = {s["mp3_path"]: s["reason"] for s in report["skipped"]}
    assert reasons[demo_data.EMPTY_MTAT_PATHS[0]] == "empty file"
    assert reasons[demo_data.MISSING_PATH] == "missing file"
    assert sum(report["written"].values()) == 28
    manifest = json.loads((mr / "manifest.json").read_text())
    assert manifest["features"] == features.feature_params()


def test_shards_hold_the_reference_features_and_labels_of_each_clip(corpus):
    from mindspore.mindrecord import FileReader

    annotations = read_annotations(corpus / "mtat" / "annotations_final.csv")
    tags = read_tag_list(corpus / "mr" / "tags.txt")
    row_of = {int(c): i for i, c in enumerate(annotations.clip_ids)}
    reader = FileReader([str(corpus / "mr" / f"val.mindrecord{i}") for i in range(2)])
    rows = list(reader.get_next())
    reader.close()
    assert rows
    for row in rows[:3]:
        i = row_of[int(row["id"])]
        expected = features.extract(corpus / "mtat" / annotations.mp3_paths[i])
        np.testing.assert_allclose(row["feature"].reshape(features.FEATURE_SHAPE), expected, atol=1e-4)
        want = [annotations.tag_matrix[i, annotations.tag_names.index(t)] for t in tags]
        np.testing.assert_array_equal(row["label"], want)


def test_train_eval_export_chain(corpus, tmp_path):
    out = tmp_path / "ckpt"
    result = _train(
        corpus, out, "--epoch_size", "2", "--save_step", "3", "--keep_checkpoint_max", "2", env={"ONEDNN_VERBOSE": "1"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    isa = [line for line in result.stdout.splitlines() if ",info,cpu,isa:" in line]
    assert isa and "AVX-512" not in isa[0], "oneDNN must be capped below AVX-512 in train.py"
    assert "oneDNN capped at ONEDNN_MAX_CPU_ISA=AVX2" in result.stderr
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert all(0.0 <= r["val_roc_auc"] <= 1.0 and r["samples_per_s"] > 0 for r in records)
    assert len(list(out.glob("MusicTagger-*_*.ckpt"))) == 2
    assert (out / "MusicTagger-best.ckpt").is_file()
    assert (out / "config.yaml").is_file() and (out / "model_params.json").is_file()

    result = run_script("eval.py", "--mr_path", str(corpus / "mr"), "--checkpoint_path", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "eval_val.json").read_text())
    best = max(r["val_roc_auc"] for r in records)
    assert summary["roc_auc"] == pytest.approx(best, abs=1e-4)
    assert {"pr_auc", "reference_auc", "per_tag"} <= set(summary)
    assert f"ROC-AUC {summary['roc_auc']:.4f}" in result.stdout

    result = run_script("export.py", "--checkpoint_path", str(out), "--file_name", str(tmp_path / "fcn4"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "fcn4.mindir").stat().st_size > 0


def _weights(path):
    params = checkpoint.read(path)
    return {
        k: v.asnumpy()
        for k, v in params.items()
        if not k.startswith(("epoch", "step")) and k != checkpoint.RUN_INFO_KEY
    }


def test_resume_after_sigkill_matches_an_uninterrupted_run(corpus, tmp_path):
    common = ["--epoch_size", "2", "--save_step", "2", "--eval_each_epoch", "False"]
    straight = tmp_path / "straight"
    assert _train(corpus, straight, *common).returncode == 0

    broken = tmp_path / "broken"
    command = [
        sys.executable,
        "train.py",
        "--mr_path",
        str(corpus / "mr"),
        "--checkpoint_path",
        str(broken),
        *NARROW,
        *common,
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (broken / "train_state.json").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = json.loads((broken / "train_state.json").read_text())
    assert state["global_step"] < 10, "the kill must land before the run finished"

    result = _train(corpus, broken, *common, "--resume", "True")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in result.stderr
    final = json.loads((broken / "train_state.json").read_text())["checkpoint"]
    a, b = _weights(straight / final), _weights(broken / final)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)
