"""A checkpoint taken out of its run folder: export.py and tag.py rebuild it from the run info it carries
(pools the weights cannot show included), and refuse in one line one that records no shape at all."""

import json

import numpy as np
import pytest

from src import features
from src.model import checkpoint
from src.musictagger import ModelParams, MusicTaggerCNN
from tests.helpers.models import NARROW_CHANNELS, feature_batch, random_network, write_tags, write_tone
from tests.helpers.processes import assert_one_line_error, run_script

ODD_POOLS = ((4, 2), (3, 5), (2, 8))  # a config's default pools would load these weights, and compute wrongly
NUM_CLASSES = 6


def _outputs(network, batch):
    import mindspore as ms

    return network(ms.Tensor(batch)).asnumpy()


@pytest.fixture(scope="module")
def moved(tmp_path_factory, mindspore_cpu):
    """A narrow network with odd pools, saved with its run info alone in a folder (no model_params.json)."""
    root = tmp_path_factory.mktemp("moved")
    network = MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS, pools=ODD_POOLS, num_classes=NUM_CLASSES))
    for mine, random in zip(
        network.get_parameters(), random_network(NARROW_CHANNELS, NUM_CLASSES, seed=7).get_parameters(), strict=True
    ):
        mine.set_data(random.data)
    network.set_train(False)
    tags = [f"t{i}" for i in range(NUM_CLASSES)]
    path = checkpoint.save(
        network, root / "away" / "model.ckpt", run_info={"model": network.params.to_dict(), "tags": tags}
    )
    return {"root": root, "network": network, "ckpt": path, "tags": tags}


def test_export_rebuilds_a_moved_checkpoint_with_its_own_pools(moved, tmp_path):
    import mindspore as ms
    import mindspore.nn as nn

    result = run_script(
        "export.py",
        "--ckpt_file",
        str(moved["ckpt"]),
        "--file_name",
        str(tmp_path / "fcn4"),
        "--device_target",
        "CPU",
        "--channels",
        str(list(NARROW_CHANNELS)),  # the config's shape: it must not be used for the pools
        "--num_classes",
        str(NUM_CLASSES),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    batch = feature_batch(1, seed=5)
    got = nn.GraphCell(ms.load(str(tmp_path / "fcn4.mindir")))(ms.Tensor(batch))[0].asnumpy()  # output 0
    np.testing.assert_allclose(got, _outputs(moved["network"], batch), rtol=0, atol=1e-5)


def test_tag_py_scores_a_moved_checkpoint_as_trained(moved, tmp_path):
    audio = write_tone(tmp_path / "a.wav", 5.0, 16000, seed=4)
    write_tags(moved["ckpt"].parent / "tags.txt", NUM_CLASSES)
    report = tmp_path / "r.json"
    result = run_script(
        "tag.py",
        "--model",
        str(moved["ckpt"]),
        str(audio),
        "--format",
        "json",
        "--output",
        str(report),
        "--no_progress",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (track,) = json.loads(report.read_text())["tracks"]
    expected = _outputs(moved["network"], features.extract(audio)[None])[0]
    np.testing.assert_allclose(track["taggram"][0], expected, atol=1e-5)


def test_a_narrow_checkpoint_that_records_no_shape_is_a_one_line_error(tmp_path, mindspore_cpu):
    path = checkpoint.save(random_network(NARROW_CHANNELS), tmp_path / "model.ckpt")
    audio = write_tone(tmp_path / "a.wav", 2.0, 16000)
    result = run_script("tag.py", "--model", str(path), str(audio), "--no_progress")
    assert_one_line_error(result, str(path), "model_params.json is missing", "pools cannot be known")
