"""src/thresholds.py: thresholds chosen by brute force agree, P/R/F1 match scikit-learn, hand values."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from src.thresholds import choose_thresholds, decide, format_prf, precision_recall_f1


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
