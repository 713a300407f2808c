"""src/evaluation/decisions.py and the tag.py reports with thresholds: chosen on val for one checkpoint, applied
only to that checkpoint and its tags, never replacing another checkpoint's file unasked; a tag with too
few val positives gets the pooled threshold, flagged in the file, the log line and the reports; files
written before that guard still load, as unguarded."""

import csv
import io
import json
import logging

import numpy as np
import pytest

from src.core.errors import UserError
from src.evaluation import decisions
from src.evaluation.thresholds import (
    PER_TAG,
    POOLED,
    WEAK,
    Guard,
    choose_thresholds,
    false_positive_rate,
    pooled_threshold,
)
from src.inference import tag_report
from src.inference.tagging import Track

TAGS = ["piano", "drums", "voice"]


def _split(seed, n=40):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 3)) < 0.4).astype(np.int32)
    return labels, np.clip(0.5 * labels + rng.random((n, 3)) * 0.6, 0, 1).astype(np.float32)


def _ckpt(folder, content=b"weights"):
    path = folder / "MusicTagger-best.ckpt"
    path.write_bytes(content)
    return path


def _evaluate(folder, ckpt, split, seed, overwrite=False, rule="f1", split_data=None):
    labels, scores = split_data or _split(seed)
    found = decisions.EvalDecisions(folder, ckpt, split, overwrite)
    return found.evaluate(labels, scores, TAGS, rule, 0.8, "mr", guard=Guard(5, 0.4))


def test_val_chooses_and_saves_the_thresholds_that_other_splits_apply(tmp_path):
    ckpt = _ckpt(tmp_path)
    on_val = _evaluate(tmp_path, ckpt, "val", 0)["decisions"]
    saved = json.loads((tmp_path / "MusicTagger-best.thresholds.json").read_text())
    assert saved["tags"] == TAGS and saved["chosen_on"] == {"mr_path": "mr", "split": "val", "num_samples": 40}
    assert saved["checkpoint"] == "MusicTagger-best.ckpt" and saved["rule"] == "f1"
    assert [row["threshold"] for row in on_val["per_tag"]] == saved["thresholds"]
    on_test = _evaluate(tmp_path, ckpt, "test", 1)["decisions"]
    assert (
        on_test["rule"]
        == "max F1, chosen on val, per tag: every tag had >= 5 positives and a false-positive rate <= 0.4"
    )
    assert on_test["micro"] != on_val["micro"]  # the same thresholds judged on other clips
    assert [row["threshold"] for row in on_test["per_tag"]] == saved["thresholds"]


def test_without_thresholds_another_split_reports_none(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="fcn4"):
        assert _evaluate(tmp_path, _ckpt(tmp_path), "test", 1) == {}
    assert "eval.py --eval_split val chooses them" in caplog.text


def test_thresholds_of_another_checkpoint_are_not_replaced_unasked_nor_applied(tmp_path, caplog):
    _evaluate(tmp_path, _ckpt(tmp_path, b"old run"), "val", 0)
    path = tmp_path / "MusicTagger-best.thresholds.json"
    before = path.read_bytes()
    retrained = _ckpt(tmp_path, b"new run")
    with caplog.at_level(logging.WARNING, logger="fcn4"):
        assert _evaluate(tmp_path, retrained, "test", 1) == {}
    assert "was chosen for another checkpoint" in caplog.text
    with pytest.raises(UserError, match="holds thresholds that were not chosen for .*--overwrite True"):
        decisions.EvalDecisions(tmp_path, retrained, "val", False)
    assert path.read_bytes() == before
    _evaluate(tmp_path, retrained, "val", 0, overwrite=True, rule="precision")
    assert json.loads(path.read_text())["rule"] == "precision"
    _evaluate(tmp_path, retrained, "val", 2)  # its own thresholds are chosen again without asking
    assert json.loads(path.read_text())["rule"] == "f1"


