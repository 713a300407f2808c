"""Recipe choices beyond the reference, all off by default: learning-rate schedule and early stopping.

The reference trains at a constant lr for a fixed number of epochs (`lr_schedule constant`, `patience 0`).
`cosine` anneals per optimizer step from lr to lr_min over the whole run; `plateau` multiplies the lr by
plateau_factor (not below lr_min) after plateau_patience epochs without a new best validation ROC-AUC;
`patience N` ends the run after N epochs without one. Everything is a pure function of the step or of the
saved training state, so a resumed run takes the same learning rates and stops at the same epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from src.core.errors import UserError
from src.model.checkpoint import TrainState

SCHEDULES = ("constant", "cosine", "plateau")  # the config key lr_schedule


@dataclass(frozen=True)
class Schedule:
    """lr_schedule and its settings, as train.py resolves them (fields named like config keys)."""

    lr: float
    lr_schedule: str = "constant"
    lr_min: float = 0.0
    plateau_patience: int = 1
    plateau_factor: float = 0.5
    patience: int = 0

    def __post_init__(self) -> None:
        if self.lr_schedule not in SCHEDULES:
            raise UserError(f"lr_schedule={self.lr_schedule!r} is not one of {list(SCHEDULES)}")
        if self.lr_schedule != "constant" and self.lr_min > self.lr:
            raise UserError(f"lr_min={self.lr_min} is above lr={self.lr}; the schedule lowers the lr down to lr_min")

    @property
    def needs_validation(self) -> bool:
        """Whether a choice reads the validation ROC-AUC of every epoch."""
        return self.patience > 0 or self.lr_schedule == "plateau"

    def step_lr(self, state: TrainState, total_steps: int) -> float:
        """The lr of the optimizer step after `state.global_step` steps of a `total_steps` run."""
        if self.lr_schedule == "cosine":
            done = min(state.global_step / max(total_steps - 1, 1), 1.0)
            return self.lr_min + (self.lr - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * done))
        if self.lr_schedule == "plateau":
            return state.lr_now or self.lr
        return self.lr

    def end_epoch(self, state: TrainState) -> str:
        """After epoch state.epoch (validated): lower a plateaued lr in `state`; what changed, for the log."""
        if self.lr_schedule != "plateau":
            return ""
        current = state.lr_now or self.lr
        since = state.epoch - max(state.best_epoch, state.lr_reduced_epoch)
        if since < self.plateau_patience or current <= self.lr_min:
            return ""
        state.lr_now = max(current * self.plateau_factor, self.lr_min)
        state.lr_reduced_epoch = state.epoch
        return f"lr {current:.3g} -> {state.lr_now:.3g} after {since} epochs without a better val ROC-AUC"

    def should_stop(self, state: TrainState) -> bool:
        """Early stopping: `patience` epochs have passed since the best validation ROC-AUC."""
        return self.patience > 0 and state.best_epoch > 0 and state.epoch - state.best_epoch >= self.patience
