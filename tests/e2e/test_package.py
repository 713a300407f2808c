"""`pip install .` for real: the package installed into a fresh virtual environment works outside the checkout.

The project is built and installed with `pip install --no-deps --no-build-isolation` from a copy of the
checkout (so no build/ or egg-info lands in the tree) into a venv made here without system site packages.
Its dependencies (MindSpore alone is 800 MB) are not installed again: a .pth file puts this environment's
site-packages on the new venv's path. That holds only third-party packages (the project is never installed
here), so `fcn4`, `src` and the console scripts can only come from what pip installed, and the commands run
from a folder outside the checkout with no PYTHONPATH.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint, write_tags, write_tone
from tests.helpers.processes import ROOT

SCRIPTS = ("fcn4-preprocess", "fcn4-train", "fcn4-eval", "fcn4-export", "fcn4-postprocess", "fcn4-tag", "fcn4-serve")
NOT_SHIPPED = (".git", ".venv", "venv", "tests", "*_cache", "__pycache__", "build", "*.egg-info", "demo_run", "data")


def _run(command: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv that holds the project as pip installed it."""
    work = tmp_path_factory.mktemp("package")
    source = work / "checkout"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], work)
    assert made.returncode == 0, made.stderr[-2000:]
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site.stdout.strip()) / "dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    pip = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "."]
    done = _run(pip, source)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def test_the_api_and_src_import_from_the_installed_package(installed, tmp_path):
    code = "import fcn4, src.api; print(fcn4.__file__); print(src.api.__file__); print(fcn4.load_model.__doc__[:20])"
    out = _run([str(installed / "python"), "-c", code], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    venv = str(installed.parent)
    assert lines[0].startswith(venv) and lines[1].startswith(venv), lines
    assert not any(line.startswith(str(ROOT) + os.sep) for line in lines[:2]), lines


def test_the_installed_package_ships_the_serving_page(installed, tmp_path):
    code = "from src.serving.app import STATIC; print(STATIC); print(sorted(p.name for p in STATIC.iterdir()))"
    out = _run([str(installed / "python"), "-c", code], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    folder, names = out.stdout.splitlines()
    assert folder.startswith(str(installed.parent)), folder
    assert names == str(["app.js", "index.html", "style.css"]), names


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_console_script_runs_outside_the_checkout(installed, tmp_path, script):
    out = _run([str(installed / script), "--help"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--mode" in out.stdout and "FCN-4" in out.stdout


def test_the_installed_fcn4_tag_tags_a_file_in_pynative_mode(installed, tmp_path, mindspore_cpu):
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, 5, seed=2), tmp_path / "run")
    write_tags(tmp_path / "run" / "tags.txt", 5)
    song = write_tone(tmp_path / "song.wav", 12.0, 22050)
    out = _run(
        [str(installed / "fcn4-tag"), "--model", str(ckpt), str(song), "--top_k", "2", "--mode", "pynative"], tmp_path
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "song.wav" in out.stdout and "tag " in out.stdout
