"""Checkpoints: atomic saves with optimizer state, and loads that refuse the wrong network."""

import numpy as np
import pytest

from src import checkpoint
from src.errors import UserError
from src.musictagger import ModelParams, MusicTaggerCNN
from src.trainer import build_train_cell
from tests.conftest import NARROW_CHANNELS


def _train_cell(num_classes=5):
    network = MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS, num_classes=num_classes))
    return network, build_train_cell(network, lr=0.0005, loss_scale=1024.0)


def test_train_cell_checkpoint_holds_adam_state_and_extras(tmp_path, mindspore_cpu):
    _, cell = _train_cell()
    path = checkpoint.save(cell, tmp_path / "MusicTagger-1_3.ckpt", {"epoch": 1, "step": 3})
    params = checkpoint.read(path)
    assert {"conv1.weight", "moment1.conv1.weight", "moment2.dense.bias"} <= set(params)
    assert int(params["epoch"].asnumpy()) == 1
    assert int(params["step"].asnumpy()) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["MusicTagger-1_3.ckpt"]


def test_weights_round_trip_into_a_fresh_network(tmp_path, mindspore_cpu):
    network, cell = _train_cell()
    checkpoint.save(cell, tmp_path / "a.ckpt")
    fresh, _ = _train_cell()
    checkpoint.load_into(fresh, tmp_path / "a.ckpt")
    np.testing.assert_array_equal(fresh.conv2.weight.asnumpy(), network.conv2.weight.asnumpy())


def test_wrong_class_count_names_the_parameter_and_shapes(tmp_path, mindspore_cpu):
    _, cell = _train_cell(num_classes=5)
    checkpoint.save(cell, tmp_path / "a.ckpt")
    other, _ = _train_cell(num_classes=7)
    with pytest.raises(UserError, match=r"'dense.weight' has shape \(5, 16\), the network expects \(7, 16\)"):
        checkpoint.load_into(other, tmp_path / "a.ckpt")


def test_missing_and_garbage_checkpoints_are_one_line_errors(tmp_path, mindspore_cpu):
    network, _ = _train_cell()
    with pytest.raises(UserError, match="does not exist"):
        checkpoint.load_into(network, tmp_path / "nope.ckpt")
    (tmp_path / "bad.ckpt").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(UserError, match="not a readable MindSpore checkpoint") as info:
        checkpoint.load_into(network, tmp_path / "bad.ckpt")
    assert "\n" not in str(info.value)


def test_checkpoint_of_another_model_is_refused(tmp_path, mindspore_cpu):
    import mindspore as ms

    ms.save_checkpoint([{"name": "fc.weight", "data": ms.Tensor(np.zeros((2, 2), np.float32))}],
                       str(tmp_path / "other.ckpt"))
    network, _ = _train_cell()
    with pytest.raises(UserError, match="has no parameter 'conv1.weight'"):
        checkpoint.load_into(network, tmp_path / "other.ckpt")
