"""What is and is not bit-reproducible on CPU: the same run repeats bit for bit; the number of usable cores
changes the last bits; cpu_cores makes a process with more cores compute as one with fewer."""

import os
import subprocess
import sys

import pytest

from tests.helpers.processes import ROOT, assert_one_line_error, run_script

# A few train steps of a small FCN-4 on fixed random data, set up as the entry points do; prints a weight hash.
STEPS = """
import hashlib, sys
import numpy as np
from src.core.runtime import setup_runtime
setup_runtime("CPU", seed=1, cpu_cores=int(sys.argv[1]))
import mindspore as ms
from src.musictagger import ModelParams, build_network
from src.training.train_step import build_train_cell
network = build_network(ModelParams(channels=(1, 16, 32, 64, 128)))
cell = build_train_cell(network, 0.0005, 1024.0)
rng = np.random.default_rng(0)
for _ in range(3):
    x = rng.normal(size=(8, 1, 96, 1366)).astype(np.float32)
    y = (rng.random((8, 50)) > 0.8).astype(np.float32)
    cell(ms.Tensor(x), ms.Tensor(y))
print(hashlib.sha256(b"".join(p.asnumpy().tobytes() for p in network.get_parameters())).hexdigest())
"""


def _weights(cpu_cores: int, affinity: set[int] | None = None) -> str:
    pin = (lambda: os.sched_setaffinity(0, affinity)) if affinity else None
    result = subprocess.run(
        [sys.executable, "-c", STEPS, str(cpu_cores)], cwd=ROOT, capture_output=True, text=True, preexec_fn=pin
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split()[-1]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 usable cores to compare core counts")
def test_core_count_changes_the_bits_and_cpu_cores_pins_them():
    first = min(os.sched_getaffinity(0))
    all_cores, again = _weights(0), _weights(0)
    pinned, one_core_machine = _weights(1), _weights(0, affinity={first})
    assert all_cores == again  # the same run, the same machine: bit for bit
    assert pinned == one_core_machine  # cpu_cores 1 computes as a 1-core machine does
    assert pinned != all_cores  # which is not what 2 cores compute: the last bits depend on the core count


def test_more_cores_than_usable_is_a_one_line_error(tmp_path):
    too_many = str(len(os.sched_getaffinity(0)) + 1)
    result = run_script(
        "train.py", "--cpu_cores", too_many, "--mr_path", str(tmp_path), "--checkpoint_path", str(tmp_path)
    )
    assert_one_line_error(result, f"cpu_cores={too_many}", "this process may use only")
