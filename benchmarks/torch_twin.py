"""The PyTorch twin of FCN-4 training for benchmarks/train_memory.py: the same network, BCE, Adam and batch,
in a separate environment (PyTorch is no dependency of this project):

    python3.11 -m venv benchmarks/.venv-torch && benchmarks/.venv-torch/bin/pip install torch==2.13.0 numpy==1.26.4
    benchmarks/.venv-torch/bin/python benchmarks/torch_twin.py '{"batch_size": 8, "steps": 2, "channels": [...], ...}'

Prints one JSON line: peak RSS (GiB, VmHWM) and training samples/s after one warm-up step.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def fcn4(channels: list[int], pools: list[list[int]], num_classes: int) -> nn.Module:
    """Conv(3x3, same, no bias) -> BatchNorm -> ReLU blocks, max pooling after the first three, global max,
    Dense + sigmoid (BatchNorm momentum 0.1 = MindSpore's 0.9, eps 1e-5 in both)."""
    layers: list[nn.Module] = []
    for block in range(4):
        layers += [
            nn.Conv2d(channels[block], channels[block + 1], 3, padding=1, bias=False),
            nn.BatchNorm2d(channels[block + 1]),
            nn.ReLU(),
        ]
        if block < 3:
            layers.append(nn.MaxPool2d(pools[block], pools[block]))
    features = nn.Sequential(*layers)
    dense = nn.Linear(channels[-1], num_classes)
    return nn.Sequential(features, nn.AdaptiveMaxPool2d(1), nn.Flatten(), dense, nn.Sigmoid())


def peak_rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(spec: dict) -> dict:
    torch.manual_seed(1)
    network = fcn4(spec["channels"], spec["pools"], spec["num_classes"])
    network.train()
    optimizer = torch.optim.Adam(network.parameters(), lr=spec["lr"], eps=1e-8)
    loss_fn = nn.BCELoss()
    rng = np.random.default_rng(0)
    batch = spec["batch_size"]
    x = torch.from_numpy(rng.normal(size=(batch, 1, spec["n_mels"], spec["n_frames"])).astype(np.float32))
    y = torch.from_numpy((rng.random((batch, spec["num_classes"])) > 0.8).astype(np.float32))

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(network(x), y)
        loss.backward()
        optimizer.step()
        return float(loss)

    step()
    began = time.perf_counter()
    for _ in range(spec["steps"]):
        step()
    seconds = time.perf_counter() - began
    return {"peak_rss_gib": round(peak_rss_gib(), 3), "samples_s": round(batch * spec["steps"] / seconds, 3)}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
