"""Data-parallel training as real processes on CPU: msrun workers (MCCL) of the narrow FCN-4,
launched through scripts/run_distribute_train_cpu.sh: equivalence with one process, two "hosts"
on loopback, a dying rank, and resume. Plus the launcher-facing helpers, without MindSpore."""

import json
import os
import re
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from src.cluster import distributed, replica_checks
from src.cluster.distributed import World
from src.core.errors import UserError
from src.model import checkpoint
from src.musictagger import ModelParams, MusicTaggerCNN
from tests.helpers.data_parallel import checkpoint_weights, one_process_and_two_ranks
from tests.helpers.datasets import make_corpus
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.msrun_jobs import (
    LAUNCH_VARS,
    NARROW,
    RUN_TIMEOUT,
    alive,
    finish,
    free_port,
    rank_logs,
    run,
    start,
    worker_pids,
)
from tests.helpers.processes import run_script

# ---------- launcher-facing helpers (no MindSpore) ----------


def _clear_launch_env(monkeypatch):
    for name in LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)


def test_launcher_world_reads_msrun_rank_table_and_mpirun_variables(monkeypatch):
    _clear_launch_env(monkeypatch)
    assert distributed.launcher_world() == World()
    assert distributed.resolve_mode("auto") == "standalone"
    monkeypatch.setenv("MS_ROLE", "MS_WORKER")
    monkeypatch.setenv("RANK_SIZE", "4")
    monkeypatch.setenv("RANK_ID", "3")
    monkeypatch.setenv("DEVICE_ID", "1")
    assert distributed.launcher_world() == World(rank=3, size=4, local_rank=1)
    assert distributed.resolve_mode("auto") == "data_parallel"
    _clear_launch_env(monkeypatch)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "8")
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "5")
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1")
    assert distributed.launcher_world() == World(rank=5, size=8, local_rank=1)


def test_parallel_mode_must_match_the_launch(monkeypatch):
    _clear_launch_env(monkeypatch)
    with pytest.raises(UserError, match="parallel_mode=data_parallel, but no launcher"):
        distributed.resolve_mode("data_parallel")
    monkeypatch.setenv("RANK_SIZE", "2")
    with pytest.raises(UserError, match="parallel_mode=standalone, but the launcher started 2 processes"):
        distributed.resolve_mode("standalone")


def test_one_copier_per_host_the_others_wait_and_share_its_outcome(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    copies = []
    copier, waiter = World(rank=0, size=2, local_rank=0), World(rank=1, size=2, local_rank=1)
    distributed.once_per_host(copier, lambda: copies.append("data"), "copying", timeout_s=5)
    distributed.once_per_host(waiter, lambda: copies.append("again"), "copying", timeout_s=5)
    assert copies == ["data"]

    def fail():
        raise UserError("data_url=s3://x: bucket does not exist")

    with pytest.raises(UserError, match="bucket does not exist"):
        distributed.once_per_host(copier, fail, "copying", timeout_s=5)
    with pytest.raises(UserError, match="local rank 0 failed copying: data_url=s3://x: bucket does not exist"):
        distributed.once_per_host(waiter, fail, "copying", timeout_s=5)

    for marker in (tmp_path / "fcn4-sync").iterdir():
        marker.unlink()
    began = time.monotonic()
    with pytest.raises(UserError, match=r"local rank 1: waited 1 s for local rank 0 to finish copying"):
        distributed.once_per_host(waiter, lambda: None, "copying", timeout_s=1)
    assert time.monotonic() - began < 10


def test_standalone_train_refuses_a_half_configured_launch(tmp_path):
    """RANK_SIZE>1 without a launcher: one-line error from init(), not a hang or a traceback."""
    env = {"RANK_SIZE": "2", "RANK_ID": "0", "DEVICE_ID": "0"}
    result = run_script(
        "train.py", "--mr_path", str(tmp_path), "--checkpoint_path", str(tmp_path / "c"), *NARROW, env=env, timeout=120
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("error: could not join the distributed job")


# ---------- real msrun jobs ----------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("dist"), num_clips=24)


def _epoch_records(log_dir: Path) -> dict[int, list[dict]]:
    """Per rank, its 'epoch N: key=value, ...' log lines as dicts of strings."""
    records = {}
    for rank, (_, text) in rank_logs(log_dir).items():
        epochs = [line.split(": ", 1)[1] for line in text.splitlines() if " INFO epoch " in line]
        records[rank] = [dict(re.findall(r"(\w+)=(\[[^]]*\]|[^,]+)", line)) for line in epochs]
    return records


def _digest(path: Path) -> str:
    network = MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS, num_classes=50))
    checkpoint.load_into(network, path)
    return f"{replica_checks.weights_digest(network):07x}"


