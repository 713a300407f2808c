"""The CI accuracy guard: a narrow FCN-4 trained by the real CLI on a small MTAT-shaped corpus (its defects
included) must reach the floor on the held-out test folders; and the guard must fail a training run that
learns nothing, here one whose train labels are shuffled against the clips (val and test labels are true).

The floor and its margin come from the guard's own spread (`python -m benchmarks.accuracy --guard 5`,
docs/accuracy.md, The CI accuracy guard): GUARD_FLOOR in benchmarks/accuracy.py.
"""

import pytest

from benchmarks.accuracy import GUARD_FLOOR, GUARD_SEEDS, guard_corpus, guard_runs
from benchmarks.mtat_corpus import with_shuffled_train_labels


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("guard")


@pytest.fixture(scope="module")
def corpus(work):
    return guard_corpus(work)


def test_a_working_trainer_reaches_the_floor(corpus, work):
    runs = guard_runs(corpus, work / "true", GUARD_SEEDS)
    for run in runs:
        assert run["test_clips"] >= 20 and run["tags_scored"] >= 40
        assert run["roc_auc"] >= GUARD_FLOOR, f"seed {run['seed']}: test ROC-AUC {run['roc_auc']:.4f} < {GUARD_FLOOR}"


def test_the_guard_fails_a_trainer_whose_labels_are_shuffled_against_the_clips(corpus, work):
    """The guard is only worth running if it can fail: the same recipe on shuffled train labels must fall
    below the floor (it scores about chance, 0.45-0.48 measured), so a change that breaks learning fails CI."""
    shuffled = with_shuffled_train_labels(corpus, work / "mtat_shuffled")
    runs = guard_runs(shuffled, work / "shuffled", GUARD_SEEDS)
    assert runs[0]["roc_auc"] < GUARD_FLOOR, f"shuffled labels still scored {runs[0]['roc_auc']:.4f}"
