"""serve.py as a real process on 127.0.0.1 (a free port the OS picks: --port 0; benchmarks/serve_load.py's
ServeProcess), with an HTTP client once it is ready; and the narrow ONNX model the serving tests serve."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

from benchmarks.serve_load import ServeProcess
from src.inference.exporting import export_model
from tests.helpers.models import NARROW_CHANNELS, random_network, write_tags
from tests.helpers.processes import MODE_VARIABLE

READY_TIMEOUT_S = 30.0


def narrow_onnx(folder: Path, network=None, batch: int = 4) -> Path:
    """`network` (default: a narrow 50-tag FCN-4) exported to ONNX with a fixed batch, its tags sidecar beside it
    (MindSpore set up)."""
    network = network or random_network(NARROW_CHANNELS, seed=9)
    path = Path(export_model(network, str(folder / "fcn4"), "ONNX", batch).path)
    write_tags(folder / "fcn4.tags.txt", network.params.num_classes)
    return path


class Server(ServeProcess):
    """serve.py ARGS (with the test run's --ms-mode), started and ready; `client` talks to it."""

    def __init__(self, *args: str) -> None:
        mode = os.environ.get(MODE_VARIABLE, "graph")
        super().__init__([*args, *(["--mode", mode] if mode != "graph" else [])])
        self.client = httpx.Client(base_url=self.base, timeout=120.0)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while self.client.get("/readyz").status_code != 200:
            if time.monotonic() > deadline:
                raise AssertionError("serve.py never became ready:\n" + self.log[-3000:])
            time.sleep(0.1)

    def stop(self) -> int:
        self.client.close()
        return super().stop()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_) -> None:
        self.stop()
