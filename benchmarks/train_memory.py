"""Peak memory and speed of full-size FCN-4 training on CPU, each configuration in a fresh process:
the default (memory_optimize_level O1, the CPU pool's address space reserved, no recompute), each memory option
(the pool growing as MindSpore's default, O0, recompute block1 / all), accumulation 4 x 8 against batch 32, and
the PyTorch twin (benchmarks/torch_twin.py, its own venv).

    python -m benchmarks.train_memory --batches 8 16 32 --steps 3 --torch-python benchmarks/.venv-torch/bin/python
    python -m benchmarks.train_memory --batches 32 --only default "pytorch twin"   # some configurations only

A configuration runs only when the machine's available memory exceeds its estimated peak (printed
otherwise). Figures are peak RSS (VmHWM, whole process: compilation included) and samples/s over
`steps` optimizer steps after one warm-up step, on random input (no dataset pipeline).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Estimated peak RSS: fixed part and per sample of batch_size (measured: batch 8 default 4.7 GiB).
BASE_GIB, PER_SAMPLE_GIB, MARGIN_GIB = 0.6, 0.45, 1.0
# default_config.yaml's memory_optimize_level, memory_pool_reserve, recompute
DEFAULTS = {"optimize_level": "O1", "pool_reserve": True, "recompute": "none"}
MINDSPORE_OPTIONS = {
    "default": {},
    "pool grows": {"pool_reserve": False},
    "memory O0": {"optimize_level": "O0"},
    "recompute block1": {"recompute": "block1"},
    "recompute all": {"recompute": "all"},
}


def measure_mindspore(spec: dict) -> dict:
    """One configuration in this process: build, one warm-up step, `steps` timed optimizer steps."""
    import mindspore as ms

    from src.core.runtime import setup_runtime
    from src.musictagger import ModelParams, build_network
    from src.training import memory
    from src.training.train_step import RECOMPUTE, TrainStep

    spec = {**DEFAULTS, **spec}
    setup_runtime(
        "CPU", mode="graph", memory_optimize_level=spec["optimize_level"], memory_pool_reserve=spec["pool_reserve"]
    )
    params = ModelParams()
    network = build_network(params)
    network.recompute_blocks(RECOMPUTE[spec["recompute"]])
    accumulation = spec.get("accumulation", 1)
    step = TrainStep(network, lr=0.0005, loss_scale=1024.0, accumulation=accumulation)
    rng = np.random.default_rng(0)
    batch = spec["batch_size"]
    x = ms.Tensor(rng.normal(size=(batch, *params.input_shape)).astype(np.float32))
    y = ms.Tensor((rng.random((batch, params.num_classes)) > 0.8).astype(np.float32))
    micro = [(x, y)] * accumulation
    step.step(micro)
    began = time.perf_counter()
    for _ in range(spec["steps"]):
        step.step(micro)
    seconds = time.perf_counter() - began
    samples = batch * accumulation * spec["steps"]
    return {"peak_rss_gib": round(memory.peak_rss_gib(), 3), "samples_s": round(samples / seconds, 3)}


def available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    return float("inf")


def run_one(command: list[str], need_gib: float) -> dict:
    """A fresh process's JSON result, or {"skipped": why} when the estimated peak does not fit now."""
    free = available_gib()
    if free < need_gib + MARGIN_GIB:
        return {"skipped": f"needs ~{need_gib:.1f} GiB + {MARGIN_GIB:.0f} margin, {free:.1f} GiB available"}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        return {"skipped": f"failed (exit {result.returncode}): {result.stderr.strip().splitlines()[-1:]}"}
    return json.loads(lines[-1])


def configurations(batches: list[int], steps: int, torch_python: str | None) -> list[tuple[str, int, list, float]]:
    """(name, global batch, command, estimated peak GiB) of every configuration, in the order they run."""
    from src.musictagger import ModelParams

    params = ModelParams()
    found = []
    for batch in batches:
        need = BASE_GIB + PER_SAMPLE_GIB * batch
        for name, options in MINDSPORE_OPTIONS.items():
            spec = {"batch_size": batch, "steps": steps, **options}
            found.append(
                (name, batch, [sys.executable, "-m", "benchmarks.train_memory", "--worker", json.dumps(spec)], need)
            )
        if torch_python:
            twin = {"batch_size": batch, "steps": steps, "lr": 0.0005, **params.to_dict()}
            found.append(
                ("pytorch twin", batch, [torch_python, "benchmarks/torch_twin.py", json.dumps(twin)], need / 2)
            )
    if 32 in batches:
        spec = {"batch_size": 8, "accumulation": 4, "steps": steps}
        command = [sys.executable, "-m", "benchmarks.train_memory", "--worker", json.dumps(spec)]
        found.append(("accumulation 4 x 8", 32, command, BASE_GIB + PER_SAMPLE_GIB * 8))
    return found


def report(rows: list[tuple[str, int, dict]]) -> None:
    """The table, with each row's peak and speed as ratios to the PyTorch twin at the same global batch."""
    twin = {batch: result for name, batch, result in rows if name == "pytorch twin" and "skipped" not in result}
    print(f"{'configuration':<22}{'batch':>6}{'peak GiB':>10}{'samples/s':>11}{'mem/torch':>11}{'speed/torch':>13}")
    for name, batch, result in rows:
        if "skipped" in result:
            print(f"{name:<22}{batch:>6}  skipped: {result['skipped']}")
            continue
        ref = twin.get(batch)
        mem = f"{result['peak_rss_gib'] / ref['peak_rss_gib']:.2f}x" if ref else "-"
        speed = f"{result['samples_s'] / ref['samples_s']:.2f}x" if ref else "-"
        print(f"{name:<22}{batch:>6}{result['peak_rss_gib']:>10.2f}{result['samples_s']:>11.2f}{mem:>11}{speed:>13}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--torch-python", default=None, help="python of a venv with torch (benchmarks/torch_twin.py)")
    parser.add_argument("--only", nargs="+", default=None, help="configuration names to run (default: all)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure_mindspore(json.loads(args.worker))), flush=True)
        return 0
    if args.torch_python and not Path(args.torch_python).is_file():
        parser.error(f"--torch-python {args.torch_python} does not exist (see benchmarks/torch_twin.py)")
    rows = []
    for name, batch, command, need in configurations(args.batches, args.steps, args.torch_python):
        if args.only and name not in args.only:
            continue
        rows.append((name, batch, run_one(command, need)))
        print(f"# {name}, batch {batch}: {rows[-1][2]}", flush=True)
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
