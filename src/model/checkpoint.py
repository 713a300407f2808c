"""Checkpoint files: atomic saves, rotation, loads that check names and shapes first, and the
resume point (train_state.json) that names the newest one.

A wrong checkpoint must fail in one line naming the parameter, not deep inside MindSpore.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from src.core.errors import UserError, first_line
from src.core.file_names import STATE_FILE, is_step_checkpoint
from src.core.fileio import atomic_path, atomic_write_json

# A checkpoint entry holding {"model": ModelParams.to_dict(), "tags": [...]} as JSON text, so that a
# checkpoint moved away from its run folder still says which network and tag names it belongs to.
RUN_INFO_KEY = "fcn4_run_info"


def save(cell, path: str | Path, extra: dict | None = None, run_info: dict | None = None) -> Path:
    """Save all parameters of `cell` (network + optimizer state for a train cell) atomically.

    extra: scalar entries (epoch, step); run_info: {"model": ..., "tags": ...}, stored under RUN_INFO_KEY.
    """
    import mindspore as ms

    entries = dict(extra or {})
    if run_info is not None:
        entries[RUN_INFO_KEY] = json.dumps(run_info, sort_keys=True)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp_ckpt = tmp.with_suffix(".ckpt")
        ms.save_checkpoint(cell, str(tmp_ckpt), append_dict=entries)
        os.replace(tmp_ckpt, tmp)
    return path


def run_info(params: dict, path: str | Path = "checkpoint") -> dict | None:
    """The run info a checkpoint's parameter dict (from `read`) carries, None for one saved without it
    (older runs, the model zoo's checkpoints); UserError naming `path` when it is not a JSON object."""
    text = params.get(RUN_INFO_KEY)
    if text is None:
        return None
    try:
        info = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise UserError(f"checkpoint {path}: its '{RUN_INFO_KEY}' entry is not the JSON object train.py writes")
    return info


def read(path: str | Path) -> dict:
    """The parameter dict of a checkpoint file; UserError if it is missing or unreadable."""
    import mindspore as ms

    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        return ms.load_checkpoint(str(path))
    except (ValueError, RuntimeError, OSError) as exc:
        raise UserError(f"checkpoint {path} is not a readable MindSpore checkpoint ({first_line(exc)})") from None


def load_into(cell, path: str | Path, params: dict | None = None) -> dict:
    """Load a checkpoint into `cell` after checking every parameter exists with the right shape.

    Returns the whole parameter dict (extra entries such as epoch/step included).
    """
    import mindspore as ms

    params = read(path) if params is None else params
    for param in cell.get_parameters():
        got = parameter_shape(params, param.name, path)
        if got != tuple(param.shape):
            raise UserError(
                f"checkpoint {path}: parameter '{param.name}' has shape {got}, the network "
                f"expects {tuple(param.shape)} (check channels / num_classes)"
            )
    wanted = {p.name for p in cell.get_parameters()}
    ms.load_param_into_net(cell, {k: v for k, v in params.items() if k in wanted}, strict_load=True)
    return params


def parameter_shape(params: dict, name: str, path: str | Path) -> tuple[int, ...]:
    """The shape of parameter `name` in a checkpoint's parameter dict; UserError naming `path` when it has none."""
    if name not in params or not hasattr(params[name], "shape"):
        raise UserError(
            f"checkpoint {path} has no parameter '{name}' (not an FCN-4 checkpoint, or another model layout)"
        )
    return tuple(params[name].shape)


def rotate(directory: Path, prefix: str, keep: int) -> list[Path]:
    """Delete all but the `keep` newest PREFIX-EPOCH_STEP.ckpt files of directory; returns the deleted ones."""
    found = sorted(
        (p for p in directory.iterdir() if is_step_checkpoint(p.name, prefix)), key=lambda p: p.stat().st_mtime_ns
    )
    stale = found[:-keep]
    for old in stale:
        old.unlink()
    return stale


@dataclass
class TrainState:
    """Where a run stands; saved after every checkpoint so --resume knows where to go on."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    checkpoint: str = ""
    best_auc: float = -1.0
    best_epoch: int = 0
    lr_now: float = 0.0  # lr_schedule plateau: the lowered lr (0: never lowered, the configured lr)
    lr_reduced_epoch: int = 0
    stopped_early: bool = False  # patience: the run ended before epoch_size
    # what a resume must match ({"batch_size", "seed", "data"}); empty in a state written before it was recorded
    trained_with: dict = field(default_factory=dict)

    def save(self, directory: Path) -> None:
        atomic_write_json(directory / STATE_FILE, self.__dict__)

    @classmethod
    def load(cls, directory: Path) -> TrainState | None:
        path = directory / STATE_FILE
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise UserError(f"{path}: unreadable training state ({exc}); remove it to start afresh") from None
