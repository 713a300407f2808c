"""Bootstrap intervals (src.evaluation.confidence): the percentiles of eval.py's own macro figures over resampled
clips."""

import numpy as np
import pytest

from src.evaluation import confidence
from src.evaluation.confidence import bootstrap_intervals, interval_line
from src.evaluation.metrics import summarize


def _data(n=40, tags=5, seed=0):
    """Labels with a rare tag (two positives: many resamples cannot score it) and tied, rounded scores."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, tags)) < np.linspace(0.2, 0.6, tags)).astype(np.int64)
    labels[:, 0] = 0
    labels[:2, 0] = 1
    scores = np.round(np.clip(0.3 * labels + rng.random((n, tags)), 0.0, 1.0), 1)
    return labels, scores


def _one_by_one(labels, scores, resamples, seed):
    """The same resamples, each scored by src.evaluation.metrics.summarize as eval.py scores a split."""
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(labels), size=(resamples, len(labels)))
    names = [f"t{i}" for i in range(labels.shape[1])]
    figures = [summarize(labels[rows], scores[rows], names) for rows in drawn]
    roc = [f["roc_auc"] for f in figures if f["roc_auc"] is not None]
    pr = [f["pr_auc"] for f in figures if f["pr_auc"] is not None]
    return np.percentile(roc, [2.5, 97.5]), np.percentile(pr, [2.5, 97.5])


def test_intervals_are_the_percentiles_of_the_exact_metrics_over_resamples():
    labels, scores = _data()
    result = bootstrap_intervals(labels, scores, 300, seed=7)
    roc, pr = _one_by_one(labels, scores, 300, seed=7)
    np.testing.assert_allclose(result["roc_auc"], roc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result["pr_auc"], pr, rtol=0, atol=1e-12)
    assert (result["resamples"], result["seed"], result["level"]) == (300, 7, 0.95)


def test_the_interval_brackets_the_point_estimate_and_narrows_with_more_clips():
    widths = []
    for n in (40, 400):
        labels, scores = _data(n=n, seed=1)
        point = summarize(labels, scores, [f"t{i}" for i in range(labels.shape[1])])["roc_auc"]
        low, high = bootstrap_intervals(labels, scores, 200, seed=1)["roc_auc"]
        assert low < point < high
        widths.append(high - low)
    assert widths[1] < widths[0]


def test_seeded_and_independent_of_how_resamples_are_batched(monkeypatch):
    labels, scores = _data()
    first = bootstrap_intervals(labels, scores, 50, seed=3)
    assert bootstrap_intervals(labels, scores, 50, seed=3) == first
    assert bootstrap_intervals(labels, scores, 50, seed=4) != first
    monkeypatch.setattr(confidence, "CELLS_PER_CALL", 1)  # one resample per metric call
    batched_one_by_one = bootstrap_intervals(labels, scores, 50, seed=3)
    for metric in ("roc_auc", "pr_auc"):
        np.testing.assert_allclose(batched_one_by_one[metric], first[metric], rtol=0, atol=1e-12)


def test_a_split_no_resample_can_score_gives_no_bounds():
    labels = np.zeros((6, 2), dtype=np.int64)
    result = bootstrap_intervals(labels, np.full((6, 2), 0.5), 20, seed=0)
    assert result["roc_auc"] == [None, None] and result["pr_auc"] == [None, None]
    assert "ROC-AUC [-, -]" in interval_line(result)


def test_the_line_eval_prints():
    line = interval_line({"level": 0.95, "resamples": 1000, "seed": 1, "roc_auc": [0.5, 0.75], "pr_auc": [0.1, 0.2]})
    assert line == "95% bootstrap intervals (1000 resamples, seed 1): ROC-AUC [0.5000, 0.7500], PR-AUC [0.1000, 0.2000]"


def test_no_resamples_is_refused():
    labels, scores = _data()
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        bootstrap_intervals(labels, scores, 0, seed=0)
