"""The tag list (`tags.txt`): one tag per line, label index 0 first, as the reference `tag.txt`,
and the one place that finds and checks a model's tag list for eval, export, postprocess and tag.py.

It gives each output column of a model its name; preprocess.py writes it beside the shards,
a training run records that folder as `mr_path` in its config.yaml, export.py copies the list
to `FILE_NAME.tags.txt` beside an exported model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import yaml

from src.core.errors import UserError
from src.core.file_names import CONFIG_FILE, TAGS_FILE, TAGS_SIDECAR_SUFFIX
from src.core.fileio import atomic_write_text

log = logging.getLogger("fcn4")

# The model zoo's tag.txt for MTAT (REFERENCE.md, "Labels"): label index 0 first, ascending frequency.
REFERENCE_TAGS = (
    "choral", "female voice", "metal", "country", "weird", "no voice", "cello", "harp", "beats",
    "female vocal", "male voice", "dance", "new age", "voice", "choir", "classic", "man", "solo",
    "sitar", "soft", "no vocal", "pop", "male vocal", "woman", "flute", "quiet", "loud",
    "harpsichord", "no vocals", "vocals", "singing", "male", "opera", "indian", "female", "synth",
    "vocal", "violin", "beat", "ambient", "piano", "fast", "rock", "electronic", "drums",
    "strings", "techno", "slow", "classical", "guitar",
)  # fmt: skip


def write_tag_list(path: str | os.PathLike, tags: Sequence[str]) -> None:
    """Write one tag per line, label index 0 first (the reference `tag.txt`), atomically.

    Atomic (temp file + rename), so a reader never sees half a vocabulary.
    """
    path = Path(path)
    bad = [tag for tag in tags if not tag or "\n" in tag or "\r" in tag]
    if bad:
        raise UserError(f"{path}: tags {bad!r} cannot be written one per line")
    atomic_write_text(path, "".join(f"{tag}\n" for tag in tags))


def read_tag_list(path: str | os.PathLike) -> list[str]:
    """Tags of a `tag.txt`, label index 0 first; UserError for a missing file, blank or repeated tag."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"tag list {path} does not exist (expected one tag per line)")
    try:
        tags = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UserError(f"tag list {path} is not UTF-8 text: {exc.reason}") from exc
    if not tags:
        raise UserError(f"tag list {path} is empty")
    seen: dict[str, int] = {}
    for line, tag in enumerate(tags, start=1):
        if not tag:
            raise UserError(f"{path}, line {line}: empty tag")
        if tag in seen:
            raise UserError(f"{path}, line {line}: tag {tag!r} already on line {seen[tag]}")
        seen[tag] = line
    return tags


def tag_list_candidates(model_path: str | os.PathLike, mr_path: str | os.PathLike = "") -> list[Path]:
    """Where the tag names of a model may be, most specific first (existing or not).

    `<model>.tags.txt` (written by export.py), `tags.txt` beside the model, for a checkpoint
    the `tags.txt` of the MindRecord folder named by the run's config.yaml, then mr_path's.
    """
    model_path = Path(model_path)
    folder = model_path.parent
    candidates = [model_path.with_suffix(TAGS_SIDECAR_SUFFIX), folder / TAGS_FILE]
    run_mr_path = _run_mr_path(folder / CONFIG_FILE)
    if run_mr_path:
        candidates.append(Path(run_mr_path) / TAGS_FILE)
    if mr_path:
        candidates.append(Path(mr_path) / TAGS_FILE)
    return candidates


def _run_mr_path(config: Path) -> str:
    """The `mr_path` a run's config.yaml records, "" when there is no readable one (the lookup goes on)."""
    if not config.is_file():
        return ""
    try:
        mr_path = (yaml.safe_load(config.read_text()) or {}).get("mr_path")
    except yaml.YAMLError:
        return ""
    return mr_path if isinstance(mr_path, str) else ""


def find_tag_list(candidates: Sequence[Path]) -> Path | None:
    """The first of `candidates` that exists, None when none does."""
    return next((path for path in candidates if path.is_file()), None)


def resolve_tags(
    model_path: str | os.PathLike,
    num_classes: int,
    tags_file: str | os.PathLike = "",
    mr_path: str | os.PathLike = "",
    own: Sequence[str] | None = None,
) -> list[str]:
    """The model's tag names: `own` (the list a checkpoint records) when given, else `tags_file`, else the
    first of `tag_list_candidates` that exists.

    A checkpoint's own names win because a tags.txt near it may come from another preprocessing run; one
    that would have been used and differs is warned about. UserError when no list is found, or when the
    list does not name every one of the model's outputs.
    """
    candidates = [Path(tags_file)] if tags_file else tag_list_candidates(model_path, mr_path)
    path = find_tag_list(candidates)
    if own is not None:
        check_tag_count(own, model_path, model_path, num_classes)
        _warn_if_other(path, own, model_path)
        return list(own)
    if tags_file:
        path = Path(tags_file)  # read_tag_list names it when it is missing
    elif path is None:
        raise UserError(
            f"no tag list found for {model_path} (looked for {', '.join(map(str, candidates))}); "
            f"pass --tags_file, e.g. the tags.txt that preprocess.py wrote"
        )
    tags = read_tag_list(path)
    check_tag_count(tags, path, model_path, num_classes)
    return tags


def _warn_if_other(path: Path | None, own: Sequence[str], model_path: str | os.PathLike) -> None:
    """One warning when the tag list at `path` (None: there is none) does not name the model's own tags."""
    if path is None:
        return
    try:
        tags = read_tag_list(path)
    except UserError as exc:
        log.warning("%s; using the %d tags that %s records", exc, len(own), model_path)
        return
    if tags != list(own):
        first = next((i for i, (a, b) in enumerate(zip(tags, own, strict=False)) if a != b), min(len(tags), len(own)))
        log.warning(
            "%s does not list the tags %s was trained with (%d vs %d tags, first difference at label %d); "
            "using the checkpoint's own",
            path,
            model_path,
            len(tags),
            len(own),
            first,
        )


def check_tag_count(
    tags: Sequence[str], path: str | os.PathLike, model_path: str | os.PathLike, num_classes: int
) -> None:
    """UserError unless the list from `path` names every one of the model's `num_classes` outputs."""
    if len(tags) != num_classes:
        raise UserError(f"{path} lists {len(tags)} tags but {model_path} predicts {num_classes}")


def tags_or_numbered(path: str | os.PathLike, num_classes: int) -> list[str]:
    """The tags of `path` when it exists with one per column, else tag0, tag1, ... (names for display only)."""
    path = Path(path)
    tags = read_tag_list(path) if path.is_file() else []
    return tags if len(tags) == num_classes else [f"tag{i}" for i in range(num_classes)]
