"""The model-zoo launch scripts in scripts/: argument checks with usage, the rank-table reader, and
the standalone / eval / rank-table scripts run for real on CPU (config overrides come last and win).
run_distribute_train_cpu.sh is exercised by tests/e2e/test_distributed.py and tests/e2e/test_object_store.py."""

import json
import re
import subprocess

import pytest

from src.cluster.rank_table import host_devices, main
from src.core.errors import UserError
from tests.helpers.datasets import make_corpus
from tests.helpers.msrun_jobs import NARROW, launch_env
from tests.helpers.processes import ROOT

SCRIPTS = ROOT / "scripts"


def _script(name: str, *args: str, cwd=ROOT, timeout: int = 300, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        cwd=cwd,
        env=launch_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("script", "args", "env", "message"),
    [
        ("run_distribute_train_cpu.sh", [], {}, "expected WORKERS_PER_HOST"),
        ("run_distribute_train_cpu.sh", ["0"], {}, "WORKERS_PER_HOST must be a positive integer, got '0'"),
        (
            "run_distribute_train_cpu.sh",
            ["2"],
            {"NODE_NUM": "2", "NODE_RANK": "2"},
            "NODE_RANK=2 must be below NODE_NUM=2",
        ),
        ("run_distribute_train_cpu.sh", ["2"], {"MASTER_PORT": "http"}, "MASTER_PORT must be a non-negative integer"),
        ("run_train_gpu.sh", ["2"], {}, "expected DEVICE_NUM and VISIBLE_DEVICES"),
        ("run_train_gpu.sh", ["2", "0"], {}, "DEVICE_NUM=2 but VISIBLE_DEVICES lists 1 ids"),
        ("run_train_gpu.sh", ["2", "0;1"], {}, "VISIBLE_DEVICES must look like 0,1,2,3, got '0;1'"),
        ("run_train_gpu.sh", ["2", "0,1"], {"LAUNCHER": "torchrun"}, "LAUNCHER must be msrun or mpirun"),
        ("run_standalone_train.sh", [], {}, "expected DEVICE_ID"),
        ("run_standalone_train.sh", ["first"], {}, "DEVICE_ID must be a non-negative integer, got 'first'"),
        ("run_distribute_train.sh", [], {}, "expected RANK_TABLE_FILE"),
        ("run_distribute_train.sh", ["/no/rank_table.json"], {}, "RANK_TABLE_FILE '/no/rank_table.json' is not a file"),
        ("run_eval.sh", [], {}, "expected DEVICE_ID"),
        ("run_eval.sh", ["0", "/no/model.ckpt"], {}, "CKPT_FILE '/no/model.ckpt' is not a file"),
        ("run_eval_gpu.sh", ["-1"], {}, "DEVICE_ID must be a non-negative integer, got '-1'"),
    ],
)
def test_a_wrong_argument_prints_the_error_and_the_usage(script, args, env, message):
    result = _script(script, *args, **env)
    assert result.returncode == 1, result.stderr
    assert f"ERROR: {message}" in result.stderr
    assert f"Usage: bash {SCRIPTS / script}" in result.stderr


def _rank_table(path, servers: dict[str, list[int]]) -> str:
    """hccl_tools-style table: servers {address: [device ids]}, ranks numbered in order."""
    rank = 0
    server_list = []
    for address, device_ids in servers.items():
        devices = []
        for device_id in device_ids:
            devices.append({"device_id": str(device_id), "device_ip": f"192.98.92.{rank}", "rank_id": str(rank)})
            rank += 1
        server_list.append({"server_id": address, "device": devices, "host_nic_ip": "reserve"})
    path.write_text(
        json.dumps(
            {"version": "1.0", "server_count": str(len(servers)), "server_list": server_list, "status": "completed"}
        )
    )
    return str(path)


def test_the_rank_table_gives_this_hosts_devices_and_ranks(tmp_path, capsys):
    table = _rank_table(tmp_path / "two_hosts.json", {"10.0.0.1": [0, 1], "10.0.0.2": [0, 1]})
    assert host_devices(table, ["172.17.0.1", "10.0.0.2"]) == (4, [(0, 2), (1, 3)])
    single = _rank_table(tmp_path / "one_host.json", {"10.0.0.1": [0, 1, 2, 3, 4, 5, 6, 7]})
    assert host_devices(single, []) == (8, [(d, d) for d in range(8)])
    assert main([table, "10.0.0.1"]) == 0
    assert capsys.readouterr().out == "RANK_SIZE 4\n0 0\n1 1\n"
    with pytest.raises(UserError, match=r"no server_id among this host's addresses \['10.9.9.9'\]"):
        host_devices(table, ["10.9.9.9"])
    (tmp_path / "bad.json").write_text('{"server_list": [{"device": []}]}')
    with pytest.raises(UserError, match="not a rank table JSON"):
        host_devices(tmp_path / "bad.json", [])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("scripts"), num_clips=16)


def test_standalone_train_then_eval_scripts_on_cpu(corpus, tmp_path):
    """The Ascend 1p scripts with --device_target CPU: logs in the working folder, checkpoint, eval."""
    ckpt = tmp_path / "ckpt"
    data = ["--mr_path", str(corpus / "mr"), "--checkpoint_path", str(ckpt)]
    result = _script(
        "run_standalone_train.sh", "0", *data, *NARROW, "--batch_size", "4", "--epoch_size", "1", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done: 1 epochs" in (tmp_path / "train_standalone" / "log").read_text()
    assert (ckpt / "MusicTagger-best.ckpt").is_file()

    result = _script(
        "run_eval.sh", "0", str(ckpt / "MusicTagger-best.ckpt"), *data, "--device_target", "CPU", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ROC-AUC" in (tmp_path / "eval" / "log").read_text()
    assert json.loads((ckpt / "eval_val.json").read_text())["split"] == "val"


def test_rank_table_script_starts_one_rank_per_device_and_names_the_one_that_fails(corpus, tmp_path):
    """No Ascend here: the ranks start (DEVICE_ID/RANK_ID/RANK_SIZE from the table, one folder and log
    each) and fail to join HCCL; the script stops and names the first failing rank."""
    table = _rank_table(tmp_path / "rank_table.json", {"10.0.0.1": [0, 1]})
    result = _script("run_distribute_train.sh", table, "--mr_path", str(corpus / "mr"), *NARROW, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "rank 0 on device 0" in result.stdout and "rank 1 on device 1" in result.stdout
    failed = re.search(r"ERROR: rank (\d) exited with code 2; stopping the other ranks", result.stderr)
    assert failed, result.stderr[-3000:]
    assert {p.parent.name for p in tmp_path.glob("train_parallel*/log")} == {"train_parallel0", "train_parallel1"}
    log = (tmp_path / f"train_parallel{failed[1]}" / "log").read_text()
    assert "error: could not join the distributed job" in log


def test_demo_never_removes_a_demo_run_folder_it_did_not_make(tmp_path):
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "run_demo.sh").write_bytes((SCRIPTS / "run_demo.sh").read_bytes())
    (repo / "demo_run").mkdir()
    (repo / "demo_run" / "keep.txt").write_text("mine")
    result = subprocess.run(["bash", str(repo / "scripts" / "run_demo.sh")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "./demo_run exists and was not made by this demo" in result.stderr
    assert (repo / "demo_run" / "keep.txt").read_text() == "mine"
