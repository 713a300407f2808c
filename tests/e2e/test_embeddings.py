"""tag.py --embeddings and the API's Model.embed from a checkpoint, a MindIR and an ONNX export (the exports'
second output), older one-output exports, and what an embeddings folder may replace."""

import csv

import mindspore
import numpy as np
import pytest

from src.api import load_model
from src.features import extract
from src.inference.backends import CheckpointBackend, OnnxBackend, run_all
from src.inference.exporting import export_model
from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint, write_tags, write_tone
from tests.helpers.processes import assert_one_line_error, run_script

WIDTH = NARROW_CHANNELS[-1]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, mindspore_cpu):
    """Two tracks (5 s and 40 s), a narrow checkpoint, its two-output exports and one-output exports of the same
    network as export.py made them before embeddings."""
    root = tmp_path_factory.mktemp("embeddings")
    music = root / "music"
    write_tone(music / "short.wav", 5.0, 16000, seed=1)
    write_tone(music / "long.ogg", 40.0, 22050, seed=2)
    network = random_network(NARROW_CHANNELS, num_classes=7, seed=3)
    ckpt = save_checkpoint(network, root / "ckpt")
    write_tags(root / "ckpt" / "tags.txt", 7)
    models = {"ckpt": ckpt}
    for name, file_format in (("mindir", "MINDIR"), ("onnx", "ONNX")):
        models[name] = export_model(network, str(root / "export" / "fcn4"), file_format, 2).path
    batch = mindspore.Tensor(np.zeros((2, 1, 96, 1366), np.float32))
    mindspore.export(network, batch, file_name=str(root / "old" / "fcn4"), file_format="MINDIR")
    mindspore.onnx.export(network, batch, file_name=str(root / "old" / "fcn4.onnx"), input_names=["logmel"])
    for folder in ("export", "old"):
        write_tags(root / folder / "tags.txt", 7)
    old = {"mindir": root / "old" / "fcn4.mindir", "onnx": root / "old" / "fcn4.onnx"}
    return {"root": root, "music": music, "network": network, "models": models, "old": old}


def _embed(model, out, *extra, env=None):
    args = ("--model", str(model), str(out.parent / "music"), "--embeddings", str(out), "--hop_seconds", "10")
    return run_script("tag.py", *args, *extra, "--no_progress", env=env)


def _index(folder) -> dict:
    with open(folder / "embeddings.csv", newline="") as handle:
        return {row["path"].rsplit("/", 1)[-1]: row for row in csv.DictReader(handle)}


def test_every_model_writes_window_and_mean_embeddings_equal_to_the_checkpoint_networks(setup, tmp_path):
    reference = None
    for name, model in setup["models"].items():
        out = setup["root"] / f"emb_{name}"
        result = _embed(model, out)
        assert result.returncode == 0, result.stderr[-3000:]
        index = _index(out)
        assert set(index) == {"short.wav", "long.ogg"}
        assert (index["long.ogg"]["windows"], index["long.ogg"]["window_starts_s"]) == ("3", "0.000;10.000;10.880")
        assert index["long.ogg"]["hop_seconds"] == "10.0"
        windows = {track: np.load(out / row["windows_file"], allow_pickle=False) for track, row in index.items()}
        for track, row in index.items():
            mean = np.load(out / row["mean_file"], allow_pickle=False)
            assert windows[track].dtype == np.float32 and windows[track].shape == (int(row["windows"]), WIDTH)
            np.testing.assert_allclose(mean, windows[track].mean(axis=0), rtol=1e-6)
        reference = reference or windows
        for track in windows:
            np.testing.assert_allclose(windows[track], reference[track], rtol=1e-4, atol=1e-4)
    short = mindspore.Tensor(extract(setup["music"] / "short.wav")[None])
    np.testing.assert_allclose(reference["short.wav"][0], setup["network"].embed(short).asnumpy()[0], rtol=1e-5)


def test_the_onnx_path_gives_embeddings_without_mindspore(setup, tmp_path):
    blocker = tmp_path / "blocker" / "mindspore"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('mindspore must not be imported on the ONNX path')\n")
    out = setup["root"] / "emb_blocked"
    result = _embed(setup["models"]["onnx"], out, env={"PYTHONPATH": str(blocker.parent)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(_index(out)) == 2


@pytest.mark.parametrize("kind", ["mindir", "onnx"])
def test_an_export_from_before_embeddings_still_tags_and_says_it_has_none(setup, kind):
    model = setup["old"][kind]
    tagged = run_script("tag.py", "--model", str(model), str(setup["music"]), "--no_progress")
    assert tagged.returncode == 0, tagged.stderr[-3000:]
    assert "tag 0" in tagged.stdout or "tag 1" in tagged.stdout
    out = setup["root"] / f"emb_old_{kind}"
    assert_one_line_error(_embed(model, out), "has no embedding output", "--embeddings", "export it again")
    assert not out.exists()


def test_an_embeddings_folder_keeps_files_tag_py_did_not_write(setup):
    out = setup["root"] / "emb_foreign"
    out.mkdir()
    (out / "short_mean.npy").write_bytes(b"someone else's")
    assert_one_line_error(_embed(setup["models"]["ckpt"], out), "short_mean.npy exists and is not an embedding")
    assert sorted(p.name for p in out.iterdir()) == ["short_mean.npy"]
    (out / "short_mean.npy").unlink()
    assert _embed(setup["models"]["ckpt"], out).returncode == 0
    assert _embed(setup["models"]["ckpt"], out).returncode == 0  # its own earlier files are replaced


def test_the_api_embeds_as_tag_py_does_and_backends_agree(setup):
    model = load_model(setup["models"]["onnx"])
    result = model.embed(setup["music"] / "long.ogg", hop_seconds=10.0)
    written = np.load(setup["root"] / "emb_onnx" / "long_windows.npy", allow_pickle=False)
    np.testing.assert_allclose(result.windows, written, rtol=1e-6)
    assert result.mean.shape == (WIDTH,) and list(result.window_starts_s) == pytest.approx([0.0, 10.0, 10.88], abs=1e-3)
    features = np.stack([extract(setup["music"] / "short.wav")] * 3)
    probabilities, embeddings = run_all(CheckpointBackend(setup["models"]["ckpt"]), features, 2)
    onnx = OnnxBackend(setup["models"]["onnx"])
    assert onnx.embedding_size == WIDTH and OnnxBackend(setup["old"]["onnx"]).embedding_size is None
    np.testing.assert_allclose(run_all(onnx, features, 2)[1], embeddings, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(probabilities, onnx.predict(features[:2])[[0, 1, 1]], atol=1e-5)
