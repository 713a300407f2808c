"""Your own tags end to end: a `path,tags` CSV -> preprocess.py (info_format path_tags) -> train_head.py on a
checkpoint's frozen embeddings -> tag.py --head, with the head's figures recomputed from its own arrays."""

import json

import numpy as np
import pytest
import soundfile as sf

from src.evaluation.metrics import summarize
from src.heads.linear import load_head
from src.inference.backends import CheckpointBackend, run_all
from tests.helpers.datasets import split_rows
from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint
from tests.helpers.processes import assert_one_line_error, run_script

SR = 16000


def _clip(path, hz: float, noise: float, seed: int) -> None:
    t = np.arange(int(4.0 * SR)) / SR
    y = 0.4 * np.sin(2 * np.pi * hz * t) + np.random.default_rng(seed).normal(0.0, noise, t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y.astype(np.float32), SR)


@pytest.fixture(scope="module")
def run(tmp_path_factory, mindspore_cpu):
    """24 clips tagged low/high by pitch and noisy by noise, a narrow checkpoint, the dataset and a head."""
    root = tmp_path_factory.mktemp("own_tags")
    rows = ["path,tags"]
    for i in range(24):
        high, noisy = i % 2, (i // 2) % 2
        _clip(root / "audio" / f"clip{i:02d}.wav", 2000.0 if high else 150.0, 0.2 if noisy else 0.005, seed=i)
        rows.append(f"clip{i:02d}.wav,{'high' if high else 'low'}{';noisy' if noisy else ''}")
    rows.append("../outside.wav,low")  # never opened: skipped and reported like an unsafe MTAT path
    (root / "mine.csv").write_text("\n".join(rows) + "\n")
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, num_classes=5, seed=2), root / "ckpt")
    mr = root / "mr"
    made = run_script(
        "preprocess.py",
        *("--audio_path", str(root / "audio"), "--info_path", str(root / "mine.csv"), "--info_format", "path_tags"),
        *("--num_classes", "3", "--mr_path", str(mr), "--train_ratio", "0.6", "--preprocess_workers", "1"),
    )
    assert made.returncode == 0, made.stderr[-3000:]
    head = root / "head" / "head.npz"
    args = ("--mr_path", str(mr), "--ckpt_file", str(ckpt), "--head_file", str(head), "--head_folds", "3")
    trained = run_script("train_head.py", *args)
    assert trained.returncode == 0, trained.stderr[-3000:]
    return {"root": root, "mr": mr, "ckpt": ckpt, "head": head, "out": trained.stdout, "args": args}


def test_the_dataset_holds_the_users_tags_and_skips_the_unsafe_path(run):
    tags = (run["mr"] / "tags.txt").read_text().splitlines()
    assert tags == ["high", "noisy", "low"]  # ascending frequency (12, 12, 13 rows), ties by name, as for MTAT
    report = json.loads((run["mr"] / "preprocess_report.json").read_text())
    assert [s["mp3_path"] for s in report["skipped"]] == ["../outside.wav"]


def test_train_head_reports_cross_validation_val_and_saves_what_it_reports(run):
    lines = run["out"].splitlines()
    assert lines[0].startswith("train (") and "3-fold cross-validation: ROC-AUC" in lines[0]
    assert lines[1].startswith("val (") and "PR-AUC" in lines[1]
    head = load_head(run["head"])
    assert head.tags == (run["mr"] / "tags.txt").read_text().splitlines()
    assert head.info["cross_validation"]["folds"] == 3 and head.info["threshold_rule"] == "max F1 on val"
    backend = CheckpointBackend(run["ckpt"])
    val = split_rows(run["mr"], "val")
    features = np.stack([feature for _, feature, _ in val])
    labels = np.stack([label for _, _, label in val])
    embeddings = run_all(backend, features, 4)[1]
    summary = summarize(labels, head.predict(embeddings), head.tags)
    assert head.info["val"]["roc_auc"] == pytest.approx(summary["roc_auc"], abs=1e-6)
    assert head.info["clips"]["val"] == len(val)


def test_tag_py_tags_with_the_users_tags_through_the_head(run):
    clip = run["root"] / "audio" / "clip03.wav"
    result = run_script("tag.py", "--model", str(run["ckpt"]), "--head", str(run["head"]), str(clip), "--no_progress")
    assert result.returncode == 0, result.stderr[-3000:]
    shown = {line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert shown == {"high", "low", "noisy"}


def test_only_passing_with_a_head_uses_the_thresholds_it_chose_on_val(run):
    clips = [str(run["root"] / "audio" / f"clip{i:02d}.wav") for i in range(4)]
    result = run_script("tag.py", "--model", str(run["ckpt"]), "--head", str(run["head"]), *clips, "--only_passing",
                        "--format", "json", "--no_progress")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    chosen = load_head(run["head"]).decision_thresholds()
    assert report["thresholds"] == chosen
    for track in report["tracks"]:
        passing = {row["tag"] for row in track["passing"]}
        for tag, limit, mean in zip(report["tags"], chosen, track["mean"], strict=True):
            if limit is None or abs(mean - limit) > 1e-5:  # the report rounds probabilities to 6 digits
                assert (tag in passing) == (limit is not None and mean >= limit), tag


def test_a_head_for_other_embeddings_and_a_foreign_head_file_are_refused(run, tmp_path):
    narrow = save_checkpoint(random_network((1, 4, 8, 8, 12), num_classes=5, seed=1), tmp_path / "other")
    clip = str(run["root"] / "audio" / "clip00.wav")
    refused = run_script("tag.py", "--model", str(narrow), "--head", str(run["head"]), clip, "--no_progress")
    assert_one_line_error(refused, "the head takes 16-d embeddings", "gives 12-d")
    (tmp_path / "mine.npz").write_bytes(b"keep me")
    args = list(run["args"])
    args[args.index("--head_file") + 1] = str(tmp_path / "mine.npz")
    assert_one_line_error(run_script("train_head.py", *args), "is not a head train_head.py wrote")
    assert (tmp_path / "mine.npz").read_bytes() == b"keep me"
