"""Running the entry points as real processes, the one-line error contract they keep, and what export.py reports."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODE_VARIABLE = "FCN4_TEST_MODE"  # set from `pytest --ms-mode` (tests/conftest.py)
# The commands that take `--mode` (the config entry points, tag.py, the host-side 310 runner).
TAKES_MODE = frozenset(
    {"preprocess.py", "train.py", "eval.py", "export.py", "postprocess.py", "tag.py", "-m src.inference.host_infer"}
)


def run_script(script: str, *args: str, env: dict | None = None, timeout: int = 600):
    """Run an entry point (or `-m module`) as a real process from the repo root; in a `--ms-mode pynative`
    test run, the commands that take it get `--mode pynative` (graph runs pass the arguments unchanged)."""
    if script in TAKES_MODE and os.environ.get(MODE_VARIABLE, "graph") != "graph":
        args = (*args, "--mode", os.environ[MODE_VARIABLE])
    command = [sys.executable, *script.split(), *args] if script.startswith("-m") else [sys.executable, script, *args]
    return subprocess.run(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_error(result, *needles: str) -> str:
    """Exit code 2, no traceback, and a last stderr line `error: ...` containing every needle."""
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), result.stderr[-3000:]
    for needle in needles:
        assert needle in line, line
    return line


def reported_export_difference(stdout: str) -> float:
    """The largest difference export.py reports between the exported model and the checkpoint, relative to
    max(1, the output's largest value), as its tolerance is."""
    match = re.search(r"max \|exported - checkpoint\| on a random batch: (.+) \(tolerance", stdout)
    assert match, stdout
    outputs = re.findall(r"(probabilities|embedding) (\S+?)(?: \(values up to (\S+)\))?(?:,|$)", match[1])
    assert [name for name, *_ in outputs] == ["probabilities", "embedding"], match[1]
    return max(float(diff) / max(1.0, float(scale or 1)) for _, diff, scale in outputs)
