"""Recipe choices beyond the reference: the lr schedules, early stopping and weight decay, each off by
default, and what they do to a real train step."""

import numpy as np
import pytest

from src.core.errors import UserError
from src.model.checkpoint import TrainState
from src.musictagger import ModelParams, MusicTaggerCNN
from src.training.recipe_options import Schedule
from src.training.train_step import TrainStep
from tests.helpers.models import NARROW_CHANNELS, feature_batch

PARAMS = ModelParams(channels=NARROW_CHANNELS, num_classes=5)


def test_the_defaults_are_the_reference_recipe():
    schedule = Schedule(lr=0.0005)
    state = TrainState(global_step=123, epoch=9, best_epoch=1)
    assert schedule.step_lr(state, 200) == 0.0005
    assert not schedule.needs_validation
    assert not schedule.should_stop(state)
    assert schedule.end_epoch(state) == "" and state.lr_now == 0.0


def test_cosine_goes_from_lr_to_lr_min_over_the_run():
    schedule = Schedule(lr=0.001, lr_schedule="cosine", lr_min=0.0001)
    rates = [schedule.step_lr(TrainState(global_step=step), 11) for step in range(11)]
    assert rates[0] == pytest.approx(0.001) and rates[-1] == pytest.approx(0.0001)
    assert rates[5] == pytest.approx(0.00055)  # half way: the mean of the two
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))
    assert schedule.step_lr(TrainState(global_step=50), 11) == pytest.approx(0.0001)  # never below lr_min


def test_plateau_lowers_the_lr_after_patience_epochs_without_a_better_val_auc():
    schedule = Schedule(lr=0.001, lr_schedule="plateau", lr_min=0.0002, plateau_patience=2, plateau_factor=0.5)
    state = TrainState(epoch=2, best_epoch=1)
    assert schedule.end_epoch(state) == ""  # one epoch since the best: not yet
    state.epoch = 3
    assert "0.001 -> 0.0005" in schedule.end_epoch(state)
    assert schedule.step_lr(state, 100) == 0.0005 and state.lr_reduced_epoch == 3
    state.epoch = 4
    assert schedule.end_epoch(state) == ""  # patience counts again from the reduction
    state.epoch = 5
    schedule.end_epoch(state)
    state.epoch = 7
    schedule.end_epoch(state)
    assert state.lr_now == 0.0002  # floored at lr_min, and no lower after that
    state.epoch = 9
    assert schedule.end_epoch(state) == ""


def test_early_stopping_after_patience_epochs_since_the_best():
    schedule = Schedule(lr=0.001, patience=2)
    assert schedule.needs_validation
    assert not schedule.should_stop(TrainState(epoch=3, best_epoch=2))
    assert schedule.should_stop(TrainState(epoch=4, best_epoch=2))
    assert not schedule.should_stop(TrainState(epoch=4, best_epoch=0))  # nothing validated yet


def test_bad_schedule_settings_are_one_line_errors():
    with pytest.raises(UserError, match="lr_schedule='linear'"):
        Schedule(lr=0.001, lr_schedule="linear")
    with pytest.raises(UserError, match="lr_min=0.01 is above lr=0.001"):
        Schedule(lr=0.001, lr_schedule="cosine", lr_min=0.01)


def _one_step(ms, weight_decay: float = 0.0, lr_after: float | None = None) -> dict:
    ms.set_seed(7)
    step = TrainStep(MusicTaggerCNN(PARAMS), lr=0.01, loss_scale=1024.0, weight_decay=weight_decay)
    if lr_after is not None:
        step.set_lr(lr_after)
    labels = (np.random.default_rng(3).random((2, PARAMS.num_classes)) > 0.5).astype(np.float32)
    step.step([(ms.Tensor(feature_batch(2, 3)), ms.Tensor(labels))])
    return {p.name: p.asnumpy() for p in step.cell.network.get_parameters()}


def test_set_lr_reaches_the_compiled_optimizer(mindspore_cpu):
    ms = mindspore_cpu
    ms.set_seed(7)
    initial = {p.name: p.asnumpy() for p in MusicTaggerCNN(PARAMS).get_parameters() if p.name.endswith(".weight")}
    frozen = _one_step(ms, lr_after=0.0)
    moved = _one_step(ms)
    for name, value in initial.items():
        np.testing.assert_array_equal(frozen[name], value)  # lr 0: Adam moves no weight
        assert not np.array_equal(moved[name], value)


def test_weight_decay_acts_on_conv_and_dense_weights_only(mindspore_cpu):
    plain, decayed = _one_step(mindspore_cpu), _one_step(mindspore_cpu, weight_decay=0.5)
    weights = [name for name in plain if name.endswith(".weight")]
    others = [name for name in plain if not name.endswith(".weight") and "moving" not in name]
    assert {name.split(".")[0] for name in weights} == {"conv1", "conv2", "conv3", "conv4", "dense"}
    assert all(not np.array_equal(plain[name], decayed[name]) for name in weights)
    assert others and all(np.array_equal(plain[name], decayed[name]) for name in others)
