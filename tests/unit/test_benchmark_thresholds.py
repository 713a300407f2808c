"""benchmarks/thresholds.py: compare_thresholds (called by other benchmarks) judges on test the thresholds
chosen on val, and its CLI reads eval.py's saved scores."""

import numpy as np

from benchmarks.thresholds import compare_thresholds, main
from src.evaluation.saved_scores import SplitScores, save
from src.evaluation.thresholds import Guard, choose_guarded, choose_thresholds, decide, precision_recall_f1

TAGS = ["a", "b", "c", "d"]


def _split(seed: int, n: int = 50):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 4)) < [0.5, 0.4, 0.3, 0.04]).astype(np.int32)  # tag d: rare
    return labels, np.clip(0.4 * labels + rng.random((n, 4)) * 0.6, 0, 1).astype(np.float32)


def test_both_choices_are_judged_on_test_with_the_thresholds_chosen_on_val():
    (vl, vs), (tl, ts) = _split(0), _split(1)
    found = compare_thresholds(vl, vs, tl, ts, TAGS, min_positives=(5,), max_fpr=0.5)
    unguarded = precision_recall_f1(tl, decide(ts, choose_thresholds(vl, vs, "f1", 0.8)), TAGS)
    assert found["unguarded"]["micro"] == unguarded["micro"] and found["unguarded"]["replaced"] == 0
    choice = choose_guarded(vl, vs, "f1", 0.8, Guard(5, 0.5))
    guarded = precision_recall_f1(tl, decide(ts, choice.thresholds), TAGS)
    assert found["guarded"][5]["macro"] == guarded["macro"] and found["guarded"][5]["replaced"] >= 1
    assert found["val_positives"]["min"] == int(vl[:, 3].sum()) < 5 and found["max_fpr"] == 0.5


def test_the_command_reads_the_scores_eval_py_saves(tmp_path, capsys):
    for split, seed in (("val", 0), ("test", 1)):
        labels, scores = _split(seed)
        save(tmp_path / f"eval_{split}.scores.npz", SplitScores(labels, scores, np.arange(len(labels)), TAGS))
    assert main([str(tmp_path), "--min_positives", "5"]) == 0
    out = capsys.readouterr().out
    assert "val 50 clips, test 50" in out and "unguarded (per tag)" in out and "min_positives 5" in out
