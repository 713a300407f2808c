"""One optimizer step of the reference recipe, over one batch or over N accumulated micro-batches.

Reference recipe: Adam, BCE, fixed loss scale (gradients scaled by `loss_scale` through the backward
sensitivity and unscaled by Adam, no overflow skipping). With grad_accumulation N > 1 each micro-batch's
scaled gradients are summed into float32 buffers, and the optimizer step takes their mean: the scaled
gradient of the mean loss over the N micro-batches (as one batch N times larger, up to BatchNorm, which
normalises each micro-batch with its own statistics), so Adam's unscaling by loss_scale stays right.
In a data-parallel job the mean is all-reduced once per optimizer step, not once per micro-batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops

from src.loss import BCELoss

# The `recompute` config key's choices -> the FCN-4 blocks whose forward is recomputed in the backward pass.
RECOMPUTE = {"none": (), "block1": (1,), "all": (1, 2, 3, 4)}


def build_train_cell(network, lr: float, loss_scale: float, mixed_precision: bool = False, weight_decay: float = 0.0):
    """Network + BCE + Adam wrapped in a one-step train cell with the reference loss scaling.

    weight_decay (0 in the reference) is Adam's L2 term on the conv and dense weights only: BatchNorm's scale
    and shift and the dense bias are not decayed, as is usual for BatchNorm networks."""
    import mindspore.amp as amp

    if mixed_precision:
        network = amp.auto_mixed_precision(network, "O2")
    params = network.trainable_params()
    if weight_decay:
        decayed = [p for p in params if p.name.endswith(".weight")]
        others = [p for p in params if not p.name.endswith(".weight")]
        params = [{"params": decayed, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]
    optimizer = nn.Adam(params, learning_rate=lr, loss_scale=loss_scale)
    train_cell = nn.TrainOneStepCell(nn.WithLossCell(network, BCELoss()), optimizer, sens=loss_scale)
    train_cell.set_train()
    return train_cell


class TrainStep:
    """Calls the train cell once per optimizer step: `step(batches)` takes the step's N (feature, label)
    micro-batches and returns their mean loss. `cell` (network + optimizer state, the same parameters
    whatever N) is what checkpoints save and a resume loads; the accumulation buffers are not in it,
    since they are zero at every step boundary, where every checkpoint is taken."""

    def __init__(
        self,
        network,
        lr: float,
        loss_scale: float,
        mixed_precision: bool = False,
        accumulation: int = 1,
        weight_decay: float = 0.0,
    ):
        self.cell = build_train_cell(network, lr, loss_scale, mixed_precision, weight_decay)
        self.accumulation = accumulation
        self.lr = lr
        if accumulation > 1:
            self._accumulate, self._apply = _accumulation_cells(self.cell, accumulation)

    def set_lr(self, lr: float) -> None:
        """The learning rate of the next steps (Adam's learning_rate parameter, saved in checkpoints)."""
        if lr != self.lr:
            self.cell.optimizer.learning_rate.set_data(ms.Tensor(lr, ms.float32))
            self.lr = lr

    def step(self, batches: list) -> float:
        """One optimizer step over `batches` (exactly `accumulation` (feature, label) pairs); the mean loss."""
        if len(batches) != self.accumulation:
            raise ValueError(f"an optimizer step takes {self.accumulation} micro-batches, got {len(batches)}")
        if self.accumulation == 1:
            return float(self.cell(*batches[0]).asnumpy())
        losses = [float(self._accumulate(feature, label).asnumpy()) for feature, label in batches]
        self._apply()
        return sum(losses) / len(losses)


def optimizer_steps(batches: Iterable, accumulation: int) -> Iterator[list]:
    """The batches in consecutive lists of `accumulation`, one list per optimizer step (the last one shorter
    when they do not divide evenly)."""
    iterator = iter(batches)
    while group := list(itertools.islice(iterator, accumulation)):
        yield group


def _accumulation_cells(train_cell, accumulation: int):
    """(accumulate, apply) cells sharing train_cell's network, optimizer, loss scale and gradient reducer,
    and one set of zero-initialised buffers `accumulated.<weight name>` (never saved)."""
    buffers = train_cell.weights.clone(prefix="accumulated", init="zeros")
    accumulate, apply = _Accumulate(train_cell, buffers), _Apply(train_cell, buffers, accumulation)
    accumulate.set_train()
    apply.set_train()
    return accumulate, apply


class _Accumulate(nn.Cell):
    """Forward + backward of one micro-batch with the loss-scale sensitivity; adds the gradients to the buffers."""

    def __init__(self, train_cell, buffers) -> None:
        super().__init__(auto_prefix=False)
        self.network = train_cell.network
        self.weights = train_cell.weights
        self.buffers = buffers
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.sens = float(train_cell.sens)
        self.hyper_map = ops.HyperMap()

    def construct(self, feature, label):
        loss = self.network(feature, label)
        sens = ops.fill(loss.dtype, loss.shape, self.sens)
        grads = self.grad(self.network, self.weights)(feature, label, sens)
        added = self.hyper_map(ops.assign_add, self.buffers, grads)
        return ops.depend(loss, added)


class _Apply(nn.Cell):
    """The optimizer step on the buffers' mean (all-reduced in a data-parallel job); then zeroes them."""

    def __init__(self, train_cell, buffers, accumulation: int) -> None:
        super().__init__(auto_prefix=False)
        self.optimizer = train_cell.optimizer
        self.grad_reducer = train_cell.grad_reducer
        self.buffers = buffers
        self.scale = ms.Tensor(1.0 / accumulation, ms.float32)
        self.hyper_map = ops.HyperMap()

    def construct(self):
        grads = self.hyper_map(ops.partial(_scaled, self.scale), self.buffers)
        grads = self.grad_reducer(grads)
        stepped = self.optimizer(grads)
        cleared = self.hyper_map(_zeroed, ops.depend(self.buffers, stepped))
        return ops.depend(stepped, cleared)


def _scaled(scale, buffer):
    return buffer * ops.cast(scale, buffer.dtype)


def _zeroed(buffer):
    return ops.assign(buffer, ops.zeros_like(buffer))
