"""The tagging-only install for real: a fresh venv from requirements-tag.txt alone (no MindSpore) runs
`tag.py --model FILE.onnx` and tags as the full install does, and serve.py serves the same tags; `--model
zoo`, a checkpoint, says in one line to export it to ONNX where MindSpore is installed.

One venv for the module (pip may use its cache); the ONNX file is exported here with the full install.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from benchmarks.serve_load import ServeProcess
from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint, write_tags, write_tone
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

REQUIREMENTS = ROOT / "requirements-tag.txt"


def _run(command: list, cwd: Path, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        command, cwd=cwd, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def tag_python(tmp_path_factory) -> Path:
    """The python of a fresh venv (no system site packages) holding only requirements-tag.txt's packages."""
    venv = tmp_path_factory.mktemp("tag_only") / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], venv.parent)
    assert made.returncode == 0, made.stderr[-2000:]
    python = venv / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], venv.parent)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory, mindspore_cpu) -> Path:
    """A narrow 5-tag FCN-4 exported to ONNX by export.py (with its tags sidecar)."""
    folder = tmp_path_factory.mktemp("onnx")
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, num_classes=5, seed=8), folder / "run")
    write_tags(folder / "run" / "tags.txt", 5)
    name = folder / "fcn4"
    done = run_script(
        "export.py", "--ckpt_file", str(ckpt), "--file_format", "ONNX", "--file_name", str(name), "--device_target",
        "CPU",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return name.with_suffix(".onnx")


def test_mindspore_is_not_installed_in_the_tagging_only_venv(tag_python, tmp_path):
    result = _run([str(tag_python), "-c", "import mindspore"], tmp_path)
    assert result.returncode != 0 and "No module named 'mindspore'" in result.stderr


def test_tag_py_with_an_onnx_model_tags_as_the_full_install_does(tag_python, onnx_model, tmp_path):
    song = write_tone(tmp_path / "song.wav", 40.0, 22050)  # two windows
    arguments = ["--model", str(onnx_model), str(song), "--top_k", "3", "--format", "json", "--no_progress"]
    alone = _run([str(tag_python), str(ROOT / "tag.py"), *arguments], tmp_path)
    assert alone.returncode == 0, alone.stderr[-3000:]
    full = run_script("tag.py", *arguments)
    assert full.returncode == 0, full.stderr[-3000:]
    report, expected = json.loads(alone.stdout), json.loads(full.stdout)
    assert report["backend"] == "ONNX" and report["tags"] == [f"tag {i}" for i in range(5)]
    assert len(report["tracks"]) == 1 and len(report["tracks"][0]["window_starts_s"]) == 2
    assert report["tracks"] == expected["tracks"]


def test_serve_py_serves_an_onnx_model_in_the_tagging_only_venv(tag_python, onnx_model, tmp_path):
    song = write_tone(tmp_path / "song.wav", 40.0, 22050)
    expected = json.loads(run_script("tag.py", "--model", str(onnx_model), str(song), "--format", "json").stdout)
    server = ServeProcess(["--model", str(onnx_model)], python=str(tag_python))
    try:
        reply = httpx.post(server.base + "/v1/tag", content=song.read_bytes(), timeout=120)
    finally:
        assert server.stop() == 0
    assert reply.status_code == 200, reply.text
    assert reply.json()["taggram"] == expected["tracks"][0]["taggram"]


def test_zoo_in_the_tagging_only_venv_says_to_export_it_first(tag_python, tmp_path):
    song = write_tone(tmp_path / "song.wav", 4.0, 16000)
    nowhere = {"FCN4_ZOO_URL": "http://127.0.0.1:9/never.ckpt", "FCN4_CACHE": str(tmp_path / "cache")}
    result = _run([str(tag_python), str(ROOT / "tag.py"), "--model", "zoo", str(song)], tmp_path, nowhere)
    assert_one_line_error(result, "MindSpore is not installed", "--file_format ONNX", "--model fcn4-zoo.onnx")
    assert not (tmp_path / "cache").exists()
