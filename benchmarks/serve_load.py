"""Load on the tagging service: N requests from C concurrent clients against a real serve.py process;
p50 / p95 / max latency, requests/s, errors, and how many requests and windows each model call took.

    python benchmarks/serve_load.py                                          # a narrow FCN-4, exported to ONNX here
    python benchmarks/serve_load.py --model fcn-4.onnx --requests 200 --concurrency 16
    python benchmarks/serve_load.py --full                                   # the full-size FCN-4 (random weights)

The clips are demo-corpus mp3s (src.demo_data: 29.1 s, 16 kHz, one window each), posted as raw bytes
(Content-Type audio/mpeg) over one keep-alive connection per client; every client posts its share in
turn. The server runs with --port 0 on 127.0.0.1; its batching counters come from GET /healthz.
Without --model, a narrow or (--full) full-size FCN-4 with random weights is exported to ONNX by
src.inference.exporting in a scratch folder, which needs MindSpore; the server itself runs ONNX Runtime.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SERVING = re.compile(r"serving on (http://\S+?)/ ")
NARROW = (1, 4, 8, 8, 16)  # the FCN-4 topology at the width the tests use


class ServeProcess:
    """`PYTHON serve.py --port 0 ARGS` from the repository root (PYTHON: this one, unless another venv's is
    given), read until it serves; `base` is its URL."""

    def __init__(self, args: list[str], timeout_s: float = 180.0, python: str = sys.executable) -> None:
        command = [python, "serve.py", "--host", "127.0.0.1", "--port", "0", *args]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.base = ""
        self._started = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._started.wait(timeout_s) or not self.base:
            self.process.kill()
            raise RuntimeError("serve.py did not start:\n" + self.log[-3000:])

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            found = SERVING.search(line)
            if found:
                self.base = found.group(1)
                self._started.set()
        self._started.set()  # it ended before serving

    def stop(self) -> int:
        """SIGTERM (a graceful stop), then its exit code; killed after 60 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def get_json(base: str, path: str) -> dict:
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.request("GET", path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def post_clips(base: str, bodies: list[bytes], requests: int, concurrency: int, path: str = "/v1/tag") -> dict:
    """POST `requests` bodies (round-robin over `bodies`) from `concurrency` clients; latency figures,
    requests/s over the whole run, and the errors (non-200 replies and failed connections, first few kept)."""
    url = urlsplit(base)
    shares = [list(range(i, requests, concurrency)) for i in range(concurrency)]
    latencies: list[float] = []
    errors: list[str] = []

    def client(indices: list[int]) -> None:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
        try:
            for index in indices:
                began = time.perf_counter()
                try:
                    connection.request("POST", path, bodies[index % len(bodies)], {"Content-Type": "audio/mpeg"})
                    reply = connection.getresponse()
                    body = reply.read()
                except (OSError, http.client.HTTPException) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    connection.close()
                    continue
                latencies.append(time.perf_counter() - began)
                if reply.status != 200:
                    errors.append(f"{reply.status}: {body[:200]!r}")
        finally:
            connection.close()

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, shares))
    elapsed = time.perf_counter() - began
    ms = np.array(latencies) * 1000 if latencies else np.zeros(1)
    return {
        "requests": requests,
        "concurrency": concurrency,
        "errors": len(errors),
        "first_errors": errors[:5],
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "max_ms": round(float(ms.max()), 1),
        "requests_per_s": round(requests / elapsed, 2),
        "seconds": round(elapsed, 2),
    }


def demo_clips(folder: Path, count: int) -> list[bytes]:
    """The bytes of `count` demo-corpus mp3 clips (29.1 s, 16 kHz)."""
    from src.demo_data import generate_corpus

    generate_corpus(folder / "corpus", num_clips=count, seed=3)
    return [path.read_bytes() for path in sorted((folder / "corpus").rglob("*.mp3"))[:count]]


def export_random_model(folder: Path, full: bool, batch: int) -> Path:
    """An FCN-4 with random weights (narrow, or full size), exported to ONNX with a fixed batch, and its tags."""
    from src.core.runtime import setup_runtime
    from src.core.tag_list import REFERENCE_TAGS, write_tag_list
    from src.inference.exporting import export_model
    from src.musictagger import ModelParams, build_network

    setup_runtime("CPU", mode="graph")
    params = ModelParams() if full else ModelParams(channels=NARROW)
    network = build_network(params)
    network.set_train(False)
    path = Path(export_model(network, str(folder / "fcn4"), "ONNX", batch).path)
    write_tag_list(folder / "fcn4.tags.txt", list(REFERENCE_TAGS)[: params.num_classes])
    return path


def benchmark(model: Path, bodies: list[bytes], args: argparse.Namespace) -> dict:
    """One server, a warm-up request per client, then the timed run; the server's counters around it."""
    queue = str(max(32, 2 * args.concurrency))
    batching = ["--batch_size", str(args.batch_size), "--max_wait_ms", str(args.max_wait_ms), "--max_queue", queue]
    server = ServeProcess(["--model", str(model), *batching])
    try:
        post_clips(server.base, bodies, args.concurrency, args.concurrency)
        before = get_json(server.base, "/healthz")
        result = post_clips(server.base, bodies, args.requests, args.concurrency)
        after = get_json(server.base, "/healthz")
        described = get_json(server.base, "/v1/model")["description"]
    finally:
        code = server.stop()
    calls = after["model_calls"] - before["model_calls"]
    return {
        "model": described,
        **result,
        "model_calls": calls,
        "requests_per_call": round((after["requests_scored"] - before["requests_scored"]) / max(calls, 1), 2),
        "windows_per_call": round((after["windows_scored"] - before["windows_scored"]) / max(calls, 1), 2),
        "server_exit_code": code,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="load test of serve.py", allow_abbrev=False)
    parser.add_argument("--model", default="", help="model to serve (default: a random FCN-4 exported to ONNX)")
    parser.add_argument("--full", action="store_true", help="without --model: the full-size FCN-4, not narrow")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--clips", type=int, default=8, help="distinct demo clips posted round-robin")
    parser.add_argument("--batch_size", type=int, default=8, help="serve.py --batch_size (and the export's batch)")
    parser.add_argument("--max_wait_ms", type=float, default=10.0, help="serve.py --max_wait_ms")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="serve_load_") as scratch:
        folder = Path(scratch)
        model = Path(args.model) if args.model else export_random_model(folder, args.full, args.batch_size)
        report = benchmark(model, demo_clips(folder, args.clips), args)
    print(json.dumps(report, indent=2))
    print(
        f"{report['requests']} requests from {report['concurrency']} clients: p50 {report['p50_ms']} ms, "
        f"p95 {report['p95_ms']} ms, {report['requests_per_s']} requests/s, {report['errors']} errors; "
        f"{report['requests_per_call']} requests ({report['windows_per_call']} windows) per model call"
    )
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
