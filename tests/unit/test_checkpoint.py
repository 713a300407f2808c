"""Checkpoints: atomic saves with optimizer state, loads that refuse the wrong network, rotation
and the resume state."""

import os

import numpy as np
import pytest

from src.core.errors import UserError
from src.model import checkpoint
from src.musictagger import ModelParams, MusicTaggerCNN
from src.training.trainer import build_train_cell
from tests.helpers.models import NARROW_CHANNELS


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

    ms.save_checkpoint(
        [{"name": "fc.weight", "data": ms.Tensor(np.zeros((2, 2), np.float32))}], str(tmp_path / "other.ckpt")
    )
    network, _ = _train_cell()
    with pytest.raises(UserError, match="has no parameter 'conv1.weight'"):
        checkpoint.load_into(network, tmp_path / "other.ckpt")


def test_run_info_round_trips_and_a_broken_one_is_a_one_line_error(tmp_path, mindspore_cpu):
    network, _ = _train_cell()
    info = {"model": network.params.to_dict(), "tags": ["a", "b", "c", "d", "e"]}
    path = checkpoint.save(network, tmp_path / "a.ckpt", run_info=info)
    assert checkpoint.run_info(checkpoint.read(path), path) == info
    assert checkpoint.run_info(checkpoint.read(checkpoint.save(network, tmp_path / "old.ckpt"))) is None
    for broken in ("{not json", "[1, 2]"):
        with pytest.raises(UserError, match=f"checkpoint {path}: its 'fcn4_run_info' entry is not the JSON object"):
            checkpoint.run_info({checkpoint.RUN_INFO_KEY: broken}, path)


def test_parameter_shape_names_a_missing_parameter(tmp_path, mindspore_cpu):
    network, _ = _train_cell()
    params = checkpoint.read(checkpoint.save(network, tmp_path / "a.ckpt"))
    assert checkpoint.parameter_shape(params, "dense.weight", "a.ckpt") == (5, 16)
    with pytest.raises(UserError, match="checkpoint a.ckpt has no parameter 'fc.weight'"):
        checkpoint.parameter_shape(params, "fc.weight", "a.ckpt")


def test_rotation_keeps_the_newest_step_checkpoints_of_the_prefix_only(tmp_path):
    names = [
        "MusicTagger-1_2.ckpt",
        "MusicTagger-1_4.ckpt",
        "MusicTagger-2_2.ckpt",
        "MusicTagger-ft-1_2.ckpt",
        "MusicTagger-best.ckpt",
    ]
    for age, name in enumerate(names):
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, ns=(age * 10**9, age * 10**9))
    removed = checkpoint.rotate(tmp_path, "MusicTagger", keep=2)
    assert [p.name for p in removed] == ["MusicTagger-1_2.ckpt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])


def test_train_state_round_trips_and_a_broken_file_is_a_user_error(tmp_path):
    assert checkpoint.TrainState.load(tmp_path) is None
    state = checkpoint.TrainState(epoch=1, step_in_epoch=2, global_step=7, checkpoint="MusicTagger-2_2.ckpt")
    state.save(tmp_path)
    assert checkpoint.TrainState.load(tmp_path) == state
    (tmp_path / "train_state.json").write_text("{")
    with pytest.raises(UserError, match="train_state.json: unreadable training state"):
        checkpoint.TrainState.load(tmp_path)
