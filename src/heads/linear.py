"""A linear head on frozen FCN-4 embeddings: one logistic regression per tag, saved without pickles.

The head is an .npz of plain arrays (weights (C, D) float64, bias (C,), thresholds (C,), tags (C,) str)
loaded with allow_pickle=False, plus a JSON sidecar (HEAD.json) saying what made it and how it scored.
Applying it needs only NumPy: tag.py --head runs it on the embeddings of a checkpoint, MindIR or ONNX model.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from src.core.errors import UserError, first_line
from src.core.fileio import atomic_path, atomic_write_json
from src.evaluation.thresholds import PER_TAG, SOURCES, Guard, describe_choice

ARRAYS = ("weights", "bias", "thresholds", "tags")  # the .npz holds exactly these
FORMAT = "fcn4-linear-head"  # the sidecar's "format", also how an earlier head is recognised before replacing it


@dataclass(frozen=True)
class LinearHead:
    """weights (C, D), bias (C,): probability = sigmoid(embedding @ weights.T + bias) per tag;
    thresholds (C,): the probability from which a tag is a yes (NaN: never, no positive to choose on);
    info: the sidecar's contents."""

    weights: np.ndarray
    bias: np.ndarray
    thresholds: np.ndarray
    tags: list[str]
    info: dict = field(default_factory=dict)

    @property
    def embedding_size(self) -> int:
        return int(self.weights.shape[1])

    def decision_thresholds(self) -> list[float | None]:
        """The thresholds in src/evaluation/thresholds.py's form (None: the tag is never given)."""
        return [None if np.isnan(t) else float(t) for t in self.thresholds]

    def threshold_sources(self) -> list[str]:
        """Per tag, how its threshold was chosen (the sidecar's threshold_sources; a head written before the
        guard, or without its sidecar, has every tag's own: PER_TAG)."""
        sources = self.info.get("threshold_sources")
        if isinstance(sources, list) and len(sources) == len(self.tags) and all(s in SOURCES for s in sources):
            return sources
        return [PER_TAG] * len(self.tags)

    def describe_thresholds(self) -> str:
        """How the thresholds were chosen, in words (src.evaluation.thresholds.describe_choice)."""
        count, fpr, pooled, overall = (
            self._number(key)
            for key in ("threshold_min_positives", "threshold_max_fpr", "pooled_threshold", "overall_threshold")
        )
        guard = Guard(int(count or 0), 1.0 if fpr is None else fpr)
        return f"max F1, chosen on val, {describe_choice(guard, self.threshold_sources(), pooled, overall)}"

    def _number(self, key: str) -> float | None:
        """The sidecar's number under key, None when absent (a head written before the guard) or not a number."""
        value = self.info.get(key)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, D) embeddings -> (N, C) float32 probabilities."""
        logits = np.asarray(embeddings, np.float64) @ self.weights.T + self.bias
        return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)  # sigmoid without overflow warnings

    def save(self, path: str | os.PathLike) -> Path:
        """Write `path` (.npz) atomically, then its sidecar `path` with .json (FORMAT, tags and `info`)."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(
                handle,
                weights=self.weights,
                bias=self.bias,
                thresholds=self.thresholds,
                tags=np.array(self.tags, dtype=str),
            )
        atomic_write_json(sidecar(path), {"format": FORMAT, **self.info, "tags": self.tags})
        return path


def sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def load_head(path: str | os.PathLike) -> LinearHead:
    """The head saved at `path`; UserError (one line) for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"head {path} does not exist (train one with train_head.py)")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an .npz of arrays")
        with data:
            arrays = {name: data[name] for name in ARRAYS}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a linear head saved by train_head.py ({first_line(exc)})") from None
    weights, bias, thresholds = (np.asarray(arrays[name], np.float64) for name in ARRAYS[:3])
    tags = [str(tag) for tag in arrays["tags"]]
    count = len(tags)
    if weights.ndim != 2 or weights.shape[0] != count or bias.shape != (count,) or thresholds.shape != (count,):
        raise UserError(
            f"{path}: arrays of shapes weights {weights.shape}, bias {bias.shape}, thresholds {thresholds.shape} "
            f"do not fit its {count} tags"
        )
    return LinearHead(weights, bias, thresholds, tags, _read_sidecar(path))


def _read_sidecar(path: Path) -> dict:
    """The head's JSON sidecar, or {} when it is missing (the .npz alone is enough to tag)."""
    try:
        info = json.loads(sidecar(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{sidecar(path)}: not the JSON sidecar of a linear head ({first_line(exc)})") from None
    return info if isinstance(info, dict) else {}


def check_head_target(path: str | os.PathLike) -> Path:
    """UserError unless `path` (.npz) and its sidecar are new, or an earlier head (its sidecar says FORMAT)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise UserError(f"head_file={str(path)!r}: expected a file name ending in .npz")
    if path.exists() or sidecar(path).exists():
        try:
            earlier = json.loads(sidecar(path).read_text(encoding="utf-8")).get("format")
        except (OSError, ValueError, AttributeError):
            earlier = None
        if earlier != FORMAT:
            raise UserError(
                f"head_file={str(path)!r} exists and is not a head train_head.py wrote; choose another name"
            )
    return path


def check_fits(head: LinearHead, embedding_size: int, model: str) -> None:
    """UserError when the head was fitted on embeddings of another width than `model` gives."""
    if head.embedding_size != embedding_size:
        raise UserError(
            f"the head takes {head.embedding_size}-d embeddings, {model} gives {embedding_size}-d ones; "
            f"use the model (or an export of the checkpoint) the head was trained on"
        )
