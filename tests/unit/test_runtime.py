"""Runtime setup: device resolution and the oneDNN cap that keeps CPU convs on the fast path.

oneDNN prints the ISA it dispatches to with ONEDNN_VERBOSE=1, so these tests read the effect
from oneDNN itself in a fresh process, not from our own variable.
"""

import logging
import os
import subprocess
import sys

import pytest

from src.core.errors import UserError
from src.core.runtime import ONEDNN_ISA_VAR, apply_onednn_fix, available_devices, filter_mindspore_log, resolve_device
from tests.helpers.processes import ROOT

SETUP_THEN_CONV = """
import sys
import numpy as np
import mindspore as ms
from src.core import runtime
if len(sys.argv) > 1:
    runtime.ONEDNN_SAFE_ISA = sys.argv[1]
runtime.setup_runtime("CPU")
conv = ms.nn.Conv2d(1, 4, 3, has_bias=False)
print(conv(ms.Tensor(np.ones((1, 1, 16, 16), np.float32))).shape)
"""


def _onednn_isa(args, user_isa=None):
    env = {k: v for k, v in os.environ.items() if k != ONEDNN_ISA_VAR}
    env["ONEDNN_VERBOSE"] = "1"
    if user_isa:
        env[ONEDNN_ISA_VAR] = user_isa
    out = subprocess.run(
        [sys.executable, "-c", SETUP_THEN_CONV, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if ",info,cpu,isa:" in line]
    assert lines, out.stdout[-2000:]
    return lines[0].split("isa:", 1)[1]


@pytest.mark.e2e
def test_setup_runtime_caps_onednn_before_the_first_op():
    """With the cap lowered to SSE4.1, oneDNN must report SSE4.1: the variable is set in time."""
    assert _onednn_isa(["SSE41"]) == "Intel SSE4.1"


@pytest.mark.e2e
def test_default_cap_keeps_onednn_off_avx512():
    isa = _onednn_isa([])
    assert "AVX-512" not in isa and "AMX" not in isa, isa
    assert "AVX2" in isa or "SSE" in isa or "AVX" in isa


@pytest.mark.e2e
def test_user_choice_wins_over_the_cap():
    assert _onednn_isa([], user_isa="SSE41") == "Intel SSE4.1"


def test_apply_onednn_fix_respects_an_existing_value(monkeypatch):
    monkeypatch.setenv(ONEDNN_ISA_VAR, "AVX")
    assert apply_onednn_fix() == "AVX"
    monkeypatch.delenv(ONEDNN_ISA_VAR)
    assert apply_onednn_fix() == "AVX2"


def test_auto_resolves_to_an_available_device_and_cpu_is_always_there():
    devices = available_devices()
    assert devices[-1] == "CPU"
    assert resolve_device("auto") == devices[0]
    assert resolve_device("CPU") == "CPU"


@pytest.mark.skipif("GPU" in available_devices(), reason="this host has a usable GPU")
def test_unusable_device_is_a_user_error():
    with pytest.raises(UserError, match="device_target='GPU' is not usable"):
        resolve_device("GPU")


def test_mindspore_log_loses_only_the_adam_deprecation_warning():
    from mindspore import log as ms_log

    filter_mindspore_log()
    logger = ms_log._get_logger()

    def kept(message: str) -> bool:
        return bool(logger.filter(logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, None, None)))

    assert not kept("The 'FusedSparseAdam' is deprecated from MindSpore 2.3")
    assert kept("any other warning")


@pytest.mark.parametrize(
    ("overcommit", "meminfo", "reserved"),
    [
        ("0\n", "MemTotal:       24683772 kB\nMemFree: 1 kB\n", 22),  # 23.5 GiB of memory, less one
        ("1\n", "MemTotal:       1000000 kB\n", 0),  # under 2 GiB: nothing left to reserve
        ("2\n", "MemTotal:       24683772 kB\n", 0),  # strict accounting would refuse the reservation
        ("0\n", "no totals here\n", 0),
    ],
)
def test_the_cpu_pool_reserves_the_machines_memory_unless_the_kernel_refuses(
    tmp_path, monkeypatch, overcommit, meminfo, reserved
):
    from src.core import runtime

    (tmp_path / "overcommit").write_text(overcommit)
    (tmp_path / "meminfo").write_text(meminfo)
    monkeypatch.setattr(runtime, "OVERCOMMIT_SETTING", str(tmp_path / "overcommit"))
    monkeypatch.setattr(runtime, "MEMINFO", str(tmp_path / "meminfo"))
    assert runtime.pool_reserve_gib() == reserved
