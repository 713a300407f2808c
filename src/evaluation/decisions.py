"""A checkpoint's thresholds file (CKPT.thresholds.json): chosen by eval.py on the validation split,
applied by eval.py to the other splits and by tag.py to new audio.

The file names the checkpoint it was chosen for by content (sha256), so thresholds of another
checkpoint, or of an earlier run that the folder's checkpoint replaced, are never used as its own,
and eval.py never replaces them without --overwrite True. It also says, per tag, whether the threshold
is the tag's own or a pooled one (src.evaluation.thresholds.choose_guarded), on how many val positives it was chosen
and the false-positive rate of its own; files written before that guard lack those keys and load as unguarded, every
tag its own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.core.file_names import thresholds_file
from src.core.fileio import atomic_write_json, check_writable_file, file_sha256
from src.evaluation.thresholds import (
    PER_TAG,
    RULES,
    SOURCES,
    Choice,
    Guard,
    choose_guarded,
    decide,
    describe_choice,
    format_prf,
    precision_recall_f1,
)

log = logging.getLogger("fcn4")

CHOOSING_SPLIT = "val"  # thresholds are chosen here; figures on this split are therefore not results
RULE_NAMES = {"f1": "max F1", "precision": "target precision"}


@dataclass(frozen=True)
class Thresholds:
    """Per-tag thresholds (None: the tag is never given) for `tags`, in label order, and how they were chosen.

    The fields from min_positives on came with the guard; a file without them was chosen per tag, unguarded."""

    tags: list[str]
    thresholds: list[float | None]
    rule: str
    target_precision: float
    checkpoint: str
    checkpoint_sha256: str
    chosen_on: dict  # {"mr_path", "split", "num_samples"}
    min_positives: int = 0  # threshold_min_positives of the choice (0 with max_fpr 1: unguarded)
    max_fpr: float = 1.0  # threshold_max_fpr of the choice
    pooled_threshold: float | None = None  # what the POOLED tags got
    overall_threshold: float | None = None  # what the WEAK tags got
    sources: list[str] | None = None  # per tag PER_TAG, POOLED or WEAK; None: all PER_TAG
    positives: list[int] | None = None  # per tag, its positives on the choosing split; None: not recorded
    fprs: list[float | None] | None = None  # per tag, its own threshold's false-positive rate; None: not recorded

    def tag_sources(self) -> list[str]:
        return self.sources or [PER_TAG] * len(self.tags)

    def describe(self) -> str:
        target = f" {self.target_precision}" if self.rule == "precision" else ""
        guard = Guard(self.min_positives, self.max_fpr)
        how = describe_choice(guard, self.tag_sources(), self.pooled_threshold, self.overall_threshold)
        return f"{RULE_NAMES[self.rule]}{target}, chosen on {self.chosen_on['split']}, {how}"


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
    if not _guard_fits(found):
        raise UserError(
            f"thresholds file {path}: expected min_positives >= 0, max_fpr, pooled_threshold and "
            f"overall_threshold in [0, 1] (the last two or null), and per tag a source in {list(SOURCES)}, a count of "
            f"positives and a false-positive rate in [0, 1] or null"
        )
    return found


def _guard_fits(found: Thresholds) -> bool:
    """Whether the guard's fields (absent in files written before it) are well-formed."""
    count = len(found.tags)

    def per_tag(values) -> bool:
        return values is None or (isinstance(values, list) and len(values) == count)

    return (
        isinstance(found.min_positives, int)
        and found.min_positives >= 0
        and _number(found.max_fpr)
        and found.max_fpr <= 1.0
        and all(t is None or (_number(t) and t <= 1.0) for t in (found.pooled_threshold, found.overall_threshold))
        and per_tag(found.sources)
        and all(source in SOURCES for source in found.sources or [])
        and per_tag(found.positives)
        and all(isinstance(p, int) and p >= 0 for p in found.positives or [])
        and per_tag(found.fprs)
        and all(v is None or (_number(v) and v <= 1.0) for v in found.fprs or [])
    )


def _number(value) -> bool:
    """A JSON number >= 0 (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


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
        self,
        labels: np.ndarray,
        scores: np.ndarray,
        tags: list[str],
        rule: str,
        target: float,
        mr_path: str,
        *,
        guard: Guard,
    ) -> dict:
        """{"decisions": P/R/F1 at the thresholds} for eval_SPLIT.json (empty when there are none to
        apply), logged in one line; on val, the chosen thresholds are saved first (rule, target and
        guard only matter there: other splits apply the saved ones)."""
        if self.split == CHOOSING_SPLIT:
            on = {"mr_path": str(mr_path), "split": self.split, "num_samples": int(len(labels))}
            used = self._save(choose_guarded(labels, scores, rule, target, guard), tags, rule, target, on)
        else:
            used = self._saved_for(tags)
        if used is None:
            return {}
        block = precision_recall_f1(labels, decide(scores, used.thresholds), tags)
        blank = [None] * len(tags)  # a file written before the guard
        columns = zip(used.thresholds, used.tag_sources(), used.positives or blank, used.fprs or blank, strict=True)
        for row, (threshold, source, count, fpr) in zip(block["per_tag"], columns, strict=True):
            row.update(threshold=threshold, threshold_source=source, threshold_positives=count, own_threshold_fpr=fpr)
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

    def _save(self, chosen: Choice, tags: list[str], rule: str, target: float, on: dict) -> Thresholds:
        """The thresholds chosen on this split for the checkpoint, saved (atomically) beside the results."""
        used = Thresholds(
            tags,
            chosen.thresholds,
            rule,
            target,
            self.ckpt.name,
            self.sha256,
            on,
            chosen.guard.min_positives,
            chosen.guard.max_fpr,
            chosen.pooled,
            chosen.overall,
            chosen.sources,
            chosen.positives,
            chosen.fprs,
        )
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
