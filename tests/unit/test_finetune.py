"""src/training/finetune.py: the body of a checkpoint always loads, its classifier only for the same tags, and a
checkpoint of other widths is refused naming both shapes."""

import numpy as np
import pytest

from src.core.errors import UserError
from src.model import checkpoint
from src.musictagger import ModelParams, MusicTaggerCNN
from src.training import finetune
from tests.helpers.models import NARROW_CHANNELS, random_network

TAGS = ["piano", "drums", "fast", "slow", "voice"]


def _source(tmp_path, tags=TAGS, channels=NARROW_CHANNELS, named=True):
    network = random_network(channels, num_classes=len(tags), seed=3)
    info = {"model": network.params.to_dict(), "tags": tags} if named else None
    return network, checkpoint.save(network, tmp_path / "source.ckpt", run_info=info)


def _target(num_classes, seed=11):
    import mindspore as ms

    ms.set_seed(seed)
    return MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS, num_classes=num_classes))


def _values(network):
    return {p.name: p.asnumpy().copy() for p in network.get_parameters()}


def test_a_new_tag_set_loads_the_body_with_its_statistics_and_keeps_the_fresh_classifier(tmp_path, mindspore_cpu):
    source, path = _source(tmp_path)
    target = _target(3)
    fresh = _values(target)
    line = finetune.load_pretrained(target, path, ["a", "b", "c"])
    loaded, original = _values(target), _values(source)
    for name, value in loaded.items():
        expected = fresh[name] if name.startswith("dense.") else original[name]
        np.testing.assert_array_equal(value, expected, err_msg=name)
    assert any(name.endswith("moving_variance") for name in loaded)
    assert line == (
        "loaded conv1..4 and bn1..4 (weights and moving statistics); the classifier is re-initialised for this "
        "run's 3 tags (5 outputs in the checkpoint)"
    )


def test_the_fresh_classifier_is_seeded(mindspore_cpu):
    first, again, other = (_target(3, seed).dense.weight.asnumpy() for seed in (11, 11, 12))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_the_same_tags_load_the_classifier_too_and_other_tags_of_the_same_width_do_not(tmp_path, mindspore_cpu):
    source, path = _source(tmp_path)
    target = _target(5)
    assert "and the classifier (5 tags; the same tags)" in finetune.load_pretrained(target, path, TAGS)
    np.testing.assert_array_equal(target.dense.weight.asnumpy(), source.dense.weight.asnumpy())
    other = _target(5)
    before = other.dense.weight.asnumpy().copy()
    assert "re-initialised for this run's 5 tags (other tags)" in finetune.load_pretrained(other, path, TAGS[::-1])
    np.testing.assert_array_equal(other.dense.weight.asnumpy(), before)


def test_a_checkpoint_without_tag_names_keeps_its_classifier_unless_its_known_tags_differ(tmp_path, mindspore_cpu):
    source, path = _source(tmp_path, named=False)
    target = _target(5)
    assert "the checkpoint names no tags, taken as this run's" in finetune.load_pretrained(target, path, TAGS)
    np.testing.assert_array_equal(target.dense.bias.asnumpy(), source.dense.bias.asnumpy())
    zoo_like = _target(5)
    assert "(other tags)" in finetune.load_pretrained(zoo_like, path, TAGS, known_tags=TAGS[::-1])
    assert not np.array_equal(zoo_like.dense.bias.asnumpy(), source.dense.bias.asnumpy())


def test_other_conv_widths_are_one_line_naming_both_shapes(tmp_path, mindspore_cpu):
    _, path = _source(tmp_path, channels=(1, 4, 8, 8, 32))
    target = _target(3)
    before = _values(target)
    with pytest.raises(UserError) as info:
        finetune.load_pretrained(target, path, ["a", "b", "c"])
    message = str(info.value)
    assert "'conv4.weight' of shape (32, 8, 3, 3), this run's network has (16, 8, 3, 3)" in message
    assert "\n" not in message
    assert all(np.array_equal(before[k], v) for k, v in _values(target).items()), "a refused load changes nothing"


def test_the_cached_zoo_checkpoint_is_taken_to_predict_the_reference_tags(tmp_path, monkeypatch, mindspore_cpu):
    """The zoo's checkpoint records no tag names: its classifier is kept only for a dataset of the reference's 50."""
    from src.model import pretrained

    monkeypatch.setenv("FCN4_CACHE", str(tmp_path / "cache"))
    pretrained.zoo_path().parent.mkdir(parents=True)
    network = random_network(NARROW_CHANNELS, num_classes=50, seed=3)
    checkpoint.save(network, pretrained.zoo_path())
    reference = _target(50)
    assert "the same tags" in finetune.load_pretrained(reference, pretrained.zoo_path(), list(pretrained.ZOO_TAGS))
    np.testing.assert_array_equal(reference.dense.bias.asnumpy(), network.dense.bias.asnumpy())
    own = _target(50)
    assert "(other tags)" in finetune.load_pretrained(own, pretrained.zoo_path(), [f"t{i}" for i in range(50)])
    assert not np.array_equal(own.dense.bias.asnumpy(), network.dense.bias.asnumpy())
