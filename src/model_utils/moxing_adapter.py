"""ModelArts support: copy data/checkpoints in before a run and outputs out after it.

The copier is ModelArts' own `moxing` module, present only inside ModelArts images (the
package of that name on the public index is unrelated and must never be installed).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable

from src.errors import UserError
from src.model_utils.local_adapter import get_device_id, get_device_num, get_rank_id

__all__ = ["get_device_id", "get_device_num", "get_rank_id", "get_job_id", "moxing_wrapper"]

log = logging.getLogger("fcn4")


def get_job_id() -> str:
    return os.getenv("JOB_ID", "default") or "default"


def _copier():
    try:
        import moxing
    except ImportError:
        raise UserError("enable_modelarts=True needs ModelArts' built-in 'moxing' module, which is only present "
                        "inside ModelArts images; run without enable_modelarts elsewhere") from None
    return moxing.file.copy_parallel


def sync_in(config) -> None:
    """Copy data_url -> data_path and checkpoint_url -> load_path (once, by this process)."""
    copy = _copier()
    for url, local in ((config.data_url, config.data_path), (config.checkpoint_url, config.load_path)):
        if url:
            os.makedirs(local, exist_ok=True)
            log.info("copying %s -> %s", url, local)
            copy(url, local)


def sync_out(config) -> None:
    if config.train_url:
        log.info("copying %s -> %s", config.output_path, config.train_url)
        _copier()(config.output_path, config.train_url)


def moxing_wrapper(run: Callable) -> Callable:
    """Wrap an entry point's run(config) with the ModelArts copy-in/copy-out when enabled."""

    @functools.wraps(run)
    def wrapped(config):
        if not config.enable_modelarts:
            return run(config)
        sync_in(config)
        result = run(config)
        sync_out(config)
        return result

    return wrapped
