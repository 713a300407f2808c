"""Where a locally launched process stands, read from its launcher's environment.

msrun exports RANK_ID / RANK_SIZE / DEVICE_ID (DEVICE_ID = index on this host), the rank-table
scripts export the same three, mpirun exports OMPI_COMM_WORLD_*. A plain `python train.py`
has none of them: rank 0 of 1 on device `default`.
"""

from __future__ import annotations

import os


def _first_int(names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = os.getenv(name)
        if value not in (None, ""):
            return int(value)
    return default


def get_device_id(default: int = 0) -> int:
    return _first_int(("DEVICE_ID", "OMPI_COMM_WORLD_LOCAL_RANK"), default)


def get_device_num() -> int:
    return _first_int(("RANK_SIZE", "OMPI_COMM_WORLD_SIZE"), 1)


def get_rank_id() -> int:
    return _first_int(("RANK_ID", "OMPI_COMM_WORLD_RANK"), 0)


def get_local_rank() -> int:
    """Index of this process among those of its host (the launchers number devices per host from 0)."""
    return _first_int(("OMPI_COMM_WORLD_LOCAL_RANK", "DEVICE_ID"), 0)


def get_job_id() -> str:
    return "Local Job"
