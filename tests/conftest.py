"""Shared fixtures: MindSpore in graph mode on CPU for in-process tests, a tiny network shape,
and helpers that run the entry points as real processes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

NARROW_CHANNELS = (1, 4, 8, 8, 16)


@pytest.fixture(scope="session")
def mindspore_cpu():
    """Graph mode on CPU with the oneDNN cap, as the entry points set it up."""
    import mindspore as ms

    from src.runtime import apply_onednn_fix

    apply_onednn_fix()
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(1)
    return ms


def run_script(script: str, *args: str, env: dict | None = None, timeout: int = 600):
    """Run an entry point (or `-m module`) as a real process from the repo root."""
    command = [sys.executable, *script.split(), *args] if script.startswith("-m") else [sys.executable, script, *args]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(result, *needles: str) -> str:
    """Exit code 2, no traceback, and a last stderr line `error: ...` containing every needle."""
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), result.stderr[-3000:]
    for needle in needles:
        assert needle in line, line
    return line
