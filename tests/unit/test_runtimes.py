"""src/inference/runtimes.py: which runtime scores a model. A checkpoint on a CPU goes to the fastest runtime
installed (Lite, else ONNX Runtime, else MindSpore); an export runs on its own; a runtime asked for that is not
installed, or that cannot run the file, is a one-line error naming what to do."""

from dataclasses import replace
from pathlib import Path

import pytest

from src.core.errors import UserError
from src.inference import runtimes
from src.inference.runtimes import RUNTIMES, fastest_format, open_runtime, runtime_of_file


def _installed(monkeypatch, *names):
    for name, runtime in RUNTIMES.items():
        monkeypatch.setitem(RUNTIMES, name, replace(runtime, installed=lambda on=name in names: on))


@pytest.mark.parametrize(
    ("installed", "runtime", "file_format"),
    [
        (("lite", "onnx", "mindspore"), "lite", "LITE"),
        (("onnx", "mindspore"), "onnx", "ONNX"),
        (("mindspore",), "mindspore", "MINDIR"),
    ],
)
def test_the_fastest_installed_runtime_wins_on_a_cpu(monkeypatch, installed, runtime, file_format):
    _installed(monkeypatch, *installed)
    assert runtimes._candidates("auto", "CPU")[0] == list(installed)
    assert fastest_format() == file_format


def test_a_checkpoint_stays_on_mindspore_on_an_accelerator(monkeypatch):
    _installed(monkeypatch, "lite", "onnx", "mindspore")
    monkeypatch.setattr("src.core.runtime.resolve_device", lambda requested: "GPU")
    assert runtimes._candidates("auto", "auto") == (["mindspore"], "on GPU")


def test_each_file_runs_on_its_own_runtime():
    suffixes = {"m.ckpt": "mindspore", "m.mindir": "mindspore", "m.onnx": "onnx", "m.mslite": "lite"}
    assert {name: runtime_of_file(Path(name)) for name in suffixes} == suffixes


@pytest.mark.parametrize(
    ("model", "backend", "message"),
    [
        ("m.onnx", "lite", "--backend lite: m.onnx runs on ONNX Runtime only; give its checkpoint"),
        ("m.mslite", "mindspore", "--backend mindspore: m.mslite runs on MindSpore Lite only"),
        ("m.ckpt", "fast", "--backend fast: expected one of auto, lite, onnx, mindspore"),
        ("m.pt", "auto", "unknown model type"),
    ],
)
def test_a_runtime_that_cannot_run_the_file_is_refused(model, backend, message):
    with pytest.raises(UserError, match=message):
        open_runtime(model, backend)


def test_a_runtime_that_is_not_installed_says_how_to_get_it(monkeypatch):
    _installed(monkeypatch, "onnx", "mindspore")
    with pytest.raises(UserError, match=r"--backend lite: MindSpore Lite is not installed here; run `bash scripts/get"):
        runtimes._candidates("lite", "CPU")


def test_auto_falls_back_to_the_next_runtime_when_one_cannot_run_the_checkpoint(monkeypatch, caplog):
    """A Lite app that cannot start, a compile outside tolerance: the next runtime runs it, and the log says why."""
    _installed(monkeypatch, "lite", "onnx", "mindspore")

    def open_checkpoint(path, runtime, device_target, mode):
        if runtime.label == "MindSpore Lite":
            raise UserError("the MindSpore Lite app serving x.mslite did not start: ERROR: cannot build")
        return runtime.label

    monkeypatch.setattr(runtimes, "_open_checkpoint", open_checkpoint)
    with caplog.at_level("WARNING", logger="fcn4"):
        loaded, why = open_runtime("m.ckpt", "auto", "CPU")
    assert loaded == "ONNX Runtime" and why.startswith("ONNX Runtime (the fastest exact runtime installed")
    assert "MindSpore Lite cannot run m.ckpt (the MindSpore Lite app serving" in caplog.text
    assert "trying ONNX Runtime" in caplog.text
    with pytest.raises(UserError, match="did not start"):  # named with --backend: no fallback
        open_runtime("m.ckpt", "lite", "CPU")
