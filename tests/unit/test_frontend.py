"""src/model/frontend.py: the MindSpore log-mel front end against src/features.log_mel (librosa), the reference.

Parity is measured on generated clips cut or padded by features.fix_length as preprocessing does:
within DB_TOL dB in every bin above the clip's top_db floor, and the bins librosa floors floored too.
"""

import numpy as np
import pytest

from src import features
from src.features import CLIP_SAMPLES, FEATURE_SHAPE, N_FFT, SAMPLE_RATE, TOP_DB

DB_TOL = 1e-3  # issue 12: max |dB difference| in the bins above the top_db floor


def _chord(seconds: float, seed: int, level: float = 0.25, swell_s: float = 7.0) -> np.ndarray:
    """Tones across the band plus noise, their loudness swelling and fading every `swell_s`; float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tones = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in rng.uniform(50, 5800, 4)) / 4
    y = (tones + rng.normal(0.0, 0.05, t.size)) * (0.55 + 0.45 * np.sin(2 * np.pi * t / swell_s))
    return (level * y).astype(np.float32)


def _mostly_silent(seconds: float, seed: int) -> np.ndarray:
    """A chord heard only in two bursts, digital silence elsewhere: most bins sit on the floor."""
    y = _chord(seconds, seed)
    keep = np.zeros(y.size, bool)
    keep[y.size // 5 : y.size // 5 + 3 * SAMPLE_RATE] = True
    keep[-SAMPLE_RATE:] = True
    return np.where(keep, y, 0.0).astype(np.float32)


CLIPS = {
    "chord": lambda: _chord(features.CLIP_SECONDS, 1),
    "loud noise": lambda: np.random.default_rng(2).uniform(-1, 1, CLIP_SAMPLES).astype(np.float32),
    "quiet chord": lambda: _chord(features.CLIP_SECONDS, 3, level=1e-3, swell_s=3.0),
    "mostly silent": lambda: _mostly_silent(features.CLIP_SECONDS, 4),
    "all silent": lambda: np.zeros(CLIP_SAMPLES, np.float32),
    "short, zero-padded": lambda: _chord(9.5, 5),
    "under a second": lambda: _chord(0.6, 6),
    "long, centre-cropped": lambda: _chord(41.0, 7, swell_s=11.0),
}


@pytest.fixture(scope="module")
def parity(mindspore_cpu):
    """{clip name: (librosa's log-mel, the front end's)} for every clip in CLIPS, one batch through the front end."""
    from src.model.frontend import log_mel_batch

    waveforms = np.stack([features.fix_length(make()) for make in CLIPS.values()])
    got = log_mel_batch(waveforms)
    return {name: (features.log_mel(y), out) for name, y, out in zip(CLIPS, waveforms, got, strict=True)}


@pytest.mark.parametrize("name", list(CLIPS))
def test_front_end_equals_librosa_above_the_floor(parity, name):
    expected, got = parity[name]
    assert got.shape == expected.shape == FEATURE_SHAPE and got.dtype == np.float32
    floor = expected.max() - TOP_DB
    above = expected > floor
    worst = float(np.abs(got - expected)[above].max())
    assert worst <= DB_TOL, f"{name}: max |dB difference| above the floor {worst:.3g} > {DB_TOL:g}"


@pytest.mark.parametrize("name", list(CLIPS))
def test_front_end_floors_the_bins_librosa_floors(parity, name):
    """Same floor value, and the same bins on it but for bins within DB_TOL of it, where rounding decides."""
    expected, got = parity[name]
    floor = expected.max() - TOP_DB
    floored = expected <= floor
    worst = float(np.abs(got[floored] - floor).max(initial=0.0))
    assert worst <= DB_TOL, f"{name}: floored bins {worst:.3g} dB off the floor"
    disagree = floored != (got <= got.max() - TOP_DB)
    assert np.all(np.abs(expected[disagree] - floor) <= DB_TOL), f"{name}: {disagree.sum()} bins floored by one only"


def test_the_clips_exercise_the_floor_and_the_range_above_it(parity):
    """Not vacuous: some clips are floored in most bins, others nowhere, and bins lie just above the floor."""
    floored = {name: float((e <= e.max() - TOP_DB).mean()) for name, (e, _) in parity.items()}
    assert floored["mostly silent"] > 0.5 and floored["all silent"] == 0.0, floored
    near = sum(int(((e > e.max() - TOP_DB) & (e < e.max() - TOP_DB + 3)).sum()) for e, _ in parity.values())
    assert near > 1000, near
    np.testing.assert_allclose(parity["all silent"][1], -100.0, rtol=0, atol=DB_TOL)  # 20 log10(amin 1e-5)


def test_stft_kernel_is_the_windowed_real_fft(mindspore_cpu):
    """Row k of the kernel against frame x gives rfft(hann * x)[k]: cos rows the real part, the rest the imaginary."""
    import scipy.signal

    from src.model.frontend import N_BINS, stft_kernel

    kernel = stft_kernel()
    assert kernel.shape == (2 * N_BINS, 1, 1, N_FFT) and kernel.dtype == np.float32
    frame = np.random.default_rng(0).normal(size=N_FFT)
    spectrum = np.fft.rfft(scipy.signal.get_window("hann", N_FFT, fftbins=True) * frame)
    got = kernel[:, 0, 0, :].astype(np.float64) @ frame
    np.testing.assert_allclose(got[:N_BINS], spectrum.real, atol=1e-5)
    np.testing.assert_allclose(got[N_BINS:], spectrum.imag, atol=1e-5)


def test_waveform_tagger_is_the_front_end_then_the_network(mindspore_cpu):
    import mindspore as ms

    from src.model.frontend import WaveformTagger, log_mel_batch
    from tests.helpers.models import NARROW_CHANNELS, random_network

    network = random_network(NARROW_CHANNELS, num_classes=7, seed=2)
    tagger = WaveformTagger(network)
    assert tagger.params is network.params
    waveforms = np.stack([features.fix_length(_chord(12.0, seed)) for seed in (8, 9)])
    got = tagger(ms.Tensor(waveforms)).asnumpy()
    assert got.shape == (2, 7)
    np.testing.assert_allclose(got, network(ms.Tensor(log_mel_batch(waveforms))).asnumpy(), rtol=0, atol=1e-6)
    front_end_weights = [p.name for p in tagger.get_parameters() if p.name.startswith("frontend.")]
    assert front_end_weights and not any(
        p.requires_grad for p in tagger.get_parameters() if p.name in front_end_weights
    )


def test_log_mel_batch_refuses_other_shapes():
    from src.model.frontend import log_mel_batch

    with pytest.raises(ValueError, match=f"expects \\(batch, {CLIP_SAMPLES}\\) samples, got \\({CLIP_SAMPLES},\\)"):
        log_mel_batch(np.zeros(CLIP_SAMPLES, np.float32))
