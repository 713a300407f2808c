"""Multi-label tagging metrics for FCN-4 evaluation, in pure numpy.

All functions take ``labels`` of shape (N, C) with values in {0, 1} (bool, int or float) and
``scores`` of shape (N, C), finite floats (sigmoid outputs in [0, 1]); a 1-D pair is read as
a single tag, i.e. (N,) -> (N, 1). The exact per-tag ROC-AUC and average precision match
``sklearn.metrics.roc_auc_score`` / ``average_precision_score`` (ties included) and are the
headline figures; ``reference_auc`` keeps the model-zoo histogram approximation so that its
numbers stay comparable with the reference README.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from src.core.errors import UserError

__all__ = [
    "format_per_tag_table",
    "per_tag_average_precision",
    "per_tag_roc_auc",
    "reference_auc",
    "require_scorable",
    "summarize",
    "summary_line",
]


def _validate(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check and normalise inputs to labels int64 (N, C) and scores float64 (N, C).

    Raising here, with the expected form spelled out, beats a silent wrong AUC later on.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores)
    if labels.shape != scores.shape:
        raise ValueError(f"labels and scores must have the same shape (N, C), got {labels.shape} and {scores.shape}")
    if labels.ndim == 1:
        labels, scores = labels[:, None], scores[:, None]
    if labels.ndim != 2:
        raise ValueError(f"labels and scores must be 2-D (N, C) or 1-D (N,), got {labels.ndim}-D")
    if labels.shape[0] == 0 or labels.shape[1] == 0:
        raise ValueError(f"expected at least one sample and one tag, got shape {labels.shape}")
    if not (labels.dtype == np.bool_ or np.issubdtype(labels.dtype, np.number)):
        raise ValueError(f"labels must be numeric or bool with values in {{0, 1}}, got dtype {labels.dtype}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must contain only 0 and 1 (binary multi-label targets)")
    if not (scores.dtype == np.bool_ or np.issubdtype(scores.dtype, np.number)) or np.iscomplexobj(scores):
        raise ValueError(f"scores must be real numbers, got dtype {scores.dtype}")
    scores = scores.astype(np.float64)
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite (no NaN or inf); check the model outputs")
    return labels.astype(np.int64), scores


def _tie_bounds(sorted_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last row index of each element's tie group, per column.

    ``sorted_scores`` (N, C) is sorted along axis 0; returns two int64 (N, C) arrays.
    """
    n = sorted_scores.shape[0]
    rows = np.arange(n)[:, None]
    differs = sorted_scores[1:] != sorted_scores[:-1]
    all_true = np.ones((1, sorted_scores.shape[1]), dtype=bool)
    starts_group = np.concatenate([all_true, differs])
    ends_group = np.concatenate([differs, all_true])
    first = np.maximum.accumulate(np.where(starts_group, rows, 0), axis=0)
    last = np.minimum.accumulate(np.where(ends_group, rows, n - 1)[::-1], axis=0)[::-1]
    return first, last


def per_tag_roc_auc(labels: Any, scores: Any) -> np.ndarray:
    """Exact ROC-AUC per tag, float64 (C,); NaN where a tag lacks a positive or a negative.

    Uses the Mann-Whitney U statistic with average ranks for ties, which equals the area
    under the trapezoidal ROC curve (sklearn's definition) without building the curve.
    """
    labels, scores = _validate(labels, scores)
    order = np.argsort(scores, axis=0, kind="stable")
    first, last = _tie_bounds(np.take_along_axis(scores, order, axis=0))
    ranks = (first + last + 2) / 2.0  # 1-based average rank of each tie group
    sorted_labels = np.take_along_axis(labels, order, axis=0)
    pos = labels.sum(axis=0)
    neg = labels.shape[0] - pos
    rank_sum = (ranks * sorted_labels).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)
    return np.where((pos > 0) & (neg > 0), auc, np.nan)


