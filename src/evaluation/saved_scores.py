"""Per-clip labels and scores of an evaluated split (eval.py --save_scores True), for analyses that need
more than the summary figures: choosing thresholds another way (benchmarks/thresholds.py), calibration,
per-clip errors.

The file is an .npz of plain arrays, written atomically and read with allow_pickle=False:
    labels (N, C) int32 in {0, 1}, scores (N, C) float32 probabilities, ids (N,) int32 clip ids (MindRecord
    `id`, in the split's file order), tags (C,) str in label order.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.core.errors import UserError, first_line
from src.core.fileio import atomic_path

ARRAYS = ("labels", "scores", "ids", "tags")  # the .npz holds exactly these


@dataclass(frozen=True)
class SplitScores:
    """One split's labels (N, C), scores (N, C), clip ids (N,) and tag names (C,)."""

    labels: np.ndarray
    scores: np.ndarray
    ids: np.ndarray
    tags: list[str]


def save(path: str | Path, found: SplitScores) -> Path:
    """Write `path` (.npz) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            labels=np.asarray(found.labels, np.int32),
            scores=np.asarray(found.scores, np.float32),
            ids=np.asarray(found.ids, np.int32),
            tags=np.array(found.tags, dtype=str),
        )
    return path


def load(path: str | Path) -> SplitScores:
    """The scores saved at `path`; UserError (one line) naming it for anything eval.py did not write."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"scores file {path} does not exist (eval.py --save_scores True writes it)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in ARRAYS}
    except (OSError, EOFError, ValueError, KeyError, AttributeError, TypeError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a scores file eval.py --save_scores wrote ({first_line(exc)})") from None
    labels, scores, ids, tags = (arrays[name] for name in ARRAYS)
    if (
        labels.ndim != 2
        or scores.shape != labels.shape
        or ids.shape != labels.shape[:1]
        or tags.shape != labels.shape[1:]
        or not np.isin(labels, (0, 1)).all()
        or not np.isfinite(scores).all()
    ):
        raise UserError(
            f"{path}: expected labels and scores (N, C) (labels 0/1, finite scores), ids (N,) and tags (C,); got "
            f"{labels.shape}, {scores.shape}, {ids.shape}, {tags.shape}"
        )
    return SplitScores(labels.astype(np.int32), scores.astype(np.float32), ids, [str(t) for t in tags])
