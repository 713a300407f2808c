"""Seeded bootstrap 95% intervals for the macro ROC-AUC and PR-AUC that eval.py reports.

Clips are resampled with replacement; each resample is scored with src.evaluation.metrics' exact per-tag
functions and averaged over the tags it can score, as `summarize` does. Resamples are stacked as
extra columns, so one call of each metric scores many of them (the per-tag functions are
column-wise), and each column is handed over already in score order (a per-tag metric does not
depend on the order of the clips), which makes the metrics' sorts linear: about 3x faster than one
resample at a time (benchmarks/bootstrap_intervals.py). The same inputs, resamples and seed give the same interval.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from src.evaluation.metrics import per_tag_average_precision, per_tag_roc_auc

log = logging.getLogger("fcn4")

LEVEL = 0.95
CELLS_PER_CALL = 2_000_000  # cells scored per metric call: about 200 MB of working arrays


def bootstrap_intervals(labels: Any, scores: Any, resamples: int, seed: int, level: float = LEVEL) -> dict[str, Any]:
    """Percentile intervals of macro ROC-AUC and PR-AUC over `resamples` bootstrap resamples of the clips.

    labels: (N, C) 0/1; scores: (N, C) floats. Returns {"resamples", "seed", "level", "roc_auc": [low, high],
    "pr_auc": [low, high]}; a bound is None when no resample could score that metric.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.ndim == 1:
        labels, scores = labels[:, None], scores[:, None]
    n, tags = labels.shape
    log.info("bootstrap intervals: %d resamples of %d clips x %d tags (seed %d)", resamples, n, tags, seed)
    rng = np.random.default_rng(seed)
    order = np.argsort(scores, axis=0, kind="stable").T  # (C, N): each tag's clips by ascending score
    per_call = max(1, CELLS_PER_CALL // max(1, n * tags))
    roc, pr = [], []
    for start in range(0, resamples, per_call):
        drawn = rng.integers(0, n, size=(min(per_call, resamples - start), n))
        stacked_labels, stacked_scores = _stack(labels, scores, order, drawn)
        roc.append(_macro(per_tag_roc_auc(stacked_labels, stacked_scores), tags))
        pr.append(_macro(per_tag_average_precision(stacked_labels, stacked_scores), tags))
    return {
        "resamples": resamples,
        "seed": seed,
        "level": level,
        "roc_auc": _percentiles(np.concatenate(roc), level),
        "pr_auc": _percentiles(np.concatenate(pr), level),
    }


def interval_line(intervals: dict[str, Any]) -> str:
    """`95% bootstrap intervals (1000 resamples, seed 1): ROC-AUC [a, b], PR-AUC [c, d]`, 4 decimals."""

    def span(bounds: list[float | None]) -> str:
        return "[" + ", ".join("-" if b is None else f"{b:.4f}" for b in bounds) + "]"

    return (
        f"{intervals['level']:.0%} bootstrap intervals ({intervals['resamples']} resamples, seed {intervals['seed']}): "
        f"ROC-AUC {span(intervals['roc_auc'])}, PR-AUC {span(intervals['pr_auc'])}"
    )


def _stack(
    labels: np.ndarray, scores: np.ndarray, order: np.ndarray, drawn: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores (N, B * C) of B resamples side by side (column b * C + c: tag c of resample b),
    each column the clips drawn[b] in ascending score order (`order`: each tag's clips by score)."""
    resamples, n = drawn.shape
    offsets = np.arange(resamples)[:, None] * n
    counts = np.bincount((drawn + offsets).ravel(), minlength=resamples * n).reshape(resamples, n)
    copies = counts[:, order]  # (B, C, N): how often each clip, in tag c's score order, was drawn
    rows = np.repeat(np.broadcast_to(order, copies.shape).ravel(), copies.ravel()).reshape(-1, n)
    tag = np.tile(np.arange(order.shape[0]), resamples)[:, None]
    return labels.T[tag, rows].T, scores.T[tag, rows].T


def _macro(per_tag: np.ndarray, tags: int) -> np.ndarray:
    """(B,) mean over each resample's scorable (non-NaN) tags, NaN for a resample without one."""
    values = per_tag.reshape(-1, tags)
    scorable = ~np.isnan(values)
    counts = scorable.sum(axis=1)
    sums = np.where(scorable, values, 0.0).sum(axis=1)
    return np.divide(sums, counts, out=np.full(len(values), np.nan), where=counts > 0)


def _percentiles(values: np.ndarray, level: float) -> list[float | None]:
    """[low, high] percentile bounds of the finite values; [None, None] when there are none."""
    kept = values[~np.isnan(values)]
    if not kept.size:
        return [None, None]
    tail = (1.0 - level) / 2.0 * 100.0
    return [float(b) for b in np.percentile(kept, [tail, 100.0 - tail])]
