"""The tag list (`tags.txt`): one tag per line, label index 0 first, as the reference `tag.txt`.

It gives each output column of a model its name; preprocess.py writes it beside the shards,
training copies it, export.py writes it beside an exported model.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from src.errors import UserError
from src.fileio import atomic_write_text


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
