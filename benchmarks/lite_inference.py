"""Full FCN-4 inference on this CPU: the C++ app on MindSpore Lite vs MindSpore Python vs ONNX Runtime.

    bash scripts/get_lite_sdk.sh && bash ascend310_infer/build.sh   # the Lite tools, once
    python benchmarks/lite_inference.py [--batch_sizes 1 8] [--steps 5]

One run: a random full-size checkpoint, exported by export.py for every batch size to MINDIR, ONNX and
LITE, then per batch size, side by side:
  * the 310 app (ascend310_infer/out/main, built against Lite) on the .mslite, fed .bin batches as
    run_infer_310.sh does; its Predict latency (file I/O excluded) over `steps` batches after one
    warm-up batch, from the mean it reports for 1 and for 1 + steps batches;
  * MindSpore Python on the checkpoint and on the MindIR, and ONNX Runtime on the ONNX file, each in
    its own process (src.inference.formats.open_backend), `steps` timed calls after one warm-up;
with mean latency per batch, samples/s, and the model files' sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.inference import run_child  # noqa: E402 - after the path set-up
from src.inference import bin_protocol  # noqa: E402
from src.inference.formats import EXPORT_FORMATS  # noqa: E402
from src.inference.lite_app import APP, lite_tool  # noqa: E402

PYTHON_FORMATS = {"MINDIR": "MindSpore MindIR", "ONNX": "ONNX Runtime"}  # export format -> row name
FORMATS = (*PYTHON_FORMATS, "LITE")
APP_ROW = "C++ app, Lite"
APP_MEAN = re.compile(r"NN inference cost average time: ([\d.]+) ms of infer_count (\d+)")


def python_child(model: str, batch_size: int, steps: int) -> dict:
    """Mean latency (ms) of one backend in this process, after one warm-up call."""
    import numpy as np

    from src.features import FEATURE_SHAPE
    from src.inference.formats import open_backend

    backend = open_backend(model, "CPU")
    batch = np.random.default_rng(0).normal(-30, 20, (batch_size, *FEATURE_SHAPE)).astype(np.float32)
    backend.predict(batch)
    began = time.perf_counter()
    for _ in range(steps):
        backend.predict(batch)
    return {"latency_ms": (time.perf_counter() - began) * 1000 / steps}


def python_latency_ms(model: str, batch_size: int, steps: int) -> float:
    """python_child in a process of its own."""
    command = [sys.executable, __file__, "--child", model, str(batch_size), str(steps)]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child {command} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["latency_ms"]


def app_mean_ms(model: Path, folder: Path, batches: int, batch_size: int) -> float:
    """The app's reported mean Predict latency over `batches` random .bin batches."""
    import numpy as np

    data = folder / bin_protocol.DATA_DIR
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(batches):
        batch = rng.normal(-30, 20, (batch_size, 1, 96, 1366)).astype(np.float32)
        batch.tofile(data / bin_protocol.input_name(batch_size, index))
    command = [str(lite_tool(APP)), f"--mindir_path={model}", f"--input0_path={data}", "--device_target=CPU"]
    out = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    match = APP_MEAN.search(out.stdout)
    if out.returncode != 0 or match is None:
        raise SystemExit(f"{command} failed:\n{out.stderr[-3000:]}")
    return float(match[1])


def app_latency_ms(model: Path, folder: Path, batch_size: int, steps: int) -> float:
    """The app's mean latency over `steps` batches after a warm-up batch: the total of a 1 + steps run less
    that of a 1-batch run (the app reports only means)."""
    first = app_mean_ms(model, folder / "warm", 1, batch_size)
    return (app_mean_ms(model, folder / "timed", 1 + steps, batch_size) * (1 + steps) - first) / steps


def export(folder: Path, checkpoint: str, batch_size: int) -> dict[str, Path]:
    """export.py's MINDIR, ONNX and LITE files of `checkpoint` for `batch_size`."""
    models = {}
    for file_format in FORMATS:
        name = folder / f"fcn4_b{batch_size}"
        command = [sys.executable, "export.py", "--ckpt_file", checkpoint, "--file_name", str(name)]
        command += ["--file_format", file_format, "--export_batch_size", str(batch_size), "--device_target", "CPU"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"export.py --file_format {file_format} failed:\n{done.stderr[-3000:]}")
        models[file_format] = Path(f"{name}{EXPORT_FORMATS[file_format].suffix}")
    return models


def measure(folder: Path, checkpoint: str, batch_size: int, steps: int) -> tuple[dict, dict]:
    """({row: latency ms}, {row: file MiB}) for one batch size."""
    models = export(folder, checkpoint, batch_size)
    rows = {"MindSpore checkpoint": checkpoint, **{row: str(models[fmt]) for fmt, row in PYTHON_FORMATS.items()}}
    latency = {row: python_latency_ms(path, batch_size, steps) for row, path in rows.items()}
    latency[APP_ROW] = app_latency_ms(models["LITE"], folder / f"app_b{batch_size}", batch_size, steps)
    sizes = {row: Path(path).stat().st_size / 2**20 for row, path in rows.items()}
    sizes[APP_ROW] = models["LITE"].stat().st_size / 2**20
    return latency, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 8], help="model batches (export batches)")
    parser.add_argument("--steps", type=int, default=5, help="timed batches per backend after one warm-up")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "BATCH", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(python_child(args.child[0], int(args.child[1]), int(args.child[2]))))
        return 0
    lite_tool(APP)  # fail before any work when the Lite build is missing

    with tempfile.TemporaryDirectory(prefix="fcn4_lite_bench_") as tmp:
        folder = Path(tmp)
        checkpoint = run_child("--make_checkpoint", tmp)["checkpoint"]  # benchmarks/inference.py's
        results = {batch: measure(folder, checkpoint, batch, args.steps) for batch in args.batch_sizes}

    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "AVX2 (toolkit default)")
    print(f"full FCN-4, CPU, {os.cpu_count()} cores, oneDNN ISA cap {isa}; {args.steps} timed batches after 1 warm-up")
    print(f"{'backend':22s} {'batch':>5s} {'file MiB':>9s} {'ms/batch':>9s} {'samples/s':>10s} {'vs checkpoint':>14s}")
    for batch, (latency, sizes) in results.items():
        base = latency["MindSpore checkpoint"]
        for row, ms in latency.items():
            print(f"{row:22s} {batch:5d} {sizes[row]:9.1f} {ms:9.1f} {batch * 1000 / ms:10.2f} {base / ms:13.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
