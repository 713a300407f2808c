"""MindSpore Lite through the C++ tools of ascend310_infer/: convert an ONNX export, run the converted model.

MindSpore Lite 2.0 (the one wheel on PyPI, cp37) cannot read a MindIR written by MindSpore 2.10, and
its Python binding cannot be imported by Python 3.11; so the Lite model is MindSpore's ONNX export
converted by `convert_lite` (Lite's converter library, fusion off: weights stored once) and run by the
310 app `main` built against Lite, both built by `bash ascend310_infer/build.sh` after
`bash scripts/get_lite_sdk.sh`. FCN4_LITE_APP_DIR names another folder holding the two.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.inference import bin_protocol
from src.inference.backends import (
    INPUT_SHAPES,
    Backend,
    check_input_shape,
    embedding_output_size,
    mindir_graph,
)

APP_DIR_VARIABLE = "FCN4_LITE_APP_DIR"
DEFAULT_APP_DIR = Path(__file__).resolve().parents[2] / "ascend310_infer" / "out"
CONVERTER, APP = "convert_lite", "main"
LITE_DEVICE = "CPU"  # the device the app runs Lite models on here (the 2.0 wheel is a CPU build)
GET_TOOLS = "bash scripts/get_lite_sdk.sh && bash ascend310_infer/build.sh"
TOOL_TIMEOUT_S = 600


def lite_tool(name: str) -> Path:
    """The built `convert_lite` or `main`; UserError saying how to build it when it is not there."""
    folder = Path(os.environ.get(APP_DIR_VARIABLE) or DEFAULT_APP_DIR)
    path = folder / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise UserError(
            f"{path} not found: MindSpore Lite models need the ascend310_infer tools built against MindSpore Lite; "
            f"run `{GET_TOOLS}` (or set {APP_DIR_VARIABLE} to the folder holding {CONVERTER} and {APP})"
        )
    return path


def _run_tool(command: list[str], cwd: Path | None, what: str) -> None:
    """Run a tool; UserError with the last line it wrote when it fails."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or [f"exit code {result.returncode}"]
        raise UserError(f"{what} failed: {lines[-1]}")


def convert_onnx(onnx_path: Path, target: Path) -> None:
    """Convert `onnx_path` to the Lite model `target` (a MindIR that Lite 2.0 builds from), then delete the ONNX."""
    prefix = target.with_name(target.name + ".conv")
    written = prefix.with_name(prefix.name + ".mindir")  # the converter adds the suffix
    try:
        _run_tool([str(lite_tool(CONVERTER)), str(onnx_path), str(prefix)], None, f"converting {onnx_path}")
        written.chmod(0o644)  # the converter writes it read-only
        os.replace(written, target)
    finally:
        written.unlink(missing_ok=True)
        onnx_path.unlink(missing_ok=True)


class LiteAppBackend(Backend):
    """A MindSpore Lite model run by the 310 app on this host's CPU, one process per batch. The input shape
    is read with MindSpore's MindIR schema (the Lite model is a MindIR); the converter records no output
    shapes, so they come from a first run on zeros."""

    kind = "MindSpore Lite"

    def __init__(self, path: Path) -> None:
        self.app = lite_tool(APP)
        if not path.is_file():
            raise UserError(f"MindSpore Lite model {path} does not exist")
        self.path = path
        batch, input_kind = check_input_shape(path, list(mindir_graph(path).input[0].tensor[0].dims))
        rows = batch or 1
        outputs = self._run_app(np.zeros((rows, *INPUT_SHAPES[input_kind]), np.float32))
        shapes = [[rows, output.size // rows] for output in outputs]
        super().__init__(path, batch, shapes[0][1], input_kind, embedding_output_size(path, shapes))

    def run(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        outputs = [output.reshape(len(inputs), -1) for output in self._run_app(inputs)]
        return outputs[0], (outputs[1] if self.embedding_size else None)

    def _run_app(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Every output of the app on one batch, flat float32, in output order."""
        with tempfile.TemporaryDirectory(prefix="fcn4-lite-") as scratch:
            work = Path(scratch)
            name = bin_protocol.input_name(len(inputs), 0)
            (work / bin_protocol.DATA_DIR).mkdir()
            np.ascontiguousarray(inputs, np.float32).tofile(work / bin_protocol.DATA_DIR / name)
            command = [
                str(self.app),
                f"--mindir_path={self.path.resolve()}",
                f"--input0_path={bin_protocol.DATA_DIR}",
                f"--device_target={LITE_DEVICE}",
            ]
            _run_tool(command, work, f"running {self.path} with {self.app}")
            outputs = []
            while (result := work / bin_protocol.RESULT_DIR / bin_protocol.output_name(name, len(outputs))).is_file():
                outputs.append(np.fromfile(result, np.float32))
        return outputs
