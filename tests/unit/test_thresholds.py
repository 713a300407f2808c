"""src/evaluation/thresholds.py: thresholds chosen by brute force agree, P/R/F1 match scikit-learn, hand values; the
guard gives a tag with too few positives, or whose own threshold passes most of its negatives, a pooled threshold
and leaves the others theirs."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from src.evaluation.thresholds import (
    PER_TAG,
    POOLED,
    UNGUARDED,
    WEAK,
    Guard,
    choose_guarded,
    choose_thresholds,
    decide,
    describe_choice,
    false_positive_rate,
    format_prf,
    pooled_threshold,
    precision_recall_f1,
)


def _data(seed: int, n: int = 60, c: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, c)) < 0.3).astype(np.int64)
    scores = np.round(0.6 * labels + rng.random((n, c)) * 0.7, 2)  # rounded: ties on purpose
    return labels, scores


def _brute_force(labels: np.ndarray, scores: np.ndarray, rule: str, target: float) -> list:
    """Every distinct score tried as a threshold (>=), the highest on a tie of the criterion."""
    chosen = []
    for y, s in zip(labels.T, scores.T, strict=True):
        best, best_key = None, None
        for t in sorted(set(s), reverse=True):
            tagged = s >= t
            tp = int((tagged & (y == 1)).sum())
            precision, recall = tp / tagged.sum(), tp / max(y.sum(), 1)
            f1 = 2 * tp / (tagged.sum() + y.sum())
            key = f1 if rule == "f1" else (recall if precision >= target else None)
            if key is not None and (best_key is None or key > best_key):
                best, best_key = t, key
        chosen.append(best if y.sum() else None)
    return chosen


@pytest.mark.parametrize("rule, target", [("f1", 0.5), ("precision", 0.7), ("precision", 0.95)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chosen_thresholds_are_the_brute_force_ones(rule, target, seed):
    labels, scores = _data(seed)
    assert choose_thresholds(labels, scores, rule, target) == _brute_force(labels, scores, rule, target)


def test_hand_values_and_tags_that_cannot_be_chosen():
    labels = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 0], [1, 0, 0]])
    scores = np.array([[0.9, 0.5, 0.2], [0.4, 0.6, 0.9], [0.6, 0.1, 0.8], [0.3, 0.2, 0.7]])
    # tag 0: 0.3 tags all 4 (F1 6/7) and beats 0.9 (F1 2/4); tag 1 has no positive; tag 2: only 0.2 finds it
    assert choose_thresholds(labels, scores, "f1", 0.5) == [0.3, None, 0.2]
    # precision 1.0: tag 0 only at 0.9; tag 2 never reaches it
    assert choose_thresholds(labels, scores, "precision", 1.0) == [0.9, None, None]
    assert decide(scores, [0.3, None, 0.2]).tolist() == [[True, False, True]] * 2 + [[True, False, True]] * 2


def test_precision_recall_f1_match_scikit_learn():
    labels, scores = _data(5, n=80, c=6)
    labels[:, 5] = 0  # a tag without positives: left out of the macro means
    predicted = decide(scores, choose_thresholds(labels, scores, "f1", 0.5)[:5] + [0.5])
    got = precision_recall_f1(labels, predicted, [f"t{i}" for i in range(6)])
    kept = labels[:, :5], predicted[:, :5]
    for average in ("micro", "macro"):
        expected = labels if average == "micro" else kept[0], predicted if average == "micro" else kept[1]
        assert got[average]["precision"] == pytest.approx(precision_score(*expected, average=average), abs=1e-5)
        assert got[average]["recall"] == pytest.approx(recall_score(*expected, average=average), abs=1e-5)
        assert got[average]["f1"] == pytest.approx(f1_score(*expected, average=average), abs=1e-5)
    assert got["num_tags_macro"] == 5
    assert got["per_tag"][5]["recall"] is None and got["per_tag"][5]["tagged"] == int(predicted[:, 5].sum())


def test_a_tag_that_tags_nothing_has_precision_zero_and_the_line_reads_well():
    labels = np.array([[1, 1], [0, 1]])
    got = precision_recall_f1(labels, np.array([[True, False], [False, False]]), ["a", "b"])
    assert got["per_tag"][1] == {"tag": "b", "tagged": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert got["micro"] == {"precision": 1.0, "recall": pytest.approx(1 / 3, abs=1e-5), "f1": 0.5}
    assert (
        format_prf(got)
        == "micro P 1.0000 R 0.3333 F1 0.5000, macro P 0.5000 R 0.5000 F1 0.5000 (2 tags with positives)"
    )
    assert all(v is not None for v in got["macro"].values())


def test_a_tag_with_too_few_positives_gets_the_threshold_pooled_over_such_tags_and_the_others_keep_theirs():
    labels, scores = _data(3, n=60, c=5)
    labels[:, 1] = 0
    labels[[7, 30], 1] = 1  # 2 positives
    labels[:, 3] = 0
    labels[[2, 9, 40], 3] = 1  # 3 positives
    own = choose_thresholds(labels, scores, "f1", 0.5)
    rare = labels[:, [1, 3]]
    pooled = _brute_force(rare.reshape(-1, 1), scores[:, [1, 3]].reshape(-1, 1), "f1", 0.5)[0]  # their decisions
    assert pooled_threshold(rare, scores[:, [1, 3]], "f1", 0.5) == pooled
    choice = choose_guarded(labels, scores, "f1", 0.5, Guard(4, 1.0))
    assert choice.positives == [int(p) for p in labels.sum(axis=0)] and choice.positives[1::2] == [2, 3]
    assert min(choice.positives[0::2]) >= 4
    assert choice.sources == [PER_TAG, POOLED, PER_TAG, POOLED, PER_TAG]
    assert choice.thresholds == [own[0], pooled, own[2], pooled, own[4]] and choice.pooled == pooled
    assert choice.overall is None and own[1] != pooled
    assert describe_choice(choice.guard, choice.sources, choice.pooled, None) == (
        f"per tag, 2 tag(s) with < 4 positives at the pooled threshold {pooled:.3f}"
    )
    # 5 positives in the two rare tags together are too few for min_positives 6: every tag is pooled then
    wide = choose_guarded(labels, scores, "f1", 0.5, Guard(6, 1.0))
    assert wide.pooled == pooled_threshold(labels, scores, "f1", 0.5) and wide.pooled != pooled


def test_a_tag_whose_own_threshold_passes_most_of_its_negatives_gets_the_all_tags_threshold():
    rng = np.random.default_rng(7)
    labels = (rng.random((80, 3)) < 0.5).astype(np.int64)
    scores = 0.5 * labels + rng.random((80, 3)) * 0.5  # tags 0 and 1 ranked well
    scores[:, 2] = rng.random(80) * 0.05  # tag 2: noise near 0, max F1 says yes to (almost) every clip
    own = choose_thresholds(labels, scores, "f1", 0.5)
    fprs = [false_positive_rate(labels[:, c], scores[:, c], t) for c, t in enumerate(own)]
    assert fprs[0] < 0.4 and fprs[1] < 0.4 and fprs[2] > 0.4 and own[2] < 0.05
    negatives = labels[:, 0] == 0
    assert fprs[0] == pytest.approx((scores[negatives, 0] >= own[0]).mean(), abs=1e-4)
    choice = choose_guarded(labels, scores, "f1", 0.5, Guard(5, 0.4))
    overall = pooled_threshold(labels, scores, "f1", 0.5)
    assert choice.sources == [PER_TAG, PER_TAG, WEAK] and choice.fprs == fprs
    assert choice.thresholds == [own[0], own[1], overall] and choice.overall == overall and choice.pooled is None
    assert describe_choice(choice.guard, choice.sources, None, overall) == (
        f"per tag, 1 tag(s) with a false-positive rate > 0.4 at the all-tags threshold {overall:.3f}"
    )
    assert false_positive_rate(labels[:, 0], scores[:, 0], None) is None
    assert false_positive_rate(np.ones(80), scores[:, 0], 0.5) is None  # no negative clip


def test_no_guard_is_the_unguarded_choice_and_a_guard_nobody_falls_under_changes_nothing():
    labels, scores = _data(4)
    own = choose_thresholds(labels, scores, "precision", 0.7)
    for guard in (UNGUARDED, Guard(int(labels.sum(axis=0).min()), 1.0)):
        choice = choose_guarded(labels, scores, "precision", 0.7, guard)
        assert choice.thresholds == own and choice.sources == [PER_TAG] * 5
        assert choice.pooled is None and choice.overall is None
    assert describe_choice(UNGUARDED, choice.sources, None, None) == "per tag, unguarded"
    assert describe_choice(guard, choice.sources, None, None) == (
        f"per tag: every tag had >= {guard.min_positives} positives and a false-positive rate <= 1"
    )
    assert describe_choice(Guard(9, 0.4), [POOLED, WEAK], None, 0.25) == (
        "per tag, 1 tag(s) with < 9 positives never given (the rule is never met), "
        "1 tag(s) with a false-positive rate > 0.4 at the all-tags threshold 0.250"
    )
