"""Tests for src/features.py on small generated audio files (mp3 via libsndfile, wav)."""

import json

import librosa
import numpy as np
import pytest
import soundfile as sf

from src import features
from src.features import AudioError


def _tone(seconds: float, sr: int, channels: int = 1) -> np.ndarray:
    """A 440 Hz sine plus a little noise, (samples,) or (samples, channels) float32."""
    t = np.arange(int(seconds * sr)) / sr
    noise = np.random.default_rng(0).standard_normal((t.size, channels))
    y = 0.3 * np.sin(2 * np.pi * 440 * t)[:, None] + 0.05 * noise
    return (y[:, 0] if channels == 1 else y).astype(np.float32)


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> dict:
    """MTAT-like 16 kHz mono mp3s (10 s and 40 s) and a 44.1 kHz stereo wav (10 s)."""
    root = tmp_path_factory.mktemp("audio")
    files = {
        "mp3_10s": (root / "short.mp3", _tone(10, 16000), 16000, "MP3"),
        "mp3_40s": (root / "long.mp3", _tone(40, 16000), 16000, "MP3"),
        "wav_stereo": (root / "stereo.wav", _tone(10, 44100, channels=2), 44100, "WAV"),
    }
    for path, y, sr, fmt in files.values():
        sf.write(path, y, sr, format=fmt)
    return {name: spec[0] for name, spec in files.items()}


def reference_melgram(path) -> np.ndarray:
    """The reference preprocessing, written out literally (REFERENCE.md "Features")."""
    src, _ = librosa.load(path, sr=12000)
    n_sample = src.shape[0]
    n_sample_fit = int(29.12 * 12000)
    if n_sample < n_sample_fit:
        src = np.hstack((src, np.zeros((n_sample_fit - n_sample,))))
    elif n_sample > n_sample_fit:
        src = src[(n_sample - n_sample_fit) // 2 : (n_sample + n_sample_fit) // 2]
    return librosa.amplitude_to_db(
        librosa.feature.melspectrogram(y=src, sr=12000, hop_length=256, n_fft=512, n_mels=96)
    )


def test_constants_match_the_reference():
    assert features.CLIP_SAMPLES == 349440
    assert features.N_FRAMES == 1366
    assert features.FEATURE_SHAPE == (1, 96, 1366)


def test_feature_params_are_json_and_complete():
    params = features.feature_params()
    assert json.loads(json.dumps(params)) == params  # compared with manifests as read back, no conversion
    assert params == {
        "sample_rate": 12000,
        "n_fft": 512,
        "hop_length": 256,
        "n_mels": 96,
        "clip_seconds": 29.12,
        "clip_samples": 349440,
        "n_frames": 1366,
        "feature_shape": [1, 96, 1366],
        "top_db": 80.0,
        "librosa_version": librosa.__version__,
    }


@pytest.mark.parametrize("name", ["mp3_10s", "mp3_40s", "wav_stereo"])
def test_extract_matches_reference_formula(audio, name):
    feature = features.extract(audio[name])
    assert feature.shape == (1, 96, 1366)
    assert feature.dtype == np.float32
    np.testing.assert_allclose(feature[0], reference_melgram(audio[name]), rtol=0, atol=1e-4)


def test_log_mel_matches_plain_melspectrogram():
    y = np.random.default_rng(1).standard_normal(features.CLIP_SAMPLES).astype(np.float32)
    plain = librosa.amplitude_to_db(librosa.feature.melspectrogram(y=y, sr=12000, n_fft=512, hop_length=256, n_mels=96))
    np.testing.assert_allclose(features.log_mel(y)[0], plain, rtol=0, atol=1e-4)


def test_log_mel_rejects_unfixed_length():
    with pytest.raises(ValueError, match="1366 frames"):
        features.log_mel(np.zeros(features.CLIP_SAMPLES + features.HOP_LENGTH, dtype=np.float32))


def test_load_audio_is_mono_float32_at_12k(audio):
    y = features.load_audio(audio["wav_stereo"])
    assert y.dtype == np.float32
    assert y.ndim == 1
    assert abs(y.size - 10 * 12000) <= 1  # the resampler rounds the length up


def test_fix_length_pads_zeros_at_the_end():
    y = np.arange(1, 1001, dtype=np.float32)
    fixed = features.fix_length(y)
    assert fixed.shape == (features.CLIP_SAMPLES,)
    assert fixed.dtype == np.float32
    np.testing.assert_array_equal(fixed[:1000], y)
    assert not fixed[1000:].any()


@pytest.mark.parametrize("extra, start", [(0, 0), (1, 0), (5, 2), (10, 5)])
def test_fix_length_crops_the_centre(extra, start):
    y = np.arange(features.CLIP_SAMPLES + extra, dtype=np.float64)
    fixed = features.fix_length(y)
    assert fixed.shape == (features.CLIP_SAMPLES,)
    assert fixed[0] == start
    assert fixed[-1] == start + features.CLIP_SAMPLES - 1


def test_audio_error_for_missing_file(tmp_path):
    with pytest.raises(AudioError, match="missing file") as info:
        features.load_audio(tmp_path / "absent.mp3")
    assert "absent.mp3" in str(info.value)


def test_audio_error_for_empty_file(tmp_path):
    (tmp_path / "empty.mp3").write_bytes(b"")
    with pytest.raises(AudioError) as info:
        features.extract(tmp_path / "empty.mp3")
    assert info.value.reason == "empty file"


def test_audio_error_for_truncated_mp3_without_warnings(audio, tmp_path, recwarn):
    truncated = tmp_path / "truncated.mp3"
    truncated.write_bytes(audio["mp3_10s"].read_bytes()[:300])
    with pytest.raises(AudioError) as info:
        features.load_audio(truncated)
    assert info.value.reason.startswith("undecodable: ")
    assert not [w for w in recwarn if issubclass(w.category, UserWarning | FutureWarning)]


def test_audio_error_for_random_bytes(tmp_path):
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(2).bytes(4000))
    with pytest.raises(AudioError) as info:
        features.load_audio(garbage)
    assert info.value.reason.startswith("undecodable: ")


def test_a_clip_under_a_second_is_padded_like_any_short_clip(tmp_path):
    blip = tmp_path / "blip.wav"
    sf.write(blip, _tone(0.5, 16000), 16000)
    feature, samples = features.extract_with_length(blip)
    assert samples == 6000 < features.SHORT_SAMPLES
    np.testing.assert_array_equal(feature, features.log_mel(features.fix_length(features.load_audio(blip))))
    np.testing.assert_array_equal(features.extract(blip), feature)


def test_audio_error_for_a_file_that_decodes_to_no_sample(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError) as info:
        features.load_audio(silent)
    assert info.value.reason == "no audio: decodes to 0 samples"
