"""Tests for src/evaluation/metrics.py: sklearn parity, hand values, the model-zoo reference AUC, summaries."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from src.evaluation.metrics import (
    format_per_tag_table,
    per_tag_average_precision,
    per_tag_roc_auc,
    reference_auc,
    summarize,
    summary_line,
)

TOL = 1e-12


def reference_oracle(labels: np.ndarray, preds: np.ndarray) -> float:
    """Literal transcription of the model-zoo FCN-4 AUC, bugs included (the test oracle)."""
    n_bins = labels.shape[0] // 2
    aucs = []
    for i in range(labels.shape[1]):
        pos = labels[:, i].sum()
        neg = labels.shape[0] - pos
        total = pos * neg
        positive_histogram = np.zeros(n_bins)
        negative_histogram = np.zeros(n_bins)
        bin_width = 1.0 / n_bins
        for j in range(labels.shape[0]):
            nth_bin = int(preds[j, i] // bin_width)
            if labels[j, i] == 1:
                positive_histogram[nth_bin] += 1
            else:
                negative_histogram[nth_bin] += 1
        accumulated_negative = 0
        satisfied = 0
        for k in range(n_bins):
            satisfied += positive_histogram[k] * accumulated_negative
            satisfied += positive_histogram[k] * negative_histogram[k] * 0.5
            accumulated_negative += negative_histogram[k]
        aucs.append(satisfied / total)
    return np.mean(aucs)


def random_case(seed: int, n: int = 60, c: int = 7, decimals: int | None = 1) -> tuple[np.ndarray, np.ndarray]:
    """Random labels (N, C) int64 with both classes per tag and scores (N, C) in [0, 0.99].

    Rounding the scores creates many ties, the case where naive implementations drift.
    """
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, c)) < rng.uniform(0.1, 0.6, size=c)).astype(np.int64)
    labels[0], labels[1] = 1, 0
    scores = rng.random((n, c)) * 0.7 + labels * 0.3 * rng.random((n, c))
    if decimals is not None:
        scores = np.round(scores, decimals)
    return labels, np.minimum(scores, 0.99)  # below 1.0, where the reference oracle crashes


CASES = [(seed, decimals) for seed in range(4) for decimals in (1, 2, None)]


@pytest.mark.parametrize(("seed", "decimals"), CASES)
def test_roc_auc_matches_sklearn(seed: int, decimals: int | None) -> None:
    labels, scores = random_case(seed, decimals=decimals)
    ours = per_tag_roc_auc(labels, scores)
    expected = np.array([roc_auc_score(labels[:, i], scores[:, i]) for i in range(labels.shape[1])])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=TOL)
    assert abs(ours.mean() - roc_auc_score(labels, scores, average="macro")) < TOL


@pytest.mark.parametrize(("seed", "decimals"), CASES)
def test_average_precision_matches_sklearn(seed: int, decimals: int | None) -> None:
    labels, scores = random_case(seed, decimals=decimals)
    ours = per_tag_average_precision(labels, scores)
    expected = np.array([average_precision_score(labels[:, i], scores[:, i]) for i in range(labels.shape[1])])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=TOL)
    assert abs(ours.mean() - average_precision_score(labels, scores, average="macro")) < TOL


def test_hand_values() -> None:
    y = np.array([0, 0, 1, 1])
    perfect = np.array([0.1, 0.2, 0.8, 0.9])
    assert per_tag_roc_auc(y, perfect)[0] == 1.0
    assert per_tag_roc_auc(y, perfect[::-1])[0] == 0.0
    assert per_tag_roc_auc(y, np.full(4, 0.5))[0] == 0.5
    assert per_tag_average_precision(y, perfect)[0] == 1.0
    assert per_tag_average_precision(y, np.full(4, 0.5))[0] == 0.5
    # Ranking 1, 0, 1, 0 from the top: precision 1 at recall 1/2, 2/3 at recall 1.
    assert per_tag_average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6])[0] == pytest.approx(5 / 6, abs=TOL)
    # One tie between a positive and a negative counts one half of a pair out of 4.
    assert per_tag_roc_auc(y, [0.1, 0.5, 0.5, 0.9])[0] == pytest.approx(3.5 / 4, abs=TOL)


def test_unscorable_tags_are_nan() -> None:
    labels = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 1]])
    scores = np.array([[0.1, 0.2, 0.9], [0.3, 0.4, 0.2], [0.5, 0.6, 0.8]])
    roc = per_tag_roc_auc(labels, scores)
    ap = per_tag_average_precision(labels, scores)
    assert np.isnan(roc[0]) and np.isnan(roc[1]) and roc[2] == 1.0
    assert np.isnan(ap[0]) and ap[1] == 1.0 and ap[2] == 1.0


def test_bool_and_one_dimensional_inputs() -> None:
    labels, scores = random_case(5, c=1)
    expected = per_tag_roc_auc(labels, scores)
    ours = per_tag_roc_auc(labels[:, 0].astype(bool), scores[:, 0])
    assert ours.shape == (1,)
    np.testing.assert_array_equal(ours, expected)
    assert reference_auc(labels[:, 0], scores[:, 0]) == reference_auc(labels, scores)


@pytest.mark.parametrize("seed", range(6))
def test_reference_auc_equals_oracle(seed: int) -> None:
    labels, scores = random_case(seed, n=40 + seed, c=9, decimals=None if seed % 2 else 2)
    assert abs(reference_auc(labels, scores) - reference_oracle(labels, scores)) < TOL


def test_reference_auc_is_an_approximation_of_roc_auc() -> None:
    labels, scores = random_case(11, n=400, c=5, decimals=None)
    assert abs(reference_auc(labels, scores) - per_tag_roc_auc(labels, scores).mean()) < 0.01


def test_reference_auc_survives_a_score_of_one() -> None:
    labels, scores = random_case(3, n=30, c=4)
    scores[2, 1] = 1.0
    with pytest.raises(IndexError):
        reference_oracle(labels, scores)
    ours = reference_auc(labels, scores)
    # Clamping puts 1.0 in the last bin, i.e. where the largest score below 1.0 would go.
    scores[2, 1] = np.nextafter(1.0, 0.0)
    assert ours == reference_oracle(labels, scores)


def test_reference_auc_leaves_out_single_class_tags() -> None:
    labels, scores = random_case(4, n=50, c=5, decimals=None)
    labels[:, 1] = 0
    labels[:, 3] = 1
    with np.errstate(divide="ignore", invalid="ignore"):
        assert not np.isfinite(reference_oracle(labels, scores))
    kept = [0, 2, 4]
    assert abs(reference_auc(labels, scores) - reference_oracle(labels[:, kept], scores[:, kept])) < TOL


def test_reference_auc_without_scorable_tag_is_nan() -> None:
    assert math.isnan(reference_auc([[1, 0]], [[0.3, 0.7]]))
    assert math.isnan(reference_auc([1, 1, 1], [0.2, 0.5, 1.0]))


def test_reference_auc_rejects_logits() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reference_auc([0, 1], [-2.0, 3.0])


def test_summarize_is_strict_json() -> None:
    labels, scores = random_case(7, n=30, c=4)
    labels[:, 2] = 0
    tags = ["rock", "piano", "never", "female vocal"]
    summary = summarize(labels, scores, tags)
    restored = json.loads(json.dumps(summary, allow_nan=False))
    assert restored == summary
    assert summary["num_samples"] == 30 and summary["num_tags"] == 4 and summary["num_tags_scored"] == 3
    assert [row["tag"] for row in summary["per_tag"]] == tags
    assert summary["per_tag"][2] == {"tag": "never", "positives": 0, "roc_auc": None, "pr_auc": None}
    kept = [0, 1, 3]
    assert summary["roc_auc"] == pytest.approx(roc_auc_score(labels[:, kept], scores[:, kept]), abs=TOL)
    assert summary["pr_auc"] == pytest.approx(average_precision_score(labels[:, kept], scores[:, kept]), abs=TOL)
    assert summary["reference_auc"] == pytest.approx(reference_oracle(labels[:, kept], scores[:, kept]), abs=TOL)


def test_summarize_without_scorable_tag_writes_null() -> None:
    summary = summarize([[0], [0]], [[0.2], [0.4]], ["quiet"])
    assert summary["roc_auc"] is None and summary["pr_auc"] is None and summary["reference_auc"] is None
    json.dumps(summary, allow_nan=False)


def test_format_per_tag_table() -> None:
    summary = summarize([[1, 0], [0, 0], [1, 0]], [[0.9, 0.1], [0.2, 0.3], [0.7, 0.5]], ["guitar", "x"])
    lines = format_per_tag_table(summary).splitlines()
    assert lines[0].split() == ["tag", "positives", "ROC-AUC", "PR-AUC"]
    assert set(lines[1]) == {"-"}
    assert lines[2].split() == ["guitar", "2", "1.0000", "1.0000"]
    assert lines[3].split() == ["x", "0", "-", "-"]
    assert len({len(line) for line in lines}) == 1


def test_summary_line() -> None:
    labels = np.array([[1, 0], [0, 0], [1, 0], [0, 1]])
    scores = np.array([[0.9, 0.2], [0.1, 0.3], [0.6, 0.4], [0.4, 0.8]])
    summary = summarize(labels, scores, ["a", "b"])
    assert summary_line(summary) == "ROC-AUC 1.0000, PR-AUC 1.0000, reference AUC 1.0000 (2/2 tags scorable)"


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        (np.zeros((4, 2)), np.zeros((4, 3)), "same shape"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), "2-D"),
        (np.zeros((0, 3)), np.zeros((0, 3)), "at least one sample"),
        (np.array([[0, 2], [1, 0]]), np.zeros((2, 2)), "only 0 and 1"),
        (np.array(["a", "b"]), np.zeros(2), "numeric or bool"),
        (np.array([0, 1]), np.array([0.5, np.nan]), "finite"),
        (np.array([0, 1]), np.array(["x", "y"]), "real numbers"),
    ],
)
def test_validation_errors(labels: np.ndarray, scores: np.ndarray, message: str) -> None:
    for metric in (per_tag_roc_auc, per_tag_average_precision, reference_auc):
        with pytest.raises(ValueError, match=message):
            metric(labels, scores)


def test_summarize_checks_tag_count() -> None:
    with pytest.raises(ValueError, match="one tag name per column"):
        summarize([[0, 1], [1, 0]], [[0.1, 0.2], [0.3, 0.4]], ["only-one"])
