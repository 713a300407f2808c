"""export.py --export_input waveform: raw-audio models whose log-mel front end runs inside the graph.

On the same decoded audio, the waveform model's probabilities must match those of the log-mel
model fed src/features.log_mel (librosa) features within PROB_TOL, for MindIR through MindSpore
and ONNX through ONNX Runtime (issue 12).
"""

import re

import numpy as np
import pytest
import yaml

from src import features
from src.core.errors import UserError
from src.inference.backends import INPUT_SHAPES
from src.inference.exporting import CHECK_BATCHES, export_model
from src.musictagger import ModelParams, MusicTaggerCNN
from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint, write_tone
from tests.helpers.processes import ROOT, reported_export_difference, run_script

PROB_TOL = 1e-4  # issue 12: raw-audio model vs feature-input model, same audio
BATCH = 3
# (seconds, sample rate, suffix): shorter than 29.12 s (zero-padded), about its length, longer (centre-cropped)
AUDIO = ((9.0, 16000, "wav"), (29.12, 22050, "flac"), (40.0, 12000, "wav"))


def _export(ckpt, out, file_format, export_input, batch=BATCH):
    result = run_script(
        "export.py",
        "--ckpt_file",
        str(ckpt),
        "--file_name",
        str(out),
        "--file_format",
        file_format,
        "--export_input",
        export_input,
        "--export_batch_size",
        str(batch),
        "--device_target",
        "CPU",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert reported_export_difference(result.stdout) <= PROB_TOL
    return result.stdout


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """The generated clips as a model gets them: waveforms (BATCH, CLIP_SAMPLES) and their librosa
    features (BATCH, 1, 96, 1366)."""
    root = tmp_path_factory.mktemp("audio")
    paths = [write_tone(root / f"{i}.{ext}", s, sr, seed=i) for i, (s, sr, ext) in enumerate(AUDIO)]
    waveforms = np.stack([features.fix_length(features.load_audio(p)) for p in paths])
    return waveforms, np.stack([features.log_mel(y) for y in waveforms])


@pytest.fixture(scope="module")
def narrow(tmp_path_factory, mindspore_cpu):
    """One narrow checkpoint exported four ways: {(format, input): path}, and export.py's output lines."""
    root = tmp_path_factory.mktemp("waveform_export")
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, seed=4), root / "ckpt")
    paths, stdout = {}, {}
    for file_format in ("MINDIR", "ONNX"):
        for export_input in INPUT_SHAPES:
            out = root / f"{export_input}_{file_format.lower()}"
            stdout[file_format, export_input] = _export(ckpt, out, file_format, export_input)
            paths[file_format, export_input] = out.with_suffix(f".{file_format.lower()}")
    return paths, stdout


def _assert_same_tags(waveform_probs, logmel_probs, what):
    assert waveform_probs.shape == logmel_probs.shape == (BATCH, 50)
    worst = float(np.abs(waveform_probs - logmel_probs).max())
    assert worst <= PROB_TOL, f"{what}: max |waveform model - log-mel model| = {worst:.3g} > {PROB_TOL:g}"
    # Not vacuous: the clips get different probabilities, by far more than the tolerance.
    assert np.abs(np.diff(logmel_probs, axis=0)).max() > 100 * PROB_TOL, logmel_probs


def test_mindir_waveform_model_tags_as_the_log_mel_model(narrow, audio):
    import mindspore as ms
    import mindspore.nn as nn

    paths, stdout = narrow
    waveforms, feats = audio
    assert f"waveform input [{BATCH}, {features.CLIP_SAMPLES}]" in stdout["MINDIR", "waveform"]
    waveform_model = nn.GraphCell(ms.load(str(paths["MINDIR", "waveform"])))
    logmel_model = nn.GraphCell(ms.load(str(paths["MINDIR", "logmel"])))
    _assert_same_tags(
        waveform_model(ms.Tensor(waveforms))[0].asnumpy(), logmel_model(ms.Tensor(feats))[0].asnumpy(), "MindIR"
    )


def test_onnx_waveform_model_tags_as_the_log_mel_model(narrow, audio):
    import onnxruntime as ort

    paths, _ = narrow
    waveforms, feats = audio
    sessions = {
        kind: ort.InferenceSession(str(paths["ONNX", kind]), providers=["CPUExecutionProvider"])
        for kind in INPUT_SHAPES
    }
    (model_input,) = sessions["waveform"].get_inputs()
    assert (model_input.name, model_input.shape) == ("waveform", [BATCH, features.CLIP_SAMPLES])
    assert [out.name for out in sessions["waveform"].get_outputs()] == ["probabilities", "embedding"]
    _assert_same_tags(
        sessions["waveform"].run(None, {"waveform": waveforms})[0],
        sessions["logmel"].run(None, {"logmel": feats})[0],
        "ONNX",
    )


def test_full_size_onnx_waveform_model_tags_as_the_checkpoint(tmp_path, audio, mindspore_cpu):
    """The real FCN-4 (random weights) with the front end, through ONNX Runtime, against the network fed
    librosa features."""
    import mindspore as ms
    import onnxruntime as ort

    network = random_network((1, 128, 384, 768, 2048), seed=6)
    ckpt = save_checkpoint(network, tmp_path / "ckpt")
    _export(ckpt, tmp_path / "full", "ONNX", "waveform", batch=1)
    session = ort.InferenceSession(str(tmp_path / "full.onnx"), providers=["CPUExecutionProvider"])
    waveforms, feats = audio
    for waveform, feature in zip(waveforms, feats, strict=True):
        got = session.run(None, {"waveform": waveform[np.newaxis]})[0]
        expected = network(ms.Tensor(feature[np.newaxis])).asnumpy()
        worst = float(np.abs(got - expected).max())
        assert worst <= PROB_TOL, f"full-size ONNX: max |waveform model - checkpoint on librosa features| = {worst:.3g}"


def test_a_network_of_other_features_is_refused_for_waveform_export(tmp_path, mindspore_cpu):
    network = MusicTaggerCNN(ModelParams(channels=NARROW_CHANNELS, n_frames=1000))
    with pytest.raises(UserError, match=re.escape("export_input=waveform: the log-mel front end makes features of")):
        export_model(network, str(tmp_path / "x"), "ONNX", 1, "waveform")
    assert list(tmp_path.iterdir()) == []


def test_export_input_choices_are_the_input_kinds():
    choices = list(yaml.safe_load_all((ROOT / "default_config.yaml").read_text()))[2]
    assert choices["export_input"] == list(INPUT_SHAPES) == list(CHECK_BATCHES)


def test_waveform_check_batch_is_audio_like():
    batch = CHECK_BATCHES["waveform"](np.random.default_rng(0), (2, *INPUT_SHAPES["waveform"]))
    assert batch.shape == (2, features.CLIP_SAMPLES) and batch.dtype == np.float32
    assert 0.05 < np.abs(batch).max() <= 1.0 and not np.array_equal(batch[0], batch[1])