def test_two_ranks_do_what_one_process_does_with_the_global_batch(corpus, tmp_path, mindspore_cpu):
    """2 ranks x batch 4 == 1 process x batch 8, to float32 rounding, once BatchNorm sees the same
    statistics (see paired_dataset); each rank reads a disjoint half and the replicas stay equal."""
    name, clips = one_process_and_two_ranks(corpus, tmp_path, 8)
    steps = clips // 8

    records = _epoch_records(tmp_path / "logs")
    assert sorted(records) == [0, 1]
    digests = {records[r][0]["weights_digest"] for r in (0, 1)}
    assert digests == {_digest(tmp_path / "two" / name)}, "both ranks hold the weights rank 0 saved"
    metrics = json.loads((tmp_path / "two" / "metrics.jsonl").read_text())
    assert metrics["clips_per_rank"] == [steps * 4, steps * 4]
    assert metrics["distinct_clips"] == steps * 8 == clips, "every clip once, the two halves disjoint"
    assert metrics["replicas_in_sync"] is True


@pytest.fixture(scope="module")
def two_host_run(corpus, tmp_path_factory):
    """3 epochs on two "hosts" on loopback: two launcher invocations, NODE_RANK 0 and 1, one rank each.

    msrun starts the scheduler where MASTER_ADDR is one of the host's own addresses; host 1 names the
    master 0.0.0.0 (this machine, but none of its interface addresses) as a real second host would
    name host 0 by a remote address, so only host 0 runs the scheduler, on 127.0.0.1.
    """
    root = tmp_path_factory.mktemp("hosts")
    args = _three_epoch_args(corpus, root / "ckpt")
    port = free_port()
    hosts = [
        start(
            1,
            root / f"host{n}",
            *args,
            NODE_NUM=2,
            NODE_RANK=n,
            MASTER_PORT=port,
            MASTER_ADDR=("127.0.0.1", "0.0.0.0")[n],
        )
        for n in (0, 1)
    ]
    results = [finish(host, root / f"host{n}") for n, host in enumerate(hosts)]
    for code, out, err in results:
        assert code == 0, (out[-2000:], err[-2000:])
    return root


def test_two_hosts_on_loopback_train_as_one_job(two_host_run):
    assert worker_pids(two_host_run / "host0").keys() == {0}
    assert worker_pids(two_host_run / "host1").keys() == {1}
    assert (two_host_run / "host0" / "scheduler.log").is_file()
    assert not (two_host_run / "host1" / "scheduler.log").exists()
    ranks = {**_epoch_records(two_host_run / "host0"), **_epoch_records(two_host_run / "host1")}
    for epoch in (0, 1, 2):
        assert ranks[0][epoch]["weights_digest"] == ranks[1][epoch]["weights_digest"]
        assert ranks[0][epoch]["replicas_in_sync"] == "True"
    state = json.loads((two_host_run / "ckpt" / "train_state.json").read_text())
    assert state["epoch"] == 3
    assert _digest(two_host_run / "ckpt" / state["checkpoint"]) == ranks[1][2]["weights_digest"]


def test_a_dying_rank_stops_the_job_with_its_rank_named_and_the_job_resumes(corpus, two_host_run, tmp_path):
    """Kill rank 1 after the first checkpoint: the launcher exits non-zero naming rank 1, leaves no
    worker behind, and --resume (all ranks) ends with the uninterrupted run's weights."""
    args = _three_epoch_args(corpus, tmp_path / "ckpt")
    logs = tmp_path / "logs"
    # MindSpore's own heartbeat timeout: how long the scheduler waits for a rank that went silent.
    job = start(2, logs, *args, MASTER_PORT=free_port(), MS_NODE_TIMEOUT=6)
    state_file = tmp_path / "ckpt" / "train_state.json"
    deadline = time.time() + RUN_TIMEOUT
    while not (state_file.exists() and 1 in worker_pids(logs)) and job.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    victim = worker_pids(logs)[1]
    os.kill(victim, signal.SIGKILL)
    code, _, err = finish(job, logs, timeout=120)
    assert code != 0
    assert f"ERROR: rank 1 (pid {victim}) exited first with code -9" in err, err[-3000:]
    assert json.loads(state_file.read_text())["global_step"] < 6, "the kill must land before the run finished"
    time.sleep(1)
    assert not [pid for pid in worker_pids(logs).values() if alive(pid)], "no worker may outlive the launcher"

    run(2, tmp_path / "logs2", *args, "--resume", "True", MASTER_PORT=free_port())
    assert "resumed from" in (tmp_path / "logs2" / "worker_1.log").read_text()
    final = json.loads(state_file.read_text())["checkpoint"]
    straight, resumed = checkpoint_weights(two_host_run / "ckpt" / final), checkpoint_weights(tmp_path / "ckpt" / final)
    for key in straight:
        np.testing.assert_allclose(resumed[key], straight[key], rtol=1e-5, atol=1e-6, err_msg=key)


def _three_epoch_args(corpus, checkpoint_path):
    """train.py settings of the multi-host and resume runs: 3 epochs, a checkpoint every step, no validation."""
    return ["--mr_path", str(corpus / "mr"), "--checkpoint_path", str(checkpoint_path), "--batch_size", "4",
            "--epoch_size", "3", "--save_step", "1", "--eval_each_epoch", "False"]  # fmt: skip
