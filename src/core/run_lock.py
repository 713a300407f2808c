"""Exclusive locks on an output folder that name their holder: one preprocess.py per mr_path, one
train.py per checkpoint_path.

The lock is an flock, released by the kernel when its holder dies (SIGKILL included). The holder
writes its pid and host into the lock file, so a second process's error says which one to wait for.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.core.errors import UserError


@contextmanager
def exclusive(path: str | Path, command: str) -> Iterator[int]:
    """Hold the lock file `path` (created with its folder if missing) while `command` writes beside it.

    UserError naming the holder if another process holds it. Yields the lock's file descriptor, for
    forked workers to close their inherited copy.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock_or_refuse(fd, path, command)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(), 0)
        yield fd
    finally:
        os.close(fd)


def check_free(path: str | Path, command: str) -> None:
    """UserError naming the holder if a process holds the lock file `path`; creates and changes nothing.

    Lets a command name a running holder before its other checks, which would only say that the
    folder is in use.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        _lock_or_refuse(fd, Path(path), command)
    finally:
        os.close(fd)


def _lock_or_refuse(fd: int, path: Path, command: str) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UserError(
            f"another {command} is writing to {path.parent} ({_holder(path)} holds {path}); "
            f"wait for it or stop it first"
        ) from None


def _holder(path: Path) -> str:
    """`pid N on HOST` as the holder wrote it; the holder may not have written it yet."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {int(holder['pid'])} on {holder['host']}"
    except (OSError, ValueError, TypeError, KeyError):
        return "a process that has not named itself yet"
