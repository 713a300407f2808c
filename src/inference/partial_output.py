"""An output built up one track at a time in `FILE.partial`, so that the same command continues a run that was
interrupted (Ctrl-C, a kill, a crash) with the tracks not yet done, and nothing done is lost.

The partial file is JSON lines: first `{"fcn4_partial": VERSION, "settings": ..., "planned": [...]}`, then one
`{"path": ..., "piece": ...}` per finished track, flushed as it is written (and `{"planned": [...]}` when a
continued run plans files the first did not). A line cut short by a crash is
dropped when the run is continued. `finish` writes FILE from the pieces (temp file + rename) and removes the
partial. A partial of other settings is refused, naming what differs, rather than mixed into.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from src.core.errors import UserError
from src.core.fileio import atomic_path

PARTIAL_SUFFIX = ".partial"
VERSION = 1
HEADER_KEY = "fcn4_partial"


class PartialOutput:
    """`target` in progress. `settings` must be equal for a run to continue another; `planned` lists what the
    run may write beside the target (kept from the first run: those files are this output's own)."""

    def __init__(self, target: Path, settings: dict[str, Any], planned: Iterable[str] = ()) -> None:
        self.target = target
        self.partial = target.with_name(target.name + PARTIAL_SUFFIX)
        self.settings = json.loads(json.dumps(settings))  # as it reads back from the file
        self.planned = sorted(planned)
        self._handle: IO[str] | None = None
        self._earlier: tuple[list[str], set[str]] | None = None  # what earlier() read, for open()

    def earlier(self) -> tuple[list[str], set[str]]:
        """(what an interrupted run planned, the paths it finished); ([], set()) when there is none. UserError for
        a partial file of other settings or one tag.py did not write."""
        if not self.partial.exists() or self.partial.stat().st_size == 0:  # empty: cut before its first line
            return [], set()
        try:
            records = [json.loads(line) for line in _complete_lines(self.partial)]
        except (OSError, UnicodeDecodeError, ValueError):
            records = []
        header = records[0] if records else None
        if not isinstance(header, dict) or header.get(HEADER_KEY) != VERSION:
            raise UserError(
                f"{self.partial} exists and is not an unfinished tag.py output; remove it or choose another name"
            )
        theirs = header["settings"]
        differing = sorted(key for key in {*theirs, *self.settings} if theirs.get(key) != self.settings.get(key))
        if differing:
            was = "; ".join(f"{key} {theirs.get(key)!r}" for key in differing)
            raise UserError(
                f"{self.partial} holds an unfinished run with other settings ({was}); rerun with those to finish "
                f"it, or remove it to start again"
            )
        planned = [name for record in records for name in record.get("planned", [])]
        self._earlier = planned, {record["path"] for record in records[1:] if "path" in record}
        return self._earlier

    def open(self) -> None:
        """Start appending, holding the partial file's lock (a second run on the same output is refused): a new
        partial file, or the earlier one, cut back to its last complete line, with what this run plans beyond
        it."""
        planned, _ = self._earlier or self.earlier()  # read once: the check before the run already did
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.partial, "a", encoding="utf-8")  # noqa: SIM115 - closed by finish/close
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UserError(
                f"{self.partial} is being written by another run of tag.py; wait for it to end, or choose another "
                f"output"
            ) from None
        self._handle = handle
        if self.partial.stat().st_size == 0:
            self._write({HEADER_KEY: VERSION, "settings": self.settings, "planned": self.planned})
            return
        _cut_to_last_line(self.partial)
        more = sorted(set(self.planned) - set(planned))
        if more:
            self._write({"planned": more})

    def add(self, path: str, piece: Any) -> None:
        """One finished track's piece, on disk when this returns."""
        self._write({"path": path, "piece": piece})

    def pieces(self) -> Iterator[Any]:
        """Every piece so far, in the order they were added (read from disk: memory stays flat)."""
        for line in _complete_lines(self.partial):
            record = json.loads(line)
            if "piece" in record:
                yield record["piece"]

    def finish(self, write: Callable[[IO[str]], None]) -> Path:
        """Write the target with `write(handle)` (which reads `pieces()`), atomically, and remove the partial."""
        self.close()
        with atomic_path(self.target) as tmp, open(tmp, "w", encoding="utf-8") as handle:
            write(handle)
        self.partial.unlink()
        return self.target

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _write(self, record: dict) -> None:
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()


def _complete_lines(path: Path) -> Iterator[str]:
    """The lines of `path` that end in a newline (a last line without one was cut short)."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n"):
                yield line
            else:
                return


def _cut_to_last_line(path: Path) -> None:
    """Drop a last line cut short by a crash, so appending starts on a line of its own."""
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        handle.seek(0)
        handle.truncate(handle.read().rfind(b"\n") + 1)
