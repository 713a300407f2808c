"""The MindSpore Lite tools built for real: scripts/get_lite_sdk.sh (the mindspore-lite 2.0 wheel and gflags,
cached between runs) and ascend310_infer/build.sh against it, in a copy of the project so that the build stays
out of the work tree."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.processes import ROOT

LINKED = ("preprocess.py", "postprocess.py", "default_config.yaml", "src")
TIMEOUT = 600


def build_lite_project(project: Path, cache: str | None) -> tuple[Path, dict]:
    """Build the app and converter in `project` (entry points and src/ linked); (project, env) where env runs
    them: FCN4_LITE_APP_DIR at the tools, FCN4_CACHE `cache`, where the SDK is fetched (None: the default; a
    test that compiles checkpoints with this env gives it a cache folder of its own)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MINDSPORE_PATH", "LITE_HOME", "FCN4_CACHE")}
    env |= {"PYTHON": sys.executable, "ASCEND_HOME": "/nonexistent-ascend-home"}
    if cache is not None:
        env["FCN4_CACHE"] = cache
    fetched = _run(["bash", ROOT / "scripts" / "get_lite_sdk.sh"], env)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    shutil.copytree(
        ROOT / "ascend310_infer", project / "ascend310_infer", ignore=shutil.ignore_patterns("build", "out")
    )
    shutil.copytree(ROOT / "scripts", project / "scripts")
    for name in LINKED:
        (project / name).symlink_to(ROOT / name)
    built = _run(["bash", project / "ascend310_infer" / "build.sh"], env)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "build.sh: MindSpore Lite at" in built.stdout
    out = project / "ascend310_infer" / "out"
    assert (out / "main").is_file() and (out / "convert_lite").is_file()
    return project, {**env, "FCN4_LITE_APP_DIR": str(out)}


def _run(command: list, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in command], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
