"""Per-tag yes/no thresholds and the precision, recall and F1 of the decisions they make, in pure numpy.

A ranked list of probabilities does not say which tags a clip has; a threshold per tag does. The
thresholds are chosen on one split (validation) and judged on another, so that the figures are not
those of the choice. A clip is tagged when its probability is >= the tag's threshold; a tag whose
threshold is None (no positive to choose on, or the target precision is never reached) is never given.

Inputs as src.metrics: labels (N, C) in {0, 1}, scores (N, C) finite floats.
"""

from __future__ import annotations

import math

import numpy as np

RULES = ("f1", "precision")  # the config key threshold_rule


def choose_thresholds(labels: np.ndarray, scores: np.ndarray, rule: str, target_precision: float) -> list[float | None]:
    """One threshold per tag (C,): the score that maximises F1 (rule "f1"), or the lowest score whose
    precision reaches target_precision, i.e. the most recall at that precision (rule "precision")."""
    if rule not in RULES:
        raise ValueError(f"threshold rule {rule!r} is not one of {list(RULES)}")
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    return [_choose(labels[:, c], scores[:, c], rule, target_precision) for c in range(labels.shape[1])]


def _choose(labels: np.ndarray, scores: np.ndarray, rule: str, target_precision: float) -> float | None:
    """The threshold of one tag among its distinct scores; on a tie, the highest (fewest clips tagged)."""
    positives = int(labels.sum())
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    true_positives = np.cumsum(labels[order])
    last_of_tie = np.append(ranked[1:] != ranked[:-1], True)  # a threshold tags a whole tie group or none of it
    tagged = np.arange(1, len(ranked) + 1)[last_of_tie]
    hits, candidates = true_positives[last_of_tie], ranked[last_of_tie]
    if rule == "f1":
        return float(candidates[np.argmax(2 * hits / (tagged + positives))])
    reached = np.flatnonzero(hits / tagged >= target_precision)
    if reached.size == 0:
        return None
    best_recall = hits[reached].max()
    return float(candidates[reached[np.argmax(hits[reached] == best_recall)]])


def decide(scores: np.ndarray, thresholds: list[float | None]) -> np.ndarray:
    """Yes/no per clip and tag, bool (N, C): score >= threshold; never for a threshold of None."""
    scores = np.asarray(scores, dtype=np.float64)
    limits = np.array([math.inf if t is None else t for t in thresholds])
    return scores >= limits


def precision_recall_f1(labels: np.ndarray, predicted: np.ndarray, tags: list[str]) -> dict:
    """Micro (all decisions pooled) and macro (mean over the tags with a positive clip) precision, recall
    and F1, and per tag; a tag that tags no clip has precision 0 (sklearn's zero_division=0). JSON-ready."""
    labels, predicted = np.asarray(labels).astype(bool), np.asarray(predicted).astype(bool)
    tp = (labels & predicted).sum(axis=0)
    fp = (~labels & predicted).sum(axis=0)
    fn = (labels & ~predicted).sum(axis=0)
    precision = _ratio(tp, tp + fp, zero=0.0)
    recall = _ratio(tp, tp + fn, zero=math.nan)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn, zero=math.nan)
    scored = (tp + fn) > 0
    return {
        "micro": _prf(*_pooled(tp.sum(), fp.sum(), fn.sum())),
        "macro": _prf(
            *(float(values[scored].mean()) if scored.any() else math.nan for values in (precision, recall, f1))
        ),
        "num_tags_macro": int(scored.sum()),
        "per_tag": [
            {"tag": tag, "tagged": int(tp[c] + fp[c]), **_prf(precision[c], recall[c], f1[c])}
            for c, tag in enumerate(tags)
        ],
    }


def _ratio(numerator: np.ndarray, denominator: np.ndarray, zero: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), zero)


def _pooled(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
    return precision, recall, f1


def _prf(precision: float, recall: float, f1: float) -> dict:
    return {"precision": _json(precision), "recall": _json(recall), "f1": _json(f1)}


def _json(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 5)


def format_prf(block: dict) -> str:
    """`micro P 0.81 R 0.75 F1 0.78, macro P ... (n tags with positives)` of a precision_recall_f1 result."""

    def three(figures: dict) -> str:
        return " ".join(f"{k} {'-' if figures[v] is None else f'{figures[v]:.4f}'}" for k, v in _SHORT)

    return (
        f"micro {three(block['micro'])}, macro {three(block['macro'])} ({block['num_tags_macro']} tags with positives)"
    )


_SHORT = (("P", "precision"), ("R", "recall"), ("F1", "f1"))
