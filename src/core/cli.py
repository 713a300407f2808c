"""The entry-point contract (one log format, one-line `error: ...`, exit codes), shared by run_entry
and by the commands with their own argparse.

tag.py and the host-side 310 runner take file arguments the YAML config cannot express, and
tag.py must run where MindSpore is absent (ONNX Runtime backend), so this module imports nothing
heavy; run_entry adds the MindSpore log filter (src.core.runtime) on top of the format set here.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from src.core.errors import UserError
from src.core.fileio import DISK_FULL_ERRNOS

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
LOG_DATE_FORMAT = "%H:%M:%S"


def setup_logging() -> None:
    """Every command's one-line-per-event log on stderr (a no-op once the root logger has a handler)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt=LOG_DATE_FORMAT)


def run_command(command: Callable[[], int]) -> int:
    """Call command(); bad input, and a disk that is full (or read-only, or over quota) while writing,
    become `error: ...` on stderr and exit code 2."""
    setup_logging()
    try:
        return int(command() or 0)
    except UserError as exc:
        return _error(str(exc))
    except OSError as exc:
        if exc.errno not in DISK_FULL_ERRNOS:
            raise
        where = f"cannot write {exc.filename}" if exc.filename else "cannot write"
        return _error(f"{where}: {os.strerror(exc.errno)}; free space or choose another folder, then rerun")
    except KeyboardInterrupt:
        logging.getLogger("fcn4").warning("interrupted; rerun the same command to continue where it stopped")
        return EXIT_INTERRUPTED


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR
