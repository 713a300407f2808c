"""MindSpore Lite through the C++ tools of ascend310_infer/: convert an ONNX export, serve the converted model.

MindSpore Lite 2.0 (the one wheel on PyPI, cp37) cannot read a MindIR written by MindSpore 2.10, and
its Python binding cannot be imported by Python 3.11; so the Lite model is MindSpore's ONNX export
converted by `convert_lite` (Lite's converter library, fusion off: weights stored once) and run by the
310 app `main` built against Lite, both built by `bash ascend310_infer/build.sh` after
`bash scripts/get_lite_sdk.sh`. FCN4_LITE_APP_DIR names another folder holding the two.

A model is run by one long-lived `main --serve` process (ascend310_infer/inc/serve_protocol.h): it
builds the model once and scores every batch sent over its stdin, so a run pays the start and the
build once, not per batch. Lite resizes the model's batch when asked, so any batch size runs
unpadded. Nothing here imports MindSpore.
"""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.inference.backends import INPUT_SHAPES, Backend, check_input_shape, embedding_output_size

APP_DIR_VARIABLE = "FCN4_LITE_APP_DIR"
DEFAULT_APP_DIR = Path(__file__).resolve().parents[2] / "ascend310_infer" / "out"
CONVERTER, APP = "convert_lite", "main"
LITE_DEVICE = "CPU"  # the device the app runs Lite models on here (the 2.0 wheel is a CPU build)
GET_TOOLS = "bash scripts/get_lite_sdk.sh && bash ascend310_infer/build.sh"
TOOL_TIMEOUT_S = 600
SERVE_MAGIC, SERVE_OK = b"FCN4SRV1", 0


def lite_tool(name: str) -> Path:
    """The built `convert_lite` or `main`; UserError saying how to build it when it is not there."""
    path = _tool_path(name)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise UserError(
            f"{path} not found: MindSpore Lite models need the ascend310_infer tools built against MindSpore Lite; "
            f"run `{GET_TOOLS}` (or set {APP_DIR_VARIABLE} to the folder holding {CONVERTER} and {APP})"
        )
    return path


def tools_built() -> bool:
    """Whether the converter and the app are built here, i.e. Lite models can be made and run."""
    return all(os.access(_tool_path(name), os.X_OK) for name in (CONVERTER, APP))


def _tool_path(name: str) -> Path:
    return Path(os.environ.get(APP_DIR_VARIABLE) or DEFAULT_APP_DIR) / name


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


class LiteServer:
    """One `main --serve` process holding a built Lite model: `run` sends a batch and reads its outputs.

    Calls are serialised (a lock), so threads may share it. The process ends when `close` is called or
    this process exits (its stdin closes). A batch the model refuses raises UserError and the server goes
    on; a server that died raises UserError with the last line it wrote. `threads` (0: every core this
    process may use) are Lite's CPU threads.
    """

    def __init__(self, model: Path, threads: int = 0) -> None:
        self.model = model
        threads = threads or len(os.sched_getaffinity(0))  # Lite's own default is 2, whatever the machine
        # The app's stderr (Lite's own log lines, and why it stopped); closed by close().
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        command = [
            str(lite_tool(APP)),
            f"--mindir_path={model.resolve()}",
            f"--device_target={LITE_DEVICE}",
            "--serve=true",
            f"--threads={threads}",
        ]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        self._lock = threading.Lock()
        if self._read(len(SERVE_MAGIC), "did not start") != SERVE_MAGIC:
            raise self._died("did not start")
        self.input_shape = self._read_shape()

    def run(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Every output of the model on one float32 batch, in output order."""
        inputs = np.ascontiguousarray(inputs, np.float32)
        header = struct.pack(f"<I{inputs.ndim}qQ", inputs.ndim, *inputs.shape, inputs.nbytes)
        with self._lock:
            try:
                self._process.stdin.write(header)
                self._process.stdin.write(memoryview(inputs).cast("B"))
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError):
                raise self._died("stopped") from None
            (status,) = struct.unpack("<I", self._read(4))
            if status != SERVE_OK:
                (size,) = struct.unpack("<I", self._read(4))
                raise UserError(f"{self.model}: {self._read(size).decode(errors='replace')}")
            (count,) = struct.unpack("<I", self._read(4))
            outputs = []
            for _ in range(count):
                shape = self._read_shape()
                (size,) = struct.unpack("<Q", self._read(8))
                outputs.append(np.frombuffer(self._read(size), np.float32).reshape(shape))
            return outputs

    def close(self) -> None:
        """End the app (end of input) and wait for it."""
        if self._process.poll() is None:
            try:
                self._process.stdin.close()
                self._process.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
        self._log.close()

    def _read(self, size: int, failure: str = "stopped") -> bytes:
        data = self._process.stdout.read(size)
        if len(data) != size:
            raise self._died(failure)
        return data

    def _read_shape(self) -> list[int]:
        (rank,) = struct.unpack("<I", self._read(4))
        return list(struct.unpack(f"<{rank}q", self._read(8 * rank)))

    def _died(self, what: str) -> UserError:
        code = self._process.wait()
        self._log.seek(0)
        lines = [line for line in self._log.read().decode(errors="replace").splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines or [f"exit code {code}"]
        return UserError(f"the MindSpore Lite app serving {self.model} {what}: {errors[-1]}")


class LiteAppBackend(Backend):
    """A MindSpore Lite model run by one long-lived app process on this host's CPU. Lite resizes the batch,
    so it takes any batch (batch_size None) unless the model refuses another batch than its own; the
    converter records no output shapes, so they come from a first run on one zero input."""

    kind = "MindSpore Lite"
    needs_mindspore = False

    def __init__(self, path: Path, threads: int = 0) -> None:
        if not path.is_file():
            raise UserError(f"MindSpore Lite model {path} does not exist")
        self.server = LiteServer(path, threads)
        try:
            batch, input_kind = check_input_shape(path, self.server.input_shape)
            outputs, batch = self._probe(batch, INPUT_SHAPES[input_kind])
        except Exception:
            self.server.close()
            raise
        shapes = [list(output.shape) for output in outputs]
        super().__init__(path, batch, shapes[0][1], input_kind, embedding_output_size(path, shapes))

    def _probe(self, batch: int | None, input_shape: tuple[int, ...]) -> tuple[list[np.ndarray], int | None]:
        """(the outputs of one zero input, the fixed batch or None): batch None when the model takes a single
        input although it was converted for another batch."""
        try:
            return self.server.run(np.zeros((1, *input_shape), np.float32)), None
        except UserError:
            if batch in (None, 1):
                raise
            return self.server.run(np.zeros((batch, *input_shape), np.float32)), batch

    def run(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        outputs = [output.reshape(len(inputs), -1) for output in self.server.run(inputs)]
        return outputs[0], (outputs[1] if self.embedding_size else None)

    def close(self) -> None:
        self.server.close()
