"""Whether eval.py scores the split that picked the checkpoint it evaluates: a figure chosen on a split
is optimistic on that split, so it must not be read as a result there.

train.py keeps PREFIX-best.ckpt for the epoch with the best validation ROC-AUC (eval_each_epoch with a
val split); its run folder says so: train_state.json's best_epoch, config.yaml's prefix, and the
fingerprint of the dataset it validated on (train_state.json's trained_with.data). A best checkpoint
moved out of its run folder no longer says which split picked it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from src.core.errors import UserError
from src.core.file_names import CONFIG_FILE, best_checkpoint
from src.model.checkpoint import TrainState
from src.model.pretrained import SPLIT_WARNING, is_zoo
from src.training.run_folder import data_fingerprint

PICKING_SPLIT = "val"  # the split the trainer's per-epoch validation scores


def picked_on(ckpt: str | Path, mr_path: str | Path, split: str, prefix: str) -> int | None:
    """The epoch whose validation ROC-AUC made `ckpt` its run's best checkpoint, when `split` of `mr_path` is
    the split that validated it; None when the checkpoint was not picked on that split (or cannot tell).
    prefix: the checkpoint prefix, when the run's config.yaml records none."""
    ckpt = Path(ckpt)
    if split != PICKING_SPLIT:
        return None
    try:
        state = TrainState.load(ckpt.parent)
    except UserError:
        return None  # an unreadable state records nothing about the choice
    if state is None or state.best_epoch < 1 or ckpt.name != best_checkpoint(_run_prefix(ckpt.parent, prefix)):
        return None
    recorded = state.trained_with.get("data")
    if recorded is None or recorded != data_fingerprint(mr_path):
        return None
    return state.best_epoch


def picked_notice(split: str, epoch: int) -> str:
    """The one line eval.py prints when it scores the split that picked the checkpoint."""
    return (
        f"{split} picked this checkpoint (its best {split} ROC-AUC, epoch {epoch}): its AUC here is optimistic; "
        f"score test"
    )


def _run_prefix(folder: Path, default: str) -> str:
    """The checkpoint prefix the run in `folder` used (config.yaml), `default` when it records none."""
    try:
        prefix = (yaml.safe_load((folder / CONFIG_FILE).read_text()) or {}).get("prefix")
    except (OSError, yaml.YAMLError, AttributeError):
        prefix = None
    return prefix if isinstance(prefix, str) and prefix else default


def caveats(ckpt: str | Path, mr_path: str | Path, split: str, prefix: str) -> list[str]:
    """The lines eval.py's figures must be read with: the model zoo's training split covers MTAT, and a split
    that picked the checkpoint flatters it."""
    found = [SPLIT_WARNING] if is_zoo(ckpt) else []
    epoch = picked_on(ckpt, mr_path, split, prefix)
    if epoch is not None:
        found.append(picked_notice(split, epoch))
    return found