@pytest.mark.parametrize(
    "change",
    [
        lambda data: "not json",
        lambda data: json.dumps({"tags": TAGS}),
        lambda data: json.dumps({**data, "thresholds": [0.5]}),
        lambda data: json.dumps({**data, "sources": [PER_TAG, "guessed", POOLED]}),
        lambda data: json.dumps({**data, "positives": [3, -1, 2]}),
        lambda data: json.dumps({**data, "fprs": [0.2, "high", None]}),
        lambda data: json.dumps({**data, "overall_threshold": 1.5}),
    ],
    ids=[
        "not-json",
        "missing-keys",
        "one-threshold-for-three-tags",
        "unknown-source",
        "negative-positives",
        "a-false-positive-rate-that-is-no-number",
        "a-threshold-over-1",
    ],
)
def test_a_file_eval_py_did_not_write_is_a_one_line_error(tmp_path, change):
    _evaluate(tmp_path, _ckpt(tmp_path), "val", 0)
    bad = tmp_path / "bad.thresholds.json"
    bad.write_text(change(json.loads((tmp_path / "MusicTagger-best.thresholds.json").read_text())))
    with pytest.raises(UserError, match="bad.thresholds.json") as info:
        decisions.load(bad)
    assert "\n" not in str(info.value)


def test_rare_and_weak_tags_get_pooled_thresholds_flagged_in_file_and_log(tmp_path, caplog):
    labels, scores = _split(0)
    labels[:, 1] = 0
    labels[[3, 11, 20, 31, 35], 1] = 1  # drums: 5 val positives, enough...
    scores[:, 1] = np.linspace(0.2, 0.0, 40)  # ...but scores that rank them last: its own max-F1 yes is weak
    labels[:, 2] = 0
    labels[[3, 11], 2] = 1  # voice: 2 val positives, under min_positives 5
    ckpt = _ckpt(tmp_path)
    with caplog.at_level(logging.INFO, logger="fcn4"):
        on_val = _evaluate(tmp_path, ckpt, "val", 0, split_data=(labels, scores))["decisions"]
    saved = json.loads((tmp_path / "MusicTagger-best.thresholds.json").read_text())
    own = choose_thresholds(labels, scores, "f1", 0.8)
    pooled = pooled_threshold(labels, scores, "f1", 0.8)  # voice's pool falls back to every tag: 2 < 5 positives
    assert saved["min_positives"] == 5 and saved["max_fpr"] == 0.4
    assert saved["pooled_threshold"] == saved["overall_threshold"] == pooled
    assert saved["sources"] == [PER_TAG, WEAK, POOLED] and saved["positives"] == [int(labels[:, 0].sum()), 5, 2]
    fprs = [false_positive_rate(labels[:, c], scores[:, c], own[c]) for c in range(3)]
    assert saved["fprs"] == fprs and saved["fprs"][1] > 0.4
    assert saved["thresholds"] == [own[0], pooled, pooled]
    rows = [(r["threshold_source"], r["threshold_positives"], r["own_threshold_fpr"]) for r in on_val["per_tag"]]
    assert rows == list(zip(saved["sources"], saved["positives"], saved["fprs"], strict=True))
    assert (
        f"per tag, 1 tag(s) with < 5 positives at the pooled threshold {pooled:.3f}, "
        f"1 tag(s) with a false-positive rate > 0.4 at the all-tags threshold {pooled:.3f}): micro"
    ) in caplog.text
    on_test = _evaluate(tmp_path, ckpt, "test", 1)["decisions"]
    assert [r["threshold_source"] for r in on_test["per_tag"]] == saved["sources"]
    assert decisions.for_tagging(ckpt, "", TAGS).tag_sources() == saved["sources"]


