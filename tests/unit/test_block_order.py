"""Blocks 1-3 pool before their ReLU (src/musictagger.py) to keep less for backward; max and ReLU commute,
so the network computes exactly what the reference order, conv -> BatchNorm -> ReLU -> pool, computes."""

import numpy as np
import pytest

from src.musictagger import ModelParams, MusicTaggerCNN
from src.training.train_step import TrainStep
from tests.helpers.models import NARROW_CHANNELS, feature_batch

PARAMS = ModelParams(channels=NARROW_CHANNELS, num_classes=5)


class ReferenceOrder(MusicTaggerCNN):
    """The model zoo's order: ReLU on the full-size map, then max pooling."""

    def embed(self, x):
        x = self.pool1(self.relu(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu(self.bn2(self.conv2(x))))
        x = self.pool3(self.relu(self.bn3(self.conv3(x))))
        x = self.relu(self.bn4(self.conv4(x)))
        return self.reduce_max(x, (2, 3))


def _pair(ms):
    """The network and its reference-order twin, with the same initial weights."""
    ms.set_seed(3)
    network = MusicTaggerCNN(PARAMS)
    reference = ReferenceOrder(PARAMS)
    ms.load_param_into_net(reference, {p.name: ms.Parameter(p.data.copy(), p.name) for p in network.get_parameters()})
    return network, reference


def _labels(size: int) -> np.ndarray:
    return (np.random.default_rng(size).random((size, PARAMS.num_classes)) > 0.5).astype(np.float32)


def test_same_parameter_names_and_shapes_as_the_reference_order(mindspore_cpu):
    network, reference = _pair(mindspore_cpu)
    assert [(p.name, p.shape) for p in network.get_parameters()] == [
        (p.name, p.shape) for p in reference.get_parameters()
    ]


@pytest.mark.parametrize("training", [False, True])
def test_outputs_are_bit_identical_to_the_reference_order(mindspore_cpu, training):
    network, reference = _pair(mindspore_cpu)
    network.set_train(training)
    reference.set_train(training)
    x = mindspore_cpu.Tensor(feature_batch(4, seed=5))
    np.testing.assert_array_equal(network.embed(x).asnumpy(), reference.embed(x).asnumpy())
    np.testing.assert_array_equal(network(x).asnumpy(), reference(x).asnumpy())


def test_training_steps_are_bit_identical_to_the_reference_order(mindspore_cpu):
    """Gradients included: after two Adam steps (loss scale 1024) every weight, BatchNorm statistic and
    Adam moment equals the reference order's, bit for bit."""
    network, reference = _pair(mindspore_cpu)
    steps = [TrainStep(net, lr=0.01, loss_scale=1024.0) for net in (network, reference)]
    for seed in (1, 2):
        batch = [(mindspore_cpu.Tensor(feature_batch(4, seed)), mindspore_cpu.Tensor(_labels(4)))]
        losses = [step.step(batch) for step in steps]
        assert losses[0] == losses[1]
    ours, theirs = ({p.name: p.asnumpy() for p in step.cell.get_parameters()} for step in steps)
    assert ours.keys() == theirs.keys()
    assert np.abs(ours["moment1.conv1.weight"]).max() > 0, "the comparison covers non-zero gradients"
    for name in ours:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
