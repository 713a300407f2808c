"""Helpers shared by the benchmark scripts: timing the full FCN-4 on CPU in this process."""

from __future__ import annotations

import time

import numpy as np


def fcn4_rates(batch_size: int, steps: int, warmup: int = 1) -> dict:
    """Train and inference samples/s of the full-size FCN-4 on random input (this process's settings)."""
    import mindspore as ms

    from src.musictagger import ModelParams, build_network
    from src.training.trainer import build_train_cell

    params = ModelParams()
    network = build_network(params)
    cell = build_train_cell(network, lr=0.0005, loss_scale=1024.0)
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.normal(size=(batch_size, *params.input_shape)).astype(np.float32))
    y = ms.Tensor((rng.random((batch_size, params.num_classes)) > 0.8).astype(np.float32))
    train = _rate(lambda: cell(x, y).asnumpy(), batch_size, steps, warmup)
    network.set_train(False)
    infer = _rate(lambda: network(x).asnumpy(), batch_size, steps, warmup)
    return {"train_samples_s": train, "infer_samples_s": infer}


def _rate(step, batch_size: int, steps: int, warmup: int) -> float:
    for _ in range(warmup):
        step()
    began = time.perf_counter()
    for _ in range(steps):
        step()
    return batch_size * steps / (time.perf_counter() - began)
