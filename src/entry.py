"""What every entry point does around its work: config, logging, one-line errors, exit codes.

May import: core, model_utils
"""

from __future__ import annotations

from collections.abc import Callable

from src.core.cli import run_command
from src.core.runtime import filter_mindspore_log
from src.model_utils.config import Config, get_config
from src.model_utils.moxing_adapter import moxing_wrapper


def run_entry(run: Callable[[Config], int], argv: list[str] | None, description: str, cloud_sync: bool = True) -> int:
    """Resolve the config and call run(config); bad input becomes `error: ...` and exit code 2.

    cloud_sync=False leaves the *_url copying to run itself (train.py joins the cluster first).
    """
    filter_mindspore_log()

    def command() -> int:
        config = get_config(argv, description)
        return (moxing_wrapper(run) if cloud_sync else run)(config)

    return run_command(command)
