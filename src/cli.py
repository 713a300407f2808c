"""The entry-point contract (one-line `error: ...`, exit codes), shared by run_entry and by the
commands with their own argparse.

tag.py and the host-side 310 runner take file arguments the YAML config cannot express, and
tag.py must run where MindSpore is absent (ONNX Runtime backend), while run_entry's logging
setup imports MindSpore; this wrapper imports nothing heavy.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from src.errors import UserError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def run_command(command: Callable[[], int]) -> int:
    """Call command(); bad input becomes `error: ...` on stderr and exit code 2."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        return int(command() or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        logging.getLogger("fcn4").warning("interrupted; rerun the same command to continue where it stopped")
        return EXIT_INTERRUPTED
