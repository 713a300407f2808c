"""Data-parallel training on MindSpore's own distributed runtime.

A launcher (msrun, a rank-table script, mpirun, ModelArts) starts one process per device and
tells each its place through the environment. `setup()` joins that job with
`mindspore.communication.init()` (HCCL on Ascend, NCCL on GPU, MCCL on CPU) and switches on
DATA_PARALLEL with gradient mean: every rank starts from the same seeded weights, reads its own
shard of the data, and applies the same averaged gradients, so the replicas stay identical.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.core.errors import UserError, first_line
from src.core.fileio import atomic_write_json
from src.model_utils import device_adapter

log = logging.getLogger("fcn4")

SCHEDULER_ROLE = "MS_SCHED"
POLL_S = 0.5


@dataclass(frozen=True)
class World:
    """This process's place in the job: global rank of size, and its index on its host."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, metrics and uploads."""
        return self.rank == 0


STANDALONE = World()


def launched_by_msrun() -> bool:
    return "MS_ROLE" in os.environ


def is_scheduler() -> bool:
    """msrun runs the training script once more as the cluster's scheduler; it never trains."""
    return os.environ.get("MS_ROLE") == SCHEDULER_ROLE


def launcher_world() -> World:
    """The place the launcher gave this process, known before init() (rank is a guess for msrun
    without --node_rank; local rank is exact for every launcher)."""
    size = device_adapter.get_device_num()
    if size <= 1 and not launched_by_msrun():
        return STANDALONE
    return World(device_adapter.get_rank_id(), size, device_adapter.get_local_rank())


def resolve_mode(requested: str) -> str:
    """'standalone' or 'data_parallel' for parallel_mode `requested`, checked against the launcher."""
    launched = launched_by_msrun() or device_adapter.get_device_num() > 1
    if requested == "auto":
        return "data_parallel" if launched else "standalone"
    if requested == "data_parallel" and not launched:
        raise UserError(
            "parallel_mode=data_parallel, but no launcher started this process (no msrun, RANK_SIZE "
            "or mpirun variables); start it with msrun or scripts/run_distribute_train*.sh"
        )
    if requested == "standalone" and launched:
        raise UserError(
            f"parallel_mode=standalone, but the launcher started {device_adapter.get_device_num()} "
            f"processes that would all write the same checkpoints; use parallel_mode=auto"
        )
    return requested


def setup(parallel_mode: str) -> World:
    """Join the launcher's job as one data-parallel replica (after setup_runtime), or stay standalone,
    as parallel_mode (auto, standalone, data_parallel) asks.

    In msrun's scheduler process init() serves the cluster until the job ends and then exits,
    so nothing after this call runs there.
    """
    if resolve_mode(parallel_mode) == "standalone":
        return STANDALONE
    import mindspore as ms
    from mindspore.communication import get_group_size, get_local_rank, get_rank, init

    try:
        init()
    except RuntimeError as exc:
        raise UserError(f"could not join the distributed job: {first_line(exc)}") from None
    ms.reset_auto_parallel_context()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    try:
        local_rank = get_local_rank()
    except RuntimeError:
        local_rank = device_adapter.get_local_rank()
    world = World(get_rank(), get_group_size(), local_rank)
    log.info(
        "data parallel: rank %d of %d, local rank %d, pid %d", world.rank, world.size, world.local_rank, os.getpid()
    )
    return world


def all_gather(world: World, values: np.ndarray) -> np.ndarray:
    """Every rank's `values` stacked in rank order: (size, *values.shape); same shape on all ranks.

    Only int32 and float32 are accepted: MindSpore 2.10's CPU AllGather garbles 64-bit values.
    """
    values = np.asarray(values)
    if values.dtype not in (np.int32, np.float32):
        raise TypeError(f"all_gather sends int32 or float32, got {values.dtype}")
    if world.size == 1:
        return values[None]
    import mindspore as ms

    gathered = _gather_cell()(ms.Tensor(values.reshape(1, -1)))
    return gathered.asnumpy().reshape(world.size, *values.shape)


def check_same(world: World, value: int, what: str, hint: str) -> None:
    """UserError on every rank unless all ranks hold the same `value` (a resume point, say)."""
    values = all_gather(world, np.array([value], np.int32))[:, 0]
    if np.any(values != values[0]):
        raise UserError(f"ranks disagree on {what}: {values.tolist()} (rank order); {hint}")


def once_per_host(
    world: World, action: Callable[[], None], what: str, timeout_s: float, launch_id: str | None = None
) -> None:
    """Run `action` on local rank 0 only; the other ranks of the host wait for it (at most timeout_s).

    Local rank 0 leaves a marker, with the error if the action failed so that the waiters fail at
    once with the same message. The marker is named by `launch_id` (ModelArts' JOB_ID: a fresh
    container per job) or else by the launcher process that all ranks of a host share.
    """
    if world.size == 1:
        action()
        return
    marker = _marker_path(launch_id)
    if world.local_rank == 0:
        marker.unlink(missing_ok=True)
        try:
            action()
        except UserError as exc:
            atomic_write_json(marker, {"error": str(exc)})
            raise
        except Exception as exc:
            atomic_write_json(marker, {"error": first_line(exc)})
            raise
        atomic_write_json(marker, {"error": None})
        return
    log.info("local rank %d: waiting for local rank 0 to finish %s", world.local_rank, what)
    deadline = time.monotonic() + timeout_s
    while not marker.is_file():
        if time.monotonic() > deadline:
            raise UserError(
                f"local rank {world.local_rank}: waited {timeout_s:g} s for local rank 0 to finish "
                f"{what} (marker {marker}); see local rank 0's log, or raise sync_timeout"
            )
        time.sleep(POLL_S)
    error = json.loads(marker.read_text())["error"]
    if error:
        raise UserError(f"local rank 0 failed {what}: {error}")


def _marker_path(launch_id: str | None) -> Path:
    """Per-launch marker; without launch_id, the launcher (parent) pid plus its start time."""
    if launch_id is None:
        parent = os.getppid()
        try:
            started = Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[19]
        except (OSError, IndexError):
            started = "0"
        launch_id = f"{parent}-{started}"
    return Path(tempfile.gettempdir()) / "fcn4-sync" / f"{launch_id}.json"


@functools.cache
def _gather_cell():
    """One AllGather cell per process (its graph is compiled once per input shape)."""
    import mindspore.nn as nn
    import mindspore.ops as ops

    class _Gather(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.gather = ops.AllGather()

        def construct(self, x):
            return self.gather(x)

    return _Gather()
