"""Fine-tuning onto a new tag set and yes/no decisions, as real processes: train.py loads the body of a
50-tag run into a 10-tag network and resumes as any run; eval.py chooses thresholds on val and reports
P/R/F1 with them elsewhere; tag.py shows the passing tags for the checkpoint and its ONNX export alike."""

import json

import pytest

from src.core.tag_list import read_tag_list
from src.evaluation.metrics import summarize
from src.evaluation.saved_scores import load as load_scores
from src.model import checkpoint
from tests.helpers.datasets import make_corpus
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import assert_one_line_error, run_script

SMALL = ["--batch_size", "4", "--eval_batch_size", "8", "--device_target", "CPU"]
CPU = ["--device_target", "CPU"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """20 clips preprocessed twice: mr with 50 tags, mr10 with the 10 most frequent (a new tag set)."""
    root = make_corpus(tmp_path_factory.mktemp("finetune"), num_clips=20)
    result = run_script(
        "preprocess.py", "--audio_path", str(root / "mtat"), "--mr_path", str(root / "mr10"), "--num_classes", "10",
        "--split", "random", "--split_seed", "5", "--num_consumer", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def _train(mr, out, *extra, channels=NARROW_CHANNELS):
    args = ["--mr_path", str(mr), "--checkpoint_path", str(out), "--channels", str(list(channels)), *SMALL]
    return run_script("train.py", *args, *extra)


@pytest.fixture(scope="module")
def source(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("source") / "run"
    result = _train(corpus / "mr", out, "--epoch_size", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "MusicTagger-best.ckpt"


@pytest.fixture(scope="module")
def fine_tuned(corpus, source, tmp_path_factory):
    """A one-epoch fine-tune of the 50-tag source onto mr10, and the stderr of that run."""
    out = tmp_path_factory.mktemp("ft") / "run"
    result = _train(
        corpus / "mr10", out, "--num_classes", "10", "--epoch_size", "1", "--pre_trained", "True",
        "--pre_trained_ckpt", str(source),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result.stderr


def test_a_new_tag_set_gets_the_body_and_a_fresh_classifier_and_resumes_as_a_run(corpus, source, fine_tuned):
    out, log = fine_tuned
    assert (
        f"fine-tuning from {source}: loaded conv1..4 and bn1..4 (weights and moving statistics); the classifier "
        "is re-initialised for this run's 10 tags (50 outputs in the checkpoint)"
    ) in log
    tags = read_tag_list(corpus / "mr10" / "tags.txt")
    info = checkpoint.run_info(checkpoint.read(out / "MusicTagger-best.ckpt"))
    assert info["tags"] == tags and info["model"]["num_classes"] == 10
    result = _train(
        corpus / "mr10", out, "--num_classes", "10", "--epoch_size", "2", "--pre_trained", "True",
        "--pre_trained_ckpt", str(source), "--resume", "True",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from MusicTagger-1_" in result.stderr and "fine-tuning from" not in result.stderr
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]


def test_a_source_of_other_widths_is_one_line_naming_both_shapes(corpus, source, tmp_path):
    extra = ["--num_classes", "10", "--pre_trained", "True", "--pre_trained_ckpt", str(source)]
    result = _train(corpus / "mr10", tmp_path / "new", *extra, channels=(1, 4, 8, 8, 32))
    assert_one_line_error(result, "'conv4.weight' of shape (16, 8, 3, 3), this run's network has (32, 8, 3, 3)")
    assert not (tmp_path / "new").exists()


def _passing(report: dict) -> list[list[str]]:
    return [[row["tag"] for row in track["passing"]] for track in report["tracks"]]


def test_thresholds_chosen_on_val_give_p_r_f1_elsewhere_and_the_passing_tags_of_every_model_kind(
    corpus, fine_tuned, tmp_path
):
    out, _ = fine_tuned
    evaluate = ["eval.py", "--mr_path", str(corpus / "mr10"), "--checkpoint_path", str(out), *CPU]
    chosen = run_script(*evaluate, "--eval_split", "val")
    assert chosen.returncode == 0, chosen.stderr[-3000:]
    assert "val: P/R/F1 at the thresholds chosen on this split (optimistic: not a result)" in chosen.stderr
    thresholds = json.loads((out / "MusicTagger-best.thresholds.json").read_text())
    rare = [count < thresholds["min_positives"] for count in thresholds["positives"]]  # a 4-clip val: most
    weak = [fpr is not None and fpr > thresholds["max_fpr"] for fpr in thresholds["fprs"]]
    expected = ["pooled" if r else "weak" if w else "per-tag" for r, w in zip(rare, weak, strict=True)]
    assert thresholds["sources"] == expected and any(rare)
    applied = run_script(*evaluate, "--eval_split", "train", "--save_scores", "True")
    assert applied.returncode == 0, applied.stderr[-3000:]
    result = json.loads((out / "eval_train.json").read_text())
    decisions = result["decisions"]
    assert decisions["rule"].startswith("max F1, chosen on val, per tag")
    assert [row["threshold"] for row in decisions["per_tag"]] == thresholds["thresholds"]
    assert set(decisions["micro"]) == {"precision", "recall", "f1"}
    saved = load_scores(out / "eval_train.scores.npz")  # --save_scores: the clips eval.py scored, row by row
    assert saved.tags == thresholds["tags"] and len(set(saved.ids.tolist())) == len(saved.ids) == result["num_samples"]
    assert saved.labels.sum(axis=0).tolist() == [row["positives"] for row in result["per_tag"]]
    assert summarize(saved.labels, saved.scores, saved.tags)["roc_auc"] == result["roc_auc"]

    audio = [str(corpus / "mtat" / folder) for folder in "01"]
    tagged = run_script("tag.py", "--model", str(out / "MusicTagger-best.ckpt"), *audio, "--only_passing",
                        "--format", "json", "--no_progress", *CPU)  # fmt: skip
    assert tagged.returncode == 0, tagged.stderr[-3000:]
    report = json.loads(tagged.stdout)
    assert report["thresholds"] == thresholds["thresholds"]
    assert report["threshold_sources"] == thresholds["sources"]
    for track in report["tracks"]:
        for row in track["passing"]:
            assert row["probability"] >= row["threshold"]
            assert row["threshold_source"] == thresholds["sources"][thresholds["tags"].index(row["tag"])]
    export = run_script("export.py", "--ckpt_file", str(out / "MusicTagger-best.ckpt"), "--file_format", "ONNX",
                        "--file_name", str(tmp_path / "ft"), *CPU)  # fmt: skip
    assert export.returncode == 0, export.stderr[-3000:]
    onnx = run_script("tag.py", "--model", str(tmp_path / "ft.onnx"), *audio, "--format", "json", "--no_progress",
                      "--thresholds", str(out / "MusicTagger-best.thresholds.json"))  # fmt: skip
    assert onnx.returncode == 0, onnx.stderr[-3000:]
    assert _passing(json.loads(onnx.stdout)) == _passing(report)
    copied = tmp_path / "ft.thresholds.json"  # export.py puts the checkpoint's thresholds beside the export
    assert json.loads(copied.read_text()) == thresholds
    beside = run_script("tag.py", "--model", str(tmp_path / "ft.onnx"), *audio, "--only_passing", "--format", "json",
                        "--no_progress")  # fmt: skip
    assert beside.returncode == 0, beside.stderr[-3000:]
    assert _passing(json.loads(beside.stdout)) == _passing(report)
    copied.unlink()
    unknown = run_script("tag.py", "--model", str(tmp_path / "ft.onnx"), *audio, "--only_passing", "--no_progress")
    assert_one_line_error(unknown, f"thresholds file {copied} does not exist")
