"""Cloud runs: copy data_url / checkpoint_url in before the work, mirror output_path to train_url.

As the model zoo's adapter: data_url -> data_path and checkpoint_url -> load_path once per host
(local rank 0 copies, the other local ranks wait), output_path -> train_url after the run. With
--resume, train_url is copied back into output_path first, so a restarted job continues from the
checkpoints its previous attempt uploaded. The copier is ModelArts' own `moxing` inside ModelArts
images, boto3 for s3:// and obs:// everywhere else (see src/cluster/object_store.py).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from src.cluster import distributed, object_store
from src.cluster.distributed import World
from src.core.errors import UserError
from src.model_utils.config import Config

__all__ = ["get_job_id", "cloud_sync", "moxing_wrapper"]

log = logging.getLogger("fcn4")


def get_job_id() -> str:
    return os.getenv("JOB_ID", "default") or "default"


def sync_enabled(config: Config) -> bool:
    """Whether there is anything to copy (enable_modelarts alone only picks the copier)."""
    return bool(config.data_url or config.checkpoint_url or config.train_url)


def _inbound(config: Config) -> list[tuple[str, str, str]]:
    """(key, url, local folder) pairs copied in before the run."""
    pairs = [
        ("data_url", config.data_url, config.data_path),
        ("checkpoint_url", config.checkpoint_url, config.load_path),
    ]
    if config.resume:
        pairs.append(("train_url", config.train_url, config.output_path))
    return [pair for pair in pairs if pair[1]]


def _check_layout(config: Config) -> None:
    """Outputs reach train_url only from inside output_path."""
    if not config.train_url:
        return
    out, ckpt = Path(config.output_path).resolve(), Path(config.checkpoint_path).resolve()
    if ckpt != out and out not in ckpt.parents:
        raise UserError(
            f"train_url uploads output_path={config.output_path}, but checkpoint_path="
            f"{config.checkpoint_path} is outside it; set checkpoint_path inside output_path"
        )


def sync_in(config: Config, store: object_store.S3Store | object_store.MoxingStore) -> None:
    """Check every URL first (one-line error before any copying), then copy them in."""
    inbound = _inbound(config)
    for key, url, _ in inbound:
        if key != "train_url":
            store.check_source(url, key)
    if config.train_url:
        store.check_target(config.train_url, "train_url")
    for key, url, local in inbound:
        Path(local).mkdir(parents=True, exist_ok=True)
        count = store.download_tree(url, Path(local), key)
        log.info("copied %d files %s -> %s", count, url, local)


@contextmanager
def cloud_sync(config: Config, world: World) -> Iterator[object_store.Mirror | None]:
    """Around an entry point's work: copy in (once per host), yield the train_url mirror (rank 0,
    else None), then upload what is left of output_path (rank 0, after success only)."""
    if not sync_enabled(config):
        yield None
        return
    _check_layout(config)
    store = object_store.open_store(config.enable_modelarts, config.store_max_attempts)
    distributed.once_per_host(
        world,
        functools.partial(sync_in, config, store),
        "copying the *_url inputs",
        config.sync_timeout,
        get_job_id() if config.enable_modelarts else None,
    )
    mirror = (
        object_store.Mirror(store, config.output_path, config.train_url) if config.train_url and world.is_main else None
    )
    yield mirror
    if mirror is not None:
        count = mirror.push_tree()
        log.info("uploaded %d files %s -> %s", count, config.output_path, config.train_url)


def moxing_wrapper(run: Callable[[Config], int]) -> Callable[[Config], int]:
    """Wrap a single-process entry point's run(config) with cloud_sync."""

    @functools.wraps(run)
    def wrapped(config: Config) -> int:
        if distributed.is_scheduler():
            return run(config)
        with cloud_sync(config, distributed.launcher_world()):
            return run(config)

    return wrapped
