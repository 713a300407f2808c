"""File output: atomic writes (a reader never sees a half-written file, an interrupted or failed writer
leaves none) and the check that an output can be written at all, made before the work that produces it."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.core.errors import UserError

# A write that fails for want of room or rights on the medium: the user must free space or choose
# another folder, so src.core.cli reports it in one line (naming the file) instead of a traceback.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; rename it over `path` only if the block succeeds.

    The temp file is removed whatever happens; a full disk while writing it is reported against `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS and exc.filename in (None, str(tmp)):
            exc.filename = str(path)  # the user knows the file, not our temp name
        raise
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def atomic_write_json(path: str | Path, data) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def check_writable_dir(folder: str | Path, what: str) -> Path:
    """UserError unless `folder` is, or can be created as, a folder this process can write in.

    Creates nothing (a refused run changes nothing): the nearest existing folder on the way must be
    a folder, and a probe file must be creatable there, since os.access says yes to root on a
    read-only mount. `what` names the setting in the message (e.g. "result_file", "--plot_dir").
    """
    folder = Path(folder)
    _check_folder(folder, f"{what} {folder}")
    return folder


def check_writable_file(path: str | Path, what: str) -> Path:
    """UserError unless `path` can be written as a file: not a folder, in a folder check_writable_dir accepts."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; expected a file name")
    _check_folder(path.parent, f"{what} {path}")
    return path


def _check_folder(folder: Path, named: str) -> None:
    existing = folder
    try:
        while not (existing.exists() or existing.is_symlink()):
            existing = existing.parent
        if not existing.is_dir():
            raise UserError(f"{named}: {existing} exists and is not a folder")
        handle, probe = tempfile.mkstemp(dir=existing, prefix=".write-check-")
    except OSError as exc:
        raise UserError(f"{named}: cannot write in {existing} ({exc.strerror or exc})") from None
    os.close(handle)
    os.unlink(probe)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