def per_tag_average_precision(labels: Any, scores: Any) -> np.ndarray:
    """Average precision per tag, float64 (C,); NaN where a tag has no positive.

    Step-wise AP as in sklearn: sum over distinct score thresholds (descending) of the
    recall gained at that threshold times the precision there, so tied scores form one step.
    """
    labels, scores = _validate(labels, scores)
    order = np.argsort(-scores, axis=0, kind="stable")
    first, last = _tie_bounds(np.take_along_axis(-scores, order, axis=0))
    sorted_labels = np.take_along_axis(labels, order, axis=0)
    tps = np.cumsum(sorted_labels, axis=0)
    tps_before = tps - sorted_labels
    rows = np.arange(labels.shape[0])[:, None]
    is_threshold = rows == last
    gained = tps - np.take_along_axis(tps_before, first, axis=0)  # positives in the tie group
    precision = tps / (rows + 1.0)
    pos = tps[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = (is_threshold * gained * precision).sum(axis=0) / pos
    return np.where(pos > 0, ap, np.nan)


def reference_auc(labels: Any, scores: Any) -> float:
    """Model-zoo FCN-4 "AUC": per-tag histogram approximation, averaged over tags.

    Bit-for-bit the reference per-tag value (N // 2 bins of width 1 / (N // 2) over [0, 1],
    ties within a bin count one half), without its bugs: a score of exactly 1.0 falls in the
    last bin instead of raising IndexError, and tags without both classes are left out of
    the mean instead of dividing by zero. Returns NaN when no tag is scorable (e.g. N < 2).
    Scores must lie in [0, 1], the range the bins cover.
    """
    labels, scores = _validate(labels, scores)
    if scores.min() < 0.0 or scores.max() > 1.0:
        raise ValueError("reference_auc expects scores in [0, 1] (sigmoid outputs), not logits")
    n, n_tags = labels.shape
    pos = labels.sum(axis=0)
    total = pos * (n - pos)
    scorable = total > 0
    if not scorable.any():
        return math.nan
    n_bins = n // 2
    bin_width = 1.0 / n_bins
    bins = np.minimum(np.floor_divide(scores, bin_width).astype(np.int64), n_bins - 1)
    flat = bins + np.arange(n_tags) * n_bins
    is_pos = labels == 1
    pos_hist = np.bincount(flat[is_pos], minlength=n_tags * n_bins).reshape(n_tags, n_bins)
    neg_hist = np.bincount(flat[~is_pos], minlength=n_tags * n_bins).reshape(n_tags, n_bins)
    neg_below = np.cumsum(neg_hist, axis=1) - neg_hist
    # Twice the reference's "satisfied" count, kept integral so the sum is exact.
    twice_satisfied = (pos_hist * (2 * neg_below + neg_hist)).sum(axis=1)
    per_tag = (twice_satisfied[scorable] / 2.0) / total[scorable]
    return float(per_tag.mean())


def _json_float(value: float) -> float | None:
    """Python float for JSON, with NaN written as None (JSON null)."""
    return None if math.isnan(value) else float(value)


def _nan_mean(values: np.ndarray) -> float:
    """Mean over the non-NaN entries, NaN if there are none (without numpy's warning)."""
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else math.nan


def summarize(labels: Any, scores: Any, tags: list[str]) -> dict[str, Any]:
    """JSON-serialisable evaluation summary; NaN (unscorable) values are written as None.

    Keys: num_samples, num_tags, num_tags_scored (tags with both classes), roc_auc and pr_auc
    (macro means over the tags where each is defined), reference_auc, and per_tag, a list of
    {tag, positives, roc_auc, pr_auc} in the order of ``tags`` (length C).
    """
    labels, scores = _validate(labels, scores)
    if len(tags) != labels.shape[1]:
        raise ValueError(f"expected one tag name per column ({labels.shape[1]}), got {len(tags)}")
    roc = per_tag_roc_auc(labels, scores)
    ap = per_tag_average_precision(labels, scores)
    positives = labels.sum(axis=0)
    return {
        "num_samples": int(labels.shape[0]),
        "num_tags": int(labels.shape[1]),
        "num_tags_scored": int((~np.isnan(roc)).sum()),
        "roc_auc": _json_float(_nan_mean(roc)),
        "pr_auc": _json_float(_nan_mean(ap)),
        "reference_auc": _json_float(reference_auc(labels, scores)),
        "per_tag": [
            {
                "tag": str(tag),
                "positives": int(count),
                "roc_auc": _json_float(tag_roc),
                "pr_auc": _json_float(tag_ap),
            }
            for tag, count, tag_roc, tag_ap in zip(tags, positives, roc, ap, strict=True)
        ],
    }


def require_scorable(summary: dict[str, Any], source: str) -> None:
    """UserError when no tag of a ``summarize`` result has both classes: every average is undefined.

    Checked before anything is printed or written, so that no result file holds only nulls.
    """
    if summary["num_tags_scored"] == 0:
        raise UserError(
            f"{source}: no tag has both positive and negative clips among {summary['num_samples']}; AUC is undefined"
        )


def format_per_tag_table(summary: dict[str, Any]) -> str:
    """Fixed-width text table of ``summary["per_tag"]`` (from ``summarize``), rows as given.

    Columns: tag, positives, ROC-AUC, PR-AUC (4 decimals); None is shown as ``-``.
    """
    rows = summary["per_tag"]
    tag_width = max([len("tag"), *(len(row["tag"]) for row in rows)])

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    def line(tag: str, positives: str, roc: str, pr: str) -> str:
        return f"{tag:<{tag_width}}  {positives:>9}  {roc:>7}  {pr:>7}"

    header = line("tag", "positives", "ROC-AUC", "PR-AUC")
    lines = [header, "-" * len(header)]
    lines += [line(row["tag"], str(row["positives"]), fmt(row["roc_auc"]), fmt(row["pr_auc"])) for row in rows]
    return "\n".join(lines)


def summary_line(summary: dict[str, Any]) -> str:
    """The headline figures of a ``summarize`` result, as eval.py and postprocess.py print them.

    ``ROC-AUC x, PR-AUC y, reference AUC z (n/m tags scorable)``, 4 decimals.
    """
    return (
        f"ROC-AUC {summary['roc_auc']:.4f}, PR-AUC {summary['pr_auc']:.4f}, "
        f"reference AUC {summary['reference_auc']:.4f} "
        f"({summary['num_tags_scored']}/{summary['num_tags']} tags scorable)"
    )
