"""Checkpoint files: atomic saves, rotation, and loads that check names and shapes first.

A wrong checkpoint must fail in one line naming the parameter, not deep inside MindSpore.
"""

from __future__ import annotations

import os
from pathlib import Path

from src.errors import UserError, first_line
from src.fileio import atomic_path


def save(cell, path: str | Path, extra: dict | None = None) -> Path:
    """Save all parameters of `cell` (network + optimizer state for a train cell) atomically."""
    import mindspore as ms

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp_ckpt = tmp.with_suffix(".ckpt")
        ms.save_checkpoint(cell, str(tmp_ckpt), append_dict=extra or {})
        os.replace(tmp_ckpt, tmp)
    return path


def read(path: str | Path) -> dict:
    """The parameter dict of a checkpoint file; UserError if it is missing or unreadable."""
    import mindspore as ms

    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        return ms.load_checkpoint(str(path))
    except (ValueError, RuntimeError, OSError) as exc:
        raise UserError(f"checkpoint {path} is not a readable MindSpore checkpoint "
                        f"({first_line(exc)})") from None


def load_into(cell, path: str | Path, params: dict | None = None) -> dict:
    """Load a checkpoint into `cell` after checking every parameter exists with the right shape.

    Returns the whole parameter dict (extra entries such as epoch/step included).
    """
    import mindspore as ms

    params = read(path) if params is None else params
    for param in cell.get_parameters():
        if param.name not in params:
            raise UserError(f"checkpoint {path} has no parameter '{param.name}' "
                            f"(not an FCN-4 checkpoint, or another model layout)")
        got = tuple(params[param.name].shape)
        if got != tuple(param.shape):
            raise UserError(f"checkpoint {path}: parameter '{param.name}' has shape {got}, the network "
                            f"expects {tuple(param.shape)} (check channels / num_classes)")
    wanted = {p.name for p in cell.get_parameters()}
    ms.load_param_into_net(cell, {k: v for k, v in params.items() if k in wanted}, strict_load=True)
    return params

