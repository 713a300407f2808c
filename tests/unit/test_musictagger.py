"""MusicTaggerCNN: the reference topology, parameter count, names and shapes; the model table."""

import json

import numpy as np
import pytest

from src import features
from src.core.errors import UserError
from src.musictagger import (
    MODELS,
    ModelParams,
    MusicTaggerCNN,
    build_network,
    count_trainable_parameters,
    load_model_params,
)
from tests.helpers.models import NARROW_CHANNELS

REFERENCE_PARAMETERS = 17_362_610


def test_full_size_fcn4_has_the_reference_parameter_count_and_output(mindspore_cpu):
    ms = mindspore_cpu
    network = MusicTaggerCNN()
    assert count_trainable_parameters(network) == REFERENCE_PARAMETERS
    network.set_train(False)
    x = np.random.default_rng(0).normal(size=(2, 1, 96, 1366)).astype(np.float32)
    out = network(ms.Tensor(x)).asnumpy()
    assert out.shape == (2, 50)
    assert out.dtype == np.float32
    assert np.all((out > 0) & (out < 1))


def test_parameter_names_are_the_model_zoo_ones():
    names = {p.name for p in MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS)).get_parameters()}
    expected = {f"conv{i}.weight" for i in range(1, 5)} | {"dense.weight", "dense.bias"}
    expected |= {f"bn{i}.{s}" for i in range(1, 5) for s in ("gamma", "beta", "moving_mean", "moving_variance")}
    assert names == expected


def test_convs_have_no_bias_and_default_pools_are_the_reference_ones():
    network = MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS))
    assert all(not conv.has_bias for conv in (network.conv1, network.conv2, network.conv3, network.conv4))
    assert all(conv.pad_mode == "same" for conv in (network.conv1, network.conv2, network.conv3, network.conv4))
    assert ModelParams().pools == ((2, 4), (4, 5), (3, 8))


def test_narrow_variant_count_follows_the_same_formula():
    c = NARROW_CHANNELS
    expected = sum(9 * c[i] * c[i + 1] for i in range(4)) + 2 * sum(c[1:]) + c[4] * 7 + 7
    assert count_trainable_parameters(MusicTaggerCNN(ModelParams(channels=c, num_classes=7))) == expected


def test_global_max_takes_the_maximum_over_frequency_and_time(mindspore_cpu):
    """Shape walk 96x1366 -> 48x341 -> 12x68 -> 4x8, then the head sees the max over both axes."""
    ms = mindspore_cpu
    network = MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS))
    network.set_train(False)
    x = ms.Tensor(np.random.default_rng(1).normal(size=(1, 1, 96, 1366)).astype(np.float32))
    h = network.pool1(network.relu(network.bn1(network.conv1(x))))
    assert h.shape == (1, 4, 48, 341)
    h = network.pool2(network.relu(network.bn2(network.conv2(h))))
    assert h.shape == (1, 8, 12, 68)
    h = network.pool3(network.relu(network.bn3(network.conv3(h))))
    assert h.shape == (1, 8, 4, 8)
    block4 = network.relu(network.bn4(network.conv4(h))).asnumpy()
    expected = 1 / (
        1 + np.exp(-(block4.max(axis=(2, 3)) @ network.dense.weight.asnumpy().T + network.dense.bias.asnumpy()))
    )
    np.testing.assert_allclose(network(x).asnumpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"channels": (1, 2, 3)}, "5 entries"),
        ({"pools": ((2, 4), (4, 5))}, "3 [freq, time] pairs"),
        ({"pools": ((2, 4, 1), (4, 5), (3, 8))}, "3 [freq, time] pairs"),
        ({"pools": ((2, 4), (4, 5), 3)}, "3 [freq, time] pairs"),
        ({"channels": (3, 4, 8, 8, 16)}, "channels=[3, 4, 8, 8, 16]: the first entry (input channels) must be 1"),
        ({"channels": (1, 4, 0, 8, 16)}, "channels=[1, 4, 0, 8, 16]: every entry must be >= 1 (got 0)"),
        ({"channels": (1, 4, 8, -8, 16)}, "channels=[1, 4, 8, -8, 16]: every entry must be >= 1 (got -8)"),
        ({"channels": (1, 4.5, 8, 8, 16)}, "channels=[1, 4.5, 8, 8, 16]: every entry must be a whole number"),
        ({"pools": ((2, 4), (0, 5), (3, 8))}, "pools=[[2, 4], [0, 5], [3, 8]]: every entry must be >= 1 (got 0)"),
        ({"pools": ((2, 4), (4, 5), (3, -8))}, "every entry must be >= 1 (got -8)"),
        ({"pools": ((2, 4), (4, 5), (13, 8))}, "pool 3 [13, 8] shrinks the 12x68 feature map to 0x8 (input 96x1366)"),
        ({"pools": ((2, 1400), (1, 1), (1, 1))}, "pool 1 [2, 1400] shrinks the 96x1366 feature map to 48x0"),
    ],
)
def test_bad_shapes_are_one_line_user_errors(kwargs, needle):
    with pytest.raises(UserError) as info:
        ModelParams(**kwargs)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_the_smallest_feature_map_before_the_last_block_is_one_by_one():
    assert ModelParams(pools=((2, 4), (4, 5), (12, 68))).pools[2] == (12, 68)  # 12x68 -> 1x1 is allowed
    assert ModelParams(channels=[1, 4, 8, 8, 16], pools=[[2, 4], [4, 5], [3, 8]]).channels == NARROW_CHANNELS


def test_model_params_round_trip(tmp_path):
    params = ModelParams(channels=NARROW_CHANNELS, num_classes=9)
    params.save(tmp_path)
    assert load_model_params(tmp_path) == params
    assert load_model_params(tmp_path / "missing") is None
    (tmp_path / "model_params.json").write_text("{not json")
    with pytest.raises(UserError, match="model_params.json"):
        load_model_params(tmp_path)


def test_params_name_their_architecture_and_take_the_feature_shape():
    params = ModelParams()
    assert params.arch == "fcn4" and MODELS["fcn4"] is MusicTaggerCNN
    assert params.input_shape == features.FEATURE_SHAPE
    assert isinstance(build_network(ModelParams(channels=NARROW_CHANNELS)), MusicTaggerCNN)


def test_saved_params_record_the_arch_and_older_files_read_as_fcn4(tmp_path):
    params = ModelParams(channels=NARROW_CHANNELS, num_classes=9)
    data = json.loads(params.save(tmp_path).read_text())
    assert data["arch"] == "fcn4"
    del data["arch"]
    (tmp_path / "model_params.json").write_text(json.dumps(data))
    assert load_model_params(tmp_path) == params


def test_unknown_arch_is_a_one_line_error_naming_the_file_and_the_known_ones(tmp_path):
    (tmp_path / "model_params.json").write_text(json.dumps({"arch": "resnet9", "channels": list(NARROW_CHANNELS)}))
    with pytest.raises(
        UserError,
        match=r"model_params.json: arch='resnet9' is not a known model architecture; "
        r"known: \['fcn4'\]",
    ) as info:
        load_model_params(tmp_path)
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="arch='resnet9'"):
        ModelParams(arch="resnet9")
