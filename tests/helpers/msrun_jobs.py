"""Launching and watching training jobs from tests: a small preprocessed corpus, free ports, a clean
launcher environment, msrun through scripts/run_distribute_train_cpu.sh, and no worker left behind
when a job hangs."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import ROOT

NARROW = ["--channels", str(list(NARROW_CHANNELS)), "--eval_batch_size", "8", "--device_target", "CPU"]
LAUNCH_VARS = (
    "RANK_SIZE",
    "RANK_ID",
    "DEVICE_ID",
    "RANK_TABLE_FILE",
    "MS_ROLE",
    "MS_WORKER_NUM",
    "MS_SCHED_HOST",
    "MS_SCHED_PORT",
    "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "NODE_NUM",
    "NODE_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
)
RUN_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    env.update(PYTHON=sys.executable, **{k: str(v) for k, v in extra.items()})
    return env


def start(workers: int, log_dir: Path, *args: str, **env) -> subprocess.Popen:
    """scripts/run_distribute_train_cpu.sh in its own session (so a stuck job can be killed whole)."""
    return subprocess.Popen(
        ["bash", "scripts/run_distribute_train_cpu.sh", str(workers), *NARROW, *args],
        cwd=ROOT,
        env=launch_env(LOG_DIR=log_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def rank_logs(log_dir: Path) -> dict[int, tuple[int, str]]:
    """{rank: (pid, log text)} from train.py's 'data parallel: rank R of N, ..., pid P' line."""
    logs = {}
    for log in log_dir.glob("worker_*.log"):
        text = log.read_text(errors="replace")
        match = re.search(r"data parallel: rank (\d+) of \d+, local rank \d+, pid (\d+)", text)
        if match:
            logs[int(match[1])] = (int(match[2]), text)
    return logs


def worker_pids(log_dir: Path) -> dict[int, int]:
    return {rank: pid for rank, (pid, _) in rank_logs(log_dir).items()}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def finish(process: subprocess.Popen, *log_dirs: Path, timeout: int = RUN_TIMEOUT) -> tuple[int, str, str]:
    """Wait for a launch; on timeout stop msrun (SIGINT stops its workers), its group, and any worker left."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
            time.sleep(3)
            os.killpg(process.pid, signal.SIGKILL)
        for log_dir in log_dirs:
            for pid in worker_pids(log_dir).values():
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"launch did not finish within {timeout} s: {err[-2000:]}")
    return process.returncode, out, err


def run(workers: int, log_dir: Path, *args: str, **env) -> tuple[str, str]:
    code, out, err = finish(start(workers, log_dir, *args, **env), log_dir)
    assert code == 0, (out[-3000:], err[-3000:])
    return out, err