def test_a_file_written_before_the_guard_loads_as_unguarded_every_tag_its_own(tmp_path, caplog):
    ckpt = _ckpt(tmp_path)
    earlier = {  # every key the version before the guard wrote, and only those
        "tags": TAGS,
        "thresholds": [0.42, None, 0.3],
        "rule": "f1",
        "target_precision": 0.8,
        "checkpoint": ckpt.name,
        "checkpoint_sha256": decisions.file_sha256(ckpt),
        "chosen_on": {"mr_path": "mr", "split": "val", "num_samples": 40},
    }
    (tmp_path / "MusicTagger-best.thresholds.json").write_text(json.dumps(earlier))
    found = decisions.for_tagging(ckpt, "", TAGS)
    assert found.thresholds == [0.42, None, 0.3] and found.tag_sources() == [PER_TAG] * 3
    assert found.describe() == "max F1, chosen on val, per tag, unguarded"
    with caplog.at_level(logging.INFO, logger="fcn4"):
        on_test = _evaluate(tmp_path, ckpt, "test", 1)["decisions"]
    assert "(max F1, chosen on val, per tag, unguarded): micro" in caplog.text
    assert [(r["threshold"], r["threshold_source"], r["threshold_positives"]) for r in on_test["per_tag"]] == [
        (0.42, PER_TAG, None),
        (None, PER_TAG, None),
        (0.3, PER_TAG, None),
    ]
    assert all(r["own_threshold_fpr"] is None for r in on_test["per_tag"])


def test_tagging_checks_the_tags_and_for_a_checkpoint_its_content(tmp_path):
    ckpt = _ckpt(tmp_path)
    _evaluate(tmp_path, ckpt, "val", 0)
    assert decisions.for_tagging(ckpt, "", TAGS).tags == TAGS
    with pytest.raises(UserError, match="is for 3 other tags than the 2 of"):
        decisions.for_tagging(ckpt, "", TAGS[:2])
    exported = tmp_path / "fcn-4.onnx"
    exported.write_bytes(b"a graph")
    with pytest.raises(UserError, match="fcn-4.thresholds.json does not exist"):
        decisions.for_tagging(exported, "", TAGS)
    given = str(tmp_path / "MusicTagger-best.thresholds.json")
    assert decisions.for_tagging(exported, given, TAGS).checkpoint == "MusicTagger-best.ckpt"
    ckpt.write_bytes(b"retrained")
    with pytest.raises(UserError, match="chosen for another checkpoint"):
        decisions.for_tagging(ckpt, "", TAGS)


def _tracks():
    scores = np.array([[0.9, 0.2, 0.6], [0.7, 0.4, 0.2]], np.float32)
    return [Track(None, 29.1, np.zeros(1), scores=scores[i : i + 1]) for i in range(2)]


def test_reports_show_only_the_passing_tags_and_stay_recognisable(tmp_path):
    tracks, thresholds, sources = _tracks(), [0.8, None, 0.5], [PER_TAG, PER_TAG, POOLED]
    text = tag_report.Report("text", TAGS, 2, "mean", thresholds, sources).render(tracks)
    assert text.splitlines()[1:3] == ["  piano  0.900  (>= 0.800)", "  voice  0.600  (>= 0.500, pooled)"]
    assert text.splitlines()[4] == "  (no tag passes its threshold)"
    as_csv = tag_report.Report("csv", TAGS, 2, "mean", thresholds).render(tracks)
    rows = list(csv.reader(io.StringIO(as_csv)))
    assert rows[0][5] == "passing_tags" and [r[5] for r in rows[1:]] == ["piano:0.9000; voice:0.6000", ""]
    report = json.loads(tag_report.Report("json", TAGS, 2, "mean", thresholds, sources).render(tracks))
    assert report["thresholds"] == thresholds and report["threshold_sources"] == sources
    assert report["tracks"][0]["passing"] == [
        {"tag": "piano", "probability": 0.9, "threshold": 0.8, "threshold_source": PER_TAG},
        {"tag": "voice", "probability": 0.6, "threshold": 0.5, "threshold_source": POOLED},
    ]
    unflagged = tag_report.format_text(tracks[0], TAGS, 2, "mean", thresholds)  # no sources: every tag its own
    assert unflagged.splitlines()[2] == "  voice  0.600  (>= 0.500)"
    for name, content in (("t.txt", text), ("t.csv", as_csv)):
        (tmp_path / name).write_text(content)
        assert tag_report.is_report(tmp_path / name), name
