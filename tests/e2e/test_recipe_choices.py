"""train.py with early stopping and the plateau schedule: every epoch's lr and the stop follow, exactly, from
the run's own validation ROC-AUCs; a choice that needs validation is refused without it, before any write."""

import json

import pytest

from src.model.checkpoint import TrainState
from src.training.recipe_options import Schedule
from tests.helpers.datasets import make_corpus
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import assert_one_line_error, run_script

NARROW = ["--channels", str(list(NARROW_CHANNELS)), "--batch_size", "4", "--eval_batch_size", "8"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("recipe"), num_clips=24)


def test_plateau_and_early_stopping_follow_the_val_auc(corpus, tmp_path):
    out = tmp_path / "run"
    args = ["--lr_schedule", "plateau", "--plateau_patience", "1", "--patience", "2", "--lr", "0.002"]
    result = run_script(
        "train.py", "--mr_path", str(corpus / "mr"), "--checkpoint_path", str(out), *NARROW, "--epoch_size", "5", *args
    )
    assert result.returncode == 0, result.stderr[-3000:]
    epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    # Replay the rule on the run's own val ROC-AUCs: the lr of each epoch and where it stops.
    schedule = Schedule(lr=0.002, lr_schedule="plateau", patience=2)
    state, expected_lr, stop_after = TrainState(), [], 5
    for record in epochs:
        expected_lr.append(schedule.step_lr(state, 0))
        if record["val_roc_auc"] > state.best_auc:
            state.best_auc, state.best_epoch = record["val_roc_auc"], record["epoch"]
        state.epoch = record["epoch"]
        schedule.end_epoch(state)
        if schedule.should_stop(state):
            stop_after = min(stop_after, record["epoch"])
    assert [record["lr"] for record in epochs] == pytest.approx(expected_lr)
    assert len(epochs) == stop_after  # it stopped exactly where the rule says, or ran every epoch
    saved = json.loads((out / "train_state.json").read_text())
    assert saved["stopped_early"] == (stop_after < 5)
    assert (out / "MusicTagger-best.ckpt").is_file()


def test_early_stopping_without_validation_is_refused_before_any_write(corpus, tmp_path):
    out = tmp_path / "run"
    result = run_script(
        "train.py", "--mr_path", str(corpus / "mr"), "--checkpoint_path", str(out), *NARROW,
        "--patience", "2", "--eval_each_epoch", "False",
    )  # fmt: skip
    assert_one_line_error(result, "patience=2 needs a validation ROC-AUC", "eval_each_epoch True")
    assert not out.exists() or not any(out.iterdir())
