"""A checkpoint's thresholds file (CKPT.thresholds.json): chosen by eval.py on the validation split,
applied by eval.py to the other splits and by tag.py to new audio.

The file names the checkpoint it was chosen for by content (sha256), so thresholds of another
checkpoint, or of an earlier run that the folder's checkpoint replaced, are never used as its own,
and eval.py never replaces them without --overwrite True.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from src.errors import UserError
from src.file_names import thresholds_file
from src.fileio import atomic_write_json, check_writable_file
from src.preprocess.plan import file_sha256
from src.thresholds import RULES, choose_thresholds, decide, format_prf, precision_recall_f1

log = logging.getLogger("fcn4")

CHOOSING_SPLIT = "val"  # thresholds are chosen here; figures on this split are therefore not results
RULE_NAMES = {"f1": "max F1", "precision": "target precision"}


@dataclass(frozen=True)
class Thresholds:
    """Per-tag thresholds (None: the tag is never given) for `tags`, in label order, and how they were chosen."""

    tags: list[str]
    thresholds: list[float | None]
    rule: str
    target_precision: float
    checkpoint: str
    checkpoint_sha256: str
    chosen_on: dict  # {"mr_path", "split", "num_samples"}

    def describe(self) -> str:
        target = f" {self.target_precision}" if self.rule == "precision" else ""
        return f"{RULE_NAMES[self.rule]}{target}, chosen on {self.chosen_on['split']}"


def load(path: str | Path) -> Thresholds:
    """The thresholds file at path; UserError naming it when it is missing or not one eval.py wrote."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"thresholds file {path} does not exist (eval.py --eval_split {CHOOSING_SPLIT} writes it)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = Thresholds(**data)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise UserError(f"thresholds file {path} is not a thresholds file eval.py wrote") from None
    values = found.thresholds
    if (
        not isinstance(found.tags, list)
        or not isinstance(values, list)
        or len(values) != len(found.tags)
        or not all(v is None or (isinstance(v, (int, float)) and 0.0 <= v <= 1.0) for v in values)
        or found.rule not in RULES
    ):
        raise UserError(f"thresholds file {path}: expected one threshold in [0, 1] or null per tag and a known rule")
    return found


def check_fits(found: Thresholds, path: Path, tags: list[str], model: Path, sha256: str = "") -> None:
    """UserError unless `found` was chosen for these tags (and, given its sha256, for this checkpoint)."""
    if found.tags != list(tags):
        raise UserError(f"thresholds file {path} is for {len(found.tags)} other tags than the {len(tags)} of {model}")
    if sha256 and found.checkpoint_sha256 != sha256:
        raise UserError(
            f"thresholds file {path} was chosen for another checkpoint ({found.checkpoint}, sha256 "
            f"{found.checkpoint_sha256[:12]}), not {model}; rerun eval.py --eval_split {CHOOSING_SPLIT} on it"
        )


class EvalDecisions:
    """What eval.py does with thresholds: on val, choose and save them for the checkpoint; on another
    split, apply the checkpoint's saved ones. Built before the work, so a refused run writes nothing."""

    def __init__(self, folder: str | Path, ckpt: Path, split: str, overwrite: bool) -> None:
        self.path = thresholds_file(folder, ckpt)
        self.ckpt = ckpt
        self.split = split
        self.sha256 = file_sha256(ckpt)
        self.saved = load(self.path) if self.path.is_file() and split != CHOOSING_SPLIT else None
        if split == CHOOSING_SPLIT:
            check_writable_file(self.path, "thresholds file")
        if split == CHOOSING_SPLIT and self.path.exists() and not overwrite:
            self._check_replaceable()

    def _check_replaceable(self) -> None:
        """UserError unless the existing file holds thresholds of this very checkpoint (then they are re-chosen)."""
        try:
            same = load(self.path).checkpoint_sha256 == self.sha256
        except UserError:
            same = False
        if not same:
            raise UserError(
                f"{self.path} holds thresholds that were not chosen for {self.ckpt}; add --overwrite True to "
                f"replace them, or evaluate into another checkpoint_path"
            )

    def evaluate(
        self, labels: np.ndarray, scores: np.ndarray, tags: list[str], rule: str, target: float, mr_path: str
    ) -> dict:
        """{"decisions": P/R/F1 at the thresholds} for eval_SPLIT.json (empty when there are none to
        apply), logged in one line; on val, the chosen thresholds are saved first."""
        if self.split == CHOOSING_SPLIT:
            used = self._choose(labels, scores, tags, rule, target, mr_path)
        else:
            used = self._saved_for(tags)
        if used is None:
            return {}
        block = precision_recall_f1(labels, decide(scores, used.thresholds), tags)
        for row, threshold in zip(block["per_tag"], used.thresholds, strict=True):
            row["threshold"] = threshold
        whose = "chosen on this split (optimistic: not a result) into" if self.split == CHOOSING_SPLIT else "of"
        log.info(
            "%s: P/R/F1 at the thresholds %s %s (%s): %s",
            self.split,
            whose,
            self.path,
            used.describe(),
            format_prf(block),
        )
        return {"decisions": {"thresholds_file": str(self.path), "rule": used.describe(), **block}}

    def _choose(
        self, labels: np.ndarray, scores: np.ndarray, tags: list[str], rule: str, target: float, mr_path: str
    ) -> Thresholds:
        """Thresholds chosen on this split for the checkpoint, saved (atomically) beside the results."""
        chosen = choose_thresholds(labels, scores, rule, target)
        on = {"mr_path": str(mr_path), "split": self.split, "num_samples": int(len(labels))}
        used = Thresholds(tags, chosen, rule, target, self.ckpt.name, self.sha256, on)
        atomic_write_json(self.path, asdict(used))
        return used

    def _saved_for(self, tags: list[str]) -> Thresholds | None:
        """The saved thresholds when they were chosen for this checkpoint and tags; None (said in one line) if not."""
        if self.saved is None:
            log.info(
                "no thresholds for %s in %s: eval.py --eval_split %s chooses them", self.ckpt, self.path, CHOOSING_SPLIT
            )
            return None
        try:
            check_fits(self.saved, self.path, tags, self.ckpt, self.sha256)
        except UserError as exc:
            log.warning("%s; no precision/recall/F1 reported", exc)
            return None
        return self.saved


def for_tagging(model: Path, given: str, tags: list[str]) -> Thresholds:
    """The thresholds tag.py applies: `given` (--thresholds), else those eval.py saved beside the model;
    checked to be chosen for its tags and, for a checkpoint, for this very checkpoint."""
    path = Path(given) if given else thresholds_file(model.parent, model)
    found = load(path)
    check_fits(found, path, tags, model, file_sha256(model) if model.suffix == ".ckpt" else "")
    return found
