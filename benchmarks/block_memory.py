"""Where MindSpore's extra training memory goes: peak RSS per sample of forward + backward of FCN-4 block 1's
ops alone and in combination, and of blocks 1-2 and 1-4, MindSpore (graph mode, memory_optimize_level O1 and O0)
against PyTorch (benchmarks/torch_twin.py's venv).

    python -m benchmarks.block_memory --torch-python /tmp/torchenv/bin/python
    python -m benchmarks.block_memory --batches 2 8 --only conv conv+bn --frameworks "ms O1" torch

Each (framework, ops, batch) runs in a fresh process: build the ops, one warm-up forward + backward
(loss = mean of the output, gradients of every parameter), one measured one, then its peak RSS (VmHWM).
The slope of peak RSS over batch size (least squares) cancels the fixed part (runtime, compilation);
it is printed in GiB per sample and in block-1 maps per sample (one map: channels[1] x n_mels x n_frames
float32, 67 MB at the reference sizes). MindSpore's slope grows with the batch (its memory planner reuses
more at batch 2-8), so the default batches 8 and 16 are those that predict training at the reference batch.
This file also runs as a script under the PyTorch venv, so it imports neither MindSpore nor the project at
module level.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30
# Ops of a block in the order they run; "argmax_pool" is max pooling that keeps argmax indices for its backward:
# MindSpore's MaxPoolWithArgmax (its V2 takes minutes per step on CPU); PyTorch's MaxPool2d always keeps them.
OURS = ("conv", "bn", "pool", "relu")  # src/musictagger.py's block order
# name -> (how many FCN-4 blocks, the ops of each block; block 4 has no pooling).
VARIANTS = {
    "conv": (1, ("conv",)),
    "conv+bn": (1, ("conv", "bn")),
    "conv+bn+pool": (1, ("conv", "bn", "pool")),
    "conv+bn+pool+relu": (1, OURS),
    "conv+bn+relu+pool": (1, ("conv", "bn", "relu", "pool")),
    "conv+bn+argmax_pool+relu": (1, ("conv", "bn", "argmax_pool", "relu")),
    "blocks 1-2": (2, OURS),
    "blocks 1-4": (4, OURS),
}
FRAMEWORKS = {"ms O1": "O1", "ms O0": "O0", "torch": None}
WORKER_MODULE = "benchmarks.block_memory"


def measure_mindspore(spec: dict) -> dict:
    """Forward + backward of `spec["ops"]` in MindSpore graph mode at `spec["level"]`: this process's peak."""
    import mindspore as ms
    import mindspore.nn as nn
    import mindspore.ops as ops

    from src.core.runtime import setup_runtime

    setup_runtime("CPU", mode="graph", memory_optimize_level=spec["level"])

    class ArgmaxPool(nn.Cell):
        def __init__(self, pool: tuple[int, int]) -> None:
            super().__init__()
            self.pool = ops.MaxPoolWithArgmax(kernel_size=pool, strides=pool)

        def construct(self, x):
            return self.pool(x)[0]

    layers = {
        "conv": lambda c_in, c_out, pool: nn.Conv2d(c_in, c_out, 3, pad_mode="same", has_bias=False),
        "bn": lambda c_in, c_out, pool: nn.BatchNorm2d(c_out),
        "pool": lambda c_in, c_out, pool: nn.MaxPool2d(kernel_size=pool, stride=pool),
        "argmax_pool": lambda c_in, c_out, pool: ArgmaxPool(pool),
        "relu": lambda c_in, c_out, pool: nn.ReLU(),
    }

    class MeanOutput(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.SequentialCell([layers[name](*args) for name, args in _layers(spec)])

        def construct(self, x):
            return self.body(x).mean()

    class ForwardBackward(nn.Cell):
        def __init__(self, network: nn.Cell) -> None:
            super().__init__()
            self.network = network
            self.weights = ms.ParameterTuple(network.trainable_params())
            self.grad = ops.GradOperation(get_by_list=True)

        def construct(self, x):
            return self.network(x), self.grad(self.network, self.weights)(x)

    step = ForwardBackward(MeanOutput())
    step.set_train(True)
    x = ms.Tensor(_input(spec))
    return _timed(lambda: step(x)[0].asnumpy())


def measure_torch(spec: dict) -> dict:
    """The same forward + backward in PyTorch (run under its own venv)."""
    import torch
    from torch import nn

    layers = {
        "conv": lambda c_in, c_out, pool: nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        "bn": lambda c_in, c_out, pool: nn.BatchNorm2d(c_out),
        "pool": lambda c_in, c_out, pool: nn.MaxPool2d(pool, pool),
        "argmax_pool": lambda c_in, c_out, pool: nn.MaxPool2d(pool, pool),
        "relu": lambda c_in, c_out, pool: nn.ReLU(),
    }
    network = nn.Sequential(*(layers[name](*args) for name, args in _layers(spec)))
    network.train()
    x = torch.from_numpy(_input(spec))

    def step() -> float:
        network.zero_grad(set_to_none=True)
        loss = network(x).mean()
        loss.backward()
        return loss.item()

    return _timed(step)


def _layers(spec: dict) -> list[tuple[str, tuple]]:
    """(op, (in channels, out channels, pool)) of every layer of `spec["blocks"]` blocks, in order."""
    found = []
    for block in range(spec["blocks"]):
        pool = tuple(spec["pools"][block]) if block < len(spec["pools"]) else None
        sizes = (spec["channels"][block], spec["channels"][block + 1], pool)
        found += [(name, sizes) for name in spec["ops"] if pool or not name.endswith("pool")]
    return found


def _input(spec: dict) -> np.ndarray:
    shape = (spec["batch_size"], 1, spec["n_mels"], spec["n_frames"])
    return np.random.default_rng(0).normal(size=shape).astype(np.float32)


def _timed(step) -> dict:
    """One warm-up step, one measured step: the process's peak RSS (GiB) and the measured step's seconds."""
    step()
    began = time.perf_counter()
    step()
    seconds = time.perf_counter() - began
    return {"peak_rss_gib": round(_peak_rss_gib(), 4), "step_s": round(seconds, 3)}


def _peak_rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / GIB
    raise RuntimeError("no VmHWM in /proc/self/status")


def slope(batches: list[int], peaks: list[float]) -> tuple[float, float]:
    """Least-squares (GiB per sample, fixed GiB) of peak RSS over batch size."""
    per_sample, fixed = np.polyfit(np.asarray(batches, float), np.asarray(peaks, float), 1)
    return float(per_sample), float(fixed)


def run_table(batches: list[int], variants: list[str], frameworks: list[str], torch_python: str | None) -> list:
    """(variant, framework, {batch: result}) for every combination, each result from a fresh process."""
    from benchmarks.train_memory import run_one
    from src.musictagger import ModelParams

    params = ModelParams()
    base = {key: params.to_dict()[key] for key in ("channels", "pools", "n_mels", "n_frames")}
    map_gib = params.channels[1] * params.n_mels * params.n_frames * 4 / GIB
    rows = []
    for variant in variants:
        for framework in frameworks:
            level = FRAMEWORKS[framework]
            if level is None and not torch_python:
                continue
            worker = [sys.executable, "-m", WORKER_MODULE] if level else [torch_python, "benchmarks/block_memory.py"]
            results = {}
            for batch in batches:
                blocks, ops = VARIANTS[variant]
                spec = {**base, "blocks": blocks, "ops": ops, "batch_size": batch, "level": level}
                results[batch] = run_one([*worker, "--worker", json.dumps(spec)], 0.5 + 7 * map_gib * batch)
                print(f"# {variant}, {framework}, batch {batch}: {results[batch]}", flush=True)
            rows.append((variant, framework, results))
    return rows


def report(rows: list, batches: list[int], map_gib: float) -> None:
    """Peak per batch, the per-sample slope in GiB and in block-1 maps, and the step time at the largest batch."""
    peaks = "".join(f"{f'peak@{b}':>10}" for b in batches)
    print(f"{'ops':<26}{'framework':<8}{peaks}{'GiB/sample':>12}{'maps/sample':>13}{'step s':>8}")
    for variant, framework, results in rows:
        failed = [r["skipped"] for r in results.values() if "skipped" in r]
        if failed:
            print(f"{variant:<26}{framework:<8}  skipped: {failed[0]}")
            continue
        per_sample, _ = slope(batches, [results[b]["peak_rss_gib"] for b in batches])
        cells = "".join(f"{results[b]['peak_rss_gib']:>10.2f}" for b in batches)
        step = results[batches[-1]]["step_s"]
        print(f"{variant:<26}{framework:<8}{cells}{per_sample:>12.3f}{per_sample / map_gib:>13.2f}{step:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), help="ops to measure")
    parser.add_argument("--frameworks", nargs="+", choices=list(FRAMEWORKS), default=list(FRAMEWORKS))
    parser.add_argument("--torch-python", default=None, help="python of a venv with torch (benchmarks/torch_twin.py)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(measure_torch(spec) if spec["level"] is None else measure_mindspore(spec)), flush=True)
        return 0
    if args.torch_python and not Path(args.torch_python).is_file():
        parser.error(f"--torch-python {args.torch_python} does not exist (see benchmarks/torch_twin.py)")
    if len(set(args.batches)) < 2:
        parser.error("--batches needs at least two different sizes for a slope per sample")
    batches = sorted(set(args.batches))
    rows = run_table(batches, args.only, args.frameworks, args.torch_python)
    from src.musictagger import ModelParams

    params = ModelParams()
    report(rows, batches, params.channels[1] * params.n_mels * params.n_frames * 4 / GIB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
