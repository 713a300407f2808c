"""What every entry point does around its work: config, logging, one-line errors, exit codes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from src.errors import UserError
from src.model_utils.config import get_config
from src.model_utils.moxing_adapter import moxing_wrapper
from src.runtime import setup_logging

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def run_entry(run: Callable, argv: list[str] | None, description: str, cloud_sync: bool = True) -> int:
    """Resolve the config and call run(config); bad input becomes `error: ...` and exit code 2.

    cloud_sync=False leaves the *_url copying to run itself (train.py joins the cluster first).
    """
    setup_logging()
    try:
        config = get_config(argv, description)
        result = (moxing_wrapper(run) if cloud_sync else run)(config)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        logging.getLogger("fcn4").warning("interrupted; rerun the same command to continue where it stopped")
        return EXIT_INTERRUPTED
    return int(result or 0)
