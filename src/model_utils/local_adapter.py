"""Device and rank ids for local launches (rank-table scripts set DEVICE_ID/RANK_ID/RANK_SIZE)."""

from __future__ import annotations

import os


def get_device_id(default: int = 0) -> int:
    return int(os.getenv("DEVICE_ID", str(default)))


def get_device_num() -> int:
    return int(os.getenv("RANK_SIZE", "1"))


def get_rank_id() -> int:
    return int(os.getenv("RANK_ID", "0"))


def get_job_id() -> str:
    return "Local Job"
