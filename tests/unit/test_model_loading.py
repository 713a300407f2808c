"""Loading a checkpoint: its shape from its run info, model_params.json beside it or its weights (never
guessed), its tag names before any tags.txt near it, and one-line errors when neither can be known."""

import logging

import numpy as np
import pytest

from src.core.errors import UserError
from src.core.tag_list import resolve_tags
from src.inference.backends import CheckpointBackend
from src.model import checkpoint
from src.model.loading import load_checkpoint_network, load_network
from src.musictagger import ModelParams
from tests.helpers.models import NARROW_CHANNELS, feature_batch, random_network, save_checkpoint, write_tags

ODD_POOLS = ((4, 2), (3, 5), (2, 8))  # not the reference pools: the weights alone cannot tell them


def _network(pools=ODD_POOLS, num_classes=6, channels=NARROW_CHANNELS, seed=4):
    network = random_network(channels, num_classes=num_classes, seed=seed)
    params = ModelParams(channels=tuple(channels), pools=pools, num_classes=num_classes)
    shaped = type(network)(params)
    for mine, theirs in zip(shaped.get_parameters(), network.get_parameters(), strict=True):
        mine.set_data(theirs.data)
    shaped.set_train(False)
    return shaped


def _outputs(network, batch):
    import mindspore as ms

    return network(ms.Tensor(batch)).asnumpy()


def _save_with_run_info(network, path, tags):
    run_info = {"model": network.params.to_dict(), "tags": tags}
    path.parent.mkdir(parents=True, exist_ok=True)
    return checkpoint.save(network, path, run_info=run_info)


def load_tagged_network(path, mr_path="", tags_file=""):
    """The network and tag names tag.py gets for a checkpoint: its own names win over any tags.txt."""
    network, own = load_checkpoint_network(path)
    return network, resolve_tags(path, network.params.num_classes, tags_file, mr_path, own)


@pytest.fixture
def moved(tmp_path, mindspore_cpu):
    """A narrow 6-tag checkpoint with odd pools and its run info, alone in a folder (no model_params.json)."""
    network = _network()
    tags = [f"t{i}" for i in range(6)]
    return network, _save_with_run_info(network, tmp_path / "elsewhere" / "model.ckpt", tags), tags


def test_a_moved_checkpoint_is_rebuilt_from_its_run_info_with_its_tag_names(moved):
    network, path, tags = moved
    loaded, names = load_tagged_network(path)
    assert loaded.params == network.params
    assert names == tags
    batch = feature_batch(2, seed=1)
    np.testing.assert_array_equal(_outputs(loaded, batch), _outputs(network, batch))
    assert load_network(path).params == network.params  # a config fallback no longer wins


def test_run_info_wins_over_a_model_params_json_that_disagrees(moved, caplog):
    network, path, _ = moved
    ModelParams(channels=NARROW_CHANNELS, num_classes=6).save(path.parent)  # reference pools: wrong
    with caplog.at_level(logging.WARNING, logger="fcn4"):
        loaded, _ = load_checkpoint_network(path)
    assert loaded.params == network.params
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "model_params.json" in warnings[0] and "using the checkpoint's" in warnings[0]


def test_the_checkpoints_own_tags_win_over_a_different_tags_txt_with_one_warning(moved, tmp_path, caplog):
    _, path, tags = moved
    write_tags(path.parent / "tags.txt", 6)  # "tag 0".. : another preprocessing run's names
    write_tags(tmp_path / "mr" / "tags.txt", 6)
    with caplog.at_level(logging.WARNING, logger="fcn4"):
        _, names = load_tagged_network(path, mr_path=tmp_path / "mr")
    assert names == tags
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "tags.txt does not list the tags" in warnings[0], warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fcn4"):
        assert load_tagged_network(path, tags_file=tmp_path / "mr" / "tags.txt")[1] == tags
    assert any("using the checkpoint's own" in r.getMessage() for r in caplog.records)


def test_a_checkpoint_without_run_info_uses_model_params_json_and_a_tags_txt(tmp_path, mindspore_cpu):
    network = _network()
    path = save_checkpoint(network, tmp_path / "run")
    tags = write_tags(tmp_path / "mr" / "tags.txt", 6)
    loaded, names = load_tagged_network(path, mr_path=tmp_path / "mr")
    assert loaded.params == network.params and names == tags
    assert load_checkpoint_network(path)[1] is None


def test_a_narrow_checkpoint_with_no_recorded_shape_is_a_one_line_error(tmp_path, mindspore_cpu):
    path = save_checkpoint(_network(), tmp_path / "moved", with_params=False)
    with pytest.raises(UserError) as info:
        load_network(path)
    message = str(info.value)
    assert "\n" not in message
    for needle in (str(path), "model_params.json is missing", "[1, 4, 8, 8, 16]", "pools cannot be known"):
        assert needle in message, message


def test_a_reference_width_checkpoint_with_nothing_beside_it_loads_as_fcn4(tmp_path, mindspore_cpu):
    network = random_network(ModelParams().channels, num_classes=10, seed=2)  # the model zoo's widths
    path = save_checkpoint(network, tmp_path / "zoo", with_params=False)
    loaded = load_network(path)
    assert loaded.params == ModelParams(num_classes=10)
    batch = feature_batch(1, seed=3)
    np.testing.assert_array_equal(_outputs(loaded, batch), _outputs(network, batch))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"model": {"channels": [1, 4]}}, "the network shape it records is not valid (channels=[1, 4]"),
        ({"model": None}, "the network shape it records is not valid"),
        ({"tags": ["a", "a", "b", "c", "d", "e"]}, "the tag list it records names a tag twice"),
        ({"tags": ["a", "", "b", "c", "d", "e"]}, "the tag list it records is not a list of tag names"),
        ({"tags": "abcdef"}, "the tag list it records is not a list of tag names"),
        ({"tags": ["a", "b"]}, "the tag list it records names 2 tags, it predicts 6"),
    ],
)
def test_broken_run_info_is_a_one_line_error(tmp_path, mindspore_cpu, change, needle):
    network = _network()
    run_info = {"model": network.params.to_dict(), "tags": [f"t{i}" for i in range(6)], **change}
    path = checkpoint.save(network, tmp_path / "x.ckpt", run_info=run_info)
    with pytest.raises(UserError, match=f"checkpoint {path}") as info:
        load_checkpoint_network(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_the_checkpoint_backend_carries_the_checkpoints_own_tags(moved):
    network, path, tags = moved
    backend = CheckpointBackend(path)
    assert backend.own_tags == tags and backend.num_classes == 6
