"""Gradient accumulation, recomputation and peak memory: N micro-batches make the optimizer step of one
batch N times larger (where BatchNorm sees the same statistics), checkpoints keep one layout, and a
resume refuses another accumulation."""

import numpy as np
import pytest

from src.core.errors import UserError
from src.core.runtime import current_mode, set_mode
from src.model import checkpoint
from src.musictagger import ModelParams, MusicTaggerCNN
from src.training import memory, run_folder
from src.training.train_step import RECOMPUTE, TrainStep, optimizer_steps
from tests.helpers.models import NARROW_CHANNELS, feature_batch

PARAMS = ModelParams(channels=NARROW_CHANNELS, num_classes=5)


def _batch(seed: int, size: int = 2) -> tuple[np.ndarray, np.ndarray]:
    labels = (np.random.default_rng(seed).random((size, PARAMS.num_classes)) > 0.5).astype(np.float32)
    return feature_batch(size, seed), labels


def _train(ms, steps: list[list[tuple[np.ndarray, np.ndarray]]], accumulation: int, recompute: str = "none"):
    """The train cell's parameters (weights, BatchNorm statistics, Adam state) after `steps` optimizer steps."""
    ms.set_seed(7)
    network = MusicTaggerCNN(PARAMS)
    network.recompute_blocks(RECOMPUTE[recompute])
    step = TrainStep(network, lr=0.01, loss_scale=1024.0, accumulation=accumulation)
    losses = [step.step([(ms.Tensor(x), ms.Tensor(y)) for x, y in batches]) for batches in steps]
    return losses, {p.name: p.asnumpy() for p in step.cell.get_parameters()}


def _large(micro: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [tuple(np.concatenate(parts) for parts in zip(*micro, strict=True))]


def test_n_micro_batches_make_the_step_of_one_batch_n_times_larger(mindspore_cpu):
    """Each step's micro-batches hold the same clips in another order, so BatchNorm's batch statistics of
    a micro-batch equal those of the large batch: weights and Adam moments (which carry the gradients'
    scale, loss scale undone) agree to float32 rounding over three steps of different clips."""
    steps = []
    for seed in (1, 2, 3):
        x, y = _batch(seed)
        steps.append([(x, y), (x[::-1].copy(), y[::-1].copy()), (x, y)])
    micro_losses, accumulated = _train(mindspore_cpu, steps, accumulation=3)
    large_losses, large = _train(mindspore_cpu, [_large(micro) for micro in steps], accumulation=1)

    assert accumulated.keys() == large.keys()
    np.testing.assert_allclose(micro_losses, large_losses, rtol=1e-5)
    for name in large:
        if "moving_" in name:  # updated once per micro-batch: the documented difference from a large batch
            continue
        scale = np.abs(large[name]).max() + 1e-30
        np.testing.assert_allclose(accumulated[name] / scale, large[name] / scale, atol=2e-4, err_msg=name)
    assert np.abs(large["moment1.conv1.weight"]).max() > 0, "the comparison covers non-zero gradients"


def test_the_train_cell_saves_the_same_parameters_whatever_the_accumulation(tmp_path, mindspore_cpu):
    one = TrainStep(MusicTaggerCNN(PARAMS), lr=0.01, loss_scale=1024.0, accumulation=1).cell
    four = TrainStep(MusicTaggerCNN(PARAMS), lr=0.01, loss_scale=1024.0, accumulation=4).cell
    saved = checkpoint.read(checkpoint.save(four, tmp_path / "four.ckpt"))
    assert sorted(p.name for p in four.get_parameters()) == sorted(p.name for p in one.get_parameters())
    assert not any(name.startswith("accumulated") for name in saved)
    checkpoint.load_into(one, tmp_path / "four.ckpt")


def test_an_optimizer_step_takes_exactly_its_micro_batches(mindspore_cpu):
    step = TrainStep(MusicTaggerCNN(PARAMS), lr=0.01, loss_scale=1024.0, accumulation=2)
    x, y = _batch(1)
    with pytest.raises(ValueError, match="takes 2 micro-batches, got 1"):
        step.step([(mindspore_cpu.Tensor(x), mindspore_cpu.Tensor(y))])
    assert list(optimizer_steps(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


@pytest.fixture
def graph_mode(mindspore_cpu):
    """Graph mode for one test, whichever mode the run uses (recomputation is a graph-mode feature)."""
    was = current_mode()
    set_mode("graph")
    yield mindspore_cpu
    set_mode(was)


@pytest.mark.parametrize("recompute", ["block1", "all"])
def test_recomputation_changes_neither_parameters_nor_results(graph_mode, recompute):
    """Graph mode only: PyNative re-runs BatchNorm's forward and updates its moving statistics twice,
    which is why train.py refuses recompute outside graph mode."""
    steps = [[_batch(seed, size=4)] for seed in (1, 2)]
    losses, plain = _train(graph_mode, steps, accumulation=1)
    recomputed_losses, recomputed = _train(graph_mode, steps, accumulation=1, recompute=recompute)
    assert recomputed.keys() == plain.keys()
    np.testing.assert_allclose(recomputed_losses, losses, rtol=1e-6)
    for name in plain:
        np.testing.assert_allclose(recomputed[name], plain[name], rtol=1e-5, atol=1e-7, err_msg=name)


def test_a_resume_must_use_the_accumulation_of_the_run(tmp_path):
    (tmp_path / "mr").mkdir()
    (tmp_path / "mr" / "manifest.json").write_text('{"fingerprint": "f00d"}')
    plain = run_folder.trained_with(8, 1, tmp_path / "mr")
    accumulated = run_folder.trained_with(8, 1, tmp_path / "mr", grad_accumulation=4)
    assert "grad_accumulation" not in plain, "a run without accumulation records what it always did"
    assert run_folder.trained_with(8, 1, tmp_path / "mr", grad_accumulation=1) == plain
    run_folder.check_resume(accumulated, dict(accumulated), tmp_path)
    with pytest.raises(UserError, match=r"trained with grad_accumulation=4; this run asks for grad_accumulation=1"):
        run_folder.check_resume(accumulated, plain, tmp_path)
    with pytest.raises(UserError, match=r"trained with grad_accumulation=1; this run asks for grad_accumulation=4"):
        run_folder.check_resume(plain, accumulated, tmp_path)


def test_peak_memory_follows_an_allocation_and_resets():
    memory.reset_peak()
    before = memory.peak_rss_gib()
    block = np.ones(256 * 2**20, np.uint8)  # touched, so resident
    assert memory.peak_rss_gib() >= before + 0.2
    del block
    if memory.reset_peak():
        assert memory.peak_rss_gib() < before + 0.2
