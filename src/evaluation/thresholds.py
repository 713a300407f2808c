"""Per-tag yes/no thresholds and the precision, recall and F1 of the decisions they make, in pure numpy.

A ranked list of probabilities does not say which tags a clip has; a threshold per tag does. The
thresholds are chosen on one split (validation) and judged on another, so that the figures are not
those of the choice. A clip is tagged when its probability is >= the tag's threshold; a tag whose
threshold is None (no positive to choose on, or the target precision is never reached) is never given.

Two kinds of per-tag threshold mean little, and choose_guarded replaces them by a pooled one, chosen by
the same rule on many tags' decisions together (benchmarks/thresholds.py measured both rules):
- a threshold chosen on a handful of positives is noise (with one positive, max F1 puts it at that clip's
  score, however low): a tag with fewer than min_positives positives gets the threshold pooled over such
  rare tags (a model gives rare tags lower probabilities, so a pool of every tag would be too high for them);
- a threshold that says yes to more than max_fpr of the tag's negative clips (its false-positive rate)
  comes from scores that hardly separate the tag's clips, and max F1 then says yes to most clips at a
  probability near 0 (the demo's `rock 0.004 (>= 0.003)`): such a weak tag gets the threshold pooled over
  every tag. Unlike precision over the base rate, this does not mark a frequent tag that is ranked well.
The choice records per tag which threshold it got, on how many positives, and the false-positive rate
of its own.

Inputs as src.evaluation.metrics: labels (N, C) in {0, 1}, scores (N, C) finite floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RULES = ("f1", "precision")  # the config key threshold_rule
PER_TAG, POOLED, WEAK = "per-tag", "pooled", "weak"  # how a tag's threshold was chosen (see choose_guarded)
SOURCES = (PER_TAG, POOLED, WEAK)


@dataclass(frozen=True)
class Guard:
    """When a tag's own threshold is replaced (the config keys threshold_min_positives and threshold_max_fpr):
    fewer than min_positives positives, or a false-positive rate above max_fpr. UNGUARDED: never, as before."""

    min_positives: int
    max_fpr: float

    @property
    def on(self) -> bool:
        return self.min_positives > 0 or self.max_fpr < 1


UNGUARDED = Guard(0, 1.0)


@dataclass(frozen=True)
class Choice:
    """Thresholds (C,) and how they were chosen: per tag its source (PER_TAG, POOLED or WEAK), its positives
    on the choosing split and the false-positive rate of its own threshold (None without one, or without a
    negative); the threshold POOLED tags got (pooled) and the one WEAK tags got (overall), None when no tag
    took it or its rule is never met."""

    thresholds: list[float | None]
    sources: list[str]
    positives: list[int]
    fprs: list[float | None]
    guard: Guard
    pooled: float | None
    overall: float | None


def choose_thresholds(labels: np.ndarray, scores: np.ndarray, rule: str, target_precision: float) -> list[float | None]:
    """One threshold per tag (C,): the score that maximises F1 (rule "f1"), or the lowest score whose
    precision reaches target_precision, i.e. the most recall at that precision (rule "precision")."""
    if rule not in RULES:
        raise ValueError(f"threshold rule {rule!r} is not one of {list(RULES)}")
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    return [_choose(labels[:, c], scores[:, c], rule, target_precision) for c in range(labels.shape[1])]


def choose_guarded(labels: np.ndarray, scores: np.ndarray, rule: str, target_precision: float, guard: Guard) -> Choice:
    """Each tag's own threshold (choose_thresholds), except: a tag with fewer than guard.min_positives
    positives gets the threshold pooled over those rare tags (over every tag when they hold fewer than
    min_positives positives in all, so that each threshold rests on that many where the split has them);
    a tag whose own threshold says yes to more than guard.max_fpr of its negatives gets the one pooled over
    every tag."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    own = choose_thresholds(labels, scores, rule, target_precision)
    positives = [int(p) for p in labels.sum(axis=0)]
    fprs = [false_positive_rate(labels[:, c], scores[:, c], t) for c, t in enumerate(own)]
    sources = [
        POOLED if p < guard.min_positives else WEAK if fpr is not None and fpr > guard.max_fpr else PER_TAG
        for p, fpr in zip(positives, fprs, strict=True)
    ]
    rare = [source == POOLED for source in sources]
    pooled, overall = None, None
    if any(rare):
        pool = pool_of(positives, rare, guard.min_positives)
        pooled = pooled_threshold(labels[:, pool], scores[:, pool], rule, target_precision)
    if WEAK in sources:
        overall = pooled_threshold(labels, scores, rule, target_precision)
    given = {PER_TAG: None, POOLED: pooled, WEAK: overall}
    thresholds = [t if s == PER_TAG else given[s] for s, t in zip(sources, own, strict=True)]
    return Choice(thresholds, sources, positives, fprs, guard, pooled, overall)


def false_positive_rate(labels: np.ndarray, scores: np.ndarray, threshold: float | None) -> float | None:
    """The share of one tag's negative clips that `threshold` says yes to, for its (N,) labels and scores;
    None without a threshold or a negative clip."""
    negative = np.asarray(labels) == 0
    if threshold is None or not negative.any():
        return None
    return round(float(np.mean(np.asarray(scores)[negative] >= threshold)), 4)


def pool_of(positives: list[int], pooled: list[bool], min_positives: int) -> list[bool]:
    """The tags (a mask) the pooled threshold is chosen on: the `pooled` ones, or every tag when those hold
    fewer than min_positives positives in all."""
    held = sum(p for p, in_pool in zip(positives, pooled, strict=True) if in_pool)
    return list(pooled) if held >= min_positives else [True] * len(positives)


def pooled_threshold(labels: np.ndarray, scores: np.ndarray, rule: str, target_precision: float) -> float | None:
    """One threshold for all the tags (columns) given: the rule applied to every (clip, tag) decision pooled,
    i.e. max micro F1 (or the most micro recall at target_precision); None when no decision is positive."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    return _choose(labels.ravel(), scores.ravel(), rule, target_precision)


def describe_choice(guard: Guard, sources: list[str], pooled: float | None, overall: float | None) -> str:
    """How a set of thresholds was chosen, in words: `per tag, unguarded` for files written before the guard."""
    if not guard.on:
        return "per tag, unguarded"
    replaced = [
        f"{sources.count(source)} tag(s) {why} "
        + ("never given (the rule is never met)" if threshold is None else f"at the {name} threshold {threshold:.3f}")
        for source, why, name, threshold in (
            (POOLED, f"with < {guard.min_positives} positives", "pooled", pooled),
            (WEAK, f"with a false-positive rate > {guard.max_fpr:g}", "all-tags", overall),
        )
        if source in sources
    ]
    if not replaced:
        return (
            f"per tag: every tag had >= {guard.min_positives} positives and a false-positive rate <= {guard.max_fpr:g}"
        )
    return "per tag, " + ", ".join(replaced)


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
