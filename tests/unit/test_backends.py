"""src/inference/backends.py: the two input kinds an exported model may take, told apart by its input shape, and
the windows tagging cuts for each (src.inference.tagging.load_track), without a mel computed for a waveform model."""

from pathlib import Path

import numpy as np
import pytest

from src import features
from src.core.errors import UserError
from src.inference import tagging
from src.inference.backends import INPUT_SHAPES, Backend, check_input_shape
from tests.helpers.models import write_tone

CLIP = features.CLIP_SAMPLES


@pytest.mark.parametrize(
    "shape, batch, kind",
    [
        ([4, 1, 96, 1366], 4, "logmel"),
        (["batch", 1, 96, 1366], None, "logmel"),
        ([1, CLIP], 1, "waveform"),
        ([-1, CLIP], None, "waveform"),
        (["N", CLIP], None, "waveform"),
    ],
)
def test_both_input_kinds_are_recognised_by_their_shape(shape, batch, kind):
    assert check_input_shape(Path("m.onnx"), shape) == (batch, kind)


@pytest.mark.parametrize(
    "shape", [[1, 96, 1366], [CLIP], [2, CLIP + 1], [2, 1, CLIP], [2, 96, 1366], [2, 1, 96, 1366, 1], []]
)
def test_any_other_input_shape_is_a_one_line_error_naming_both_kinds(shape):
    with pytest.raises(UserError) as caught:
        check_input_shape(Path("m.onnx"), shape)
    message = str(caught.value)
    assert "\n" not in message
    assert f"m.onnx: model input has shape {shape}" in message
    assert f"[batch, 1, 96, 1366] (logmel) or [batch, {CLIP}] (waveform)" in message


def test_a_backend_exposes_its_input_kind_and_per_item_shape():
    logmel = Backend(Path("a.ckpt"), None, 50)
    waveform = Backend(Path("b.onnx"), 2, 10, "waveform")
    assert (logmel.input_kind, logmel.input_shape) == ("logmel", features.FEATURE_SHAPE)
    assert (waveform.input_kind, waveform.input_shape) == ("waveform", (CLIP,))
    assert waveform.describe() == " b.onnx (batch 2, waveform input, 10 tags)"
    assert set(INPUT_SHAPES) == {"logmel", "waveform"}


@pytest.fixture(scope="module")
def long_track(tmp_path_factory) -> Path:
    """A 40 s stereo 22.05 kHz file: three 29.12 s windows at hop 10 s (starts 0, 10 and 10.88 s)."""
    return write_tone(tmp_path_factory.mktemp("audio") / "long.wav", 40.0, 22050, channels=2, seed=4)


def test_waveform_windows_are_the_log_mel_windows_samples_and_no_mel_is_computed(long_track, monkeypatch):
    logmel = tagging.load_track(long_track, 10.0, "logmel")

    def no_mel(_):
        raise AssertionError("log_mel must not run for a waveform model")

    monkeypatch.setattr(tagging, "log_mel", no_mel)
    waveform = tagging.load_track(long_track, 10.0, "waveform")

    assert not waveform.error and waveform.inputs.shape == (3, CLIP) and waveform.inputs.dtype == np.float32
    np.testing.assert_array_equal(waveform.starts_s, logmel.starts_s)
    assert waveform.duration_s == logmel.duration_s
    y = features.load_audio(long_track)
    for start_s, window, mel in zip(waveform.starts_s, waveform.inputs, logmel.inputs, strict=True):
        start = round(start_s * features.SAMPLE_RATE)
        np.testing.assert_array_equal(window, features.fix_length(y[start : start + CLIP]))
        np.testing.assert_array_equal(features.log_mel(window), mel)  # the features the log-mel model gets


def test_a_short_track_is_one_zero_padded_window_of_samples(tmp_path):
    short = write_tone(tmp_path / "short.flac", 3.0, 8000, seed=5)
    track = tagging.load_track(short, 10.0, "waveform")
    y = features.load_audio(short)
    assert track.inputs.shape == (1, CLIP)
    np.testing.assert_array_equal(track.inputs[0, : y.size], y)
    assert not track.inputs[0, y.size :].any()
