"""src/features.log_mel as a MindSpore graph, so that a model can take audio itself (issue 12).

`LogMelFrontEnd` maps fixed-length clips (B, CLIP_SAMPLES) float32 at SAMPLE_RATE to the
features of src/features.py (B, 1, N_MELS, N_FRAMES), from ops that export to MindIR and ONNX
alike (a conv with constant weights runs everywhere; an FFT op may not): librosa's centring is
N_FFT // 2 zeros each side (`pad_mode='constant'`), its STFT a (1, N_FFT) conv of stride HOP_LENGTH
whose constant weights are the Hann-windowed cos and sin bases, power is re^2 + im^2, the mel
filterbank a constant 1x1 conv (a matmul over the frequency bins), then `amplitude_to_db` with
librosa's amin, ref and per-clip top_db. src/features.py stays the reference: every number comes
from it or from librosa. `WaveformTagger` puts the front end before a log-mel network;
`log_mel_batch` is the front end for evaluation in MindSpore.

The centring is a Pad op, not the conv's own padding: MindSpore 2.10's ONNX export writes a
Conv2d's (top, bottom, left, right) padding as ONNX `pads` unchanged, which ONNX reads as (top,
left, bottom, right), so ONNX Runtime would pad the wrong axes.
"""

from __future__ import annotations

import inspect
import math

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops
import numpy as np

from src.features import CLIP_SAMPLES, HOP_LENGTH, N_FFT, TOP_DB, mel_basis

N_BINS = 1 + N_FFT // 2  # rfft bins, the rows of the STFT


def _librosa_db_defaults() -> tuple[float, float]:
    """`amplitude_to_db`'s amin and ref, read from librosa itself: features.log_mel leaves both at their defaults."""
    import librosa

    parameters = inspect.signature(librosa.amplitude_to_db).parameters
    return parameters["amin"].default, parameters["ref"].default


def stft_kernel() -> np.ndarray:
    """(2 * N_BINS, 1, 1, N_FFT) float32: the periodic Hann window times cos (rows 0..N_BINS-1) and -sin.

    Built in float64 and rounded once, so the conv sums exact products of the float32 samples with
    the closest float32 basis values (librosa's rfft of windowed frames, bin k at sample n:
    window[n] * exp(-2j pi k n / N_FFT)).
    """
    import scipy.signal

    window = scipy.signal.get_window("hann", N_FFT, fftbins=True)
    phase = 2 * np.pi * np.outer(np.arange(N_BINS), np.arange(N_FFT)) / N_FFT
    bases = np.concatenate([np.cos(phase), -np.sin(phase)]) * window
    return bases[:, np.newaxis, np.newaxis, :].astype(np.float32)


class LogMelFrontEnd(nn.Cell):
    """librosa's log-mel of src/features.log_mel as fixed-weight ops.

    Inputs: (B, CLIP_SAMPLES) float32 mono samples at SAMPLE_RATE, already fix_length'ed.
    Outputs: (B, 1, N_MELS, N_FRAMES) float32 dB, each clip floored at its own max - TOP_DB.
    """

    def __init__(self) -> None:
        super().__init__()
        amin, ref = _librosa_db_defaults()
        self.center = ops.Pad(((0, 0), (0, 0), (0, 0), (N_FFT // 2, N_FFT // 2)))
        self.stft = _fixed_conv(stft_kernel(), stride=(1, HOP_LENGTH))
        self.mel = _fixed_conv(mel_basis()[:, :, np.newaxis, np.newaxis])
        self.amin = amin
        self.db_per_log = 20.0 / math.log(10.0)
        self.ref_db = 20.0 * math.log10(max(amin, ref))
        self.top_db = TOP_DB

    def construct(self, waveform):
        spectrum = self.stft(self.center(ops.reshape(waveform, (-1, 1, 1, CLIP_SAMPLES))))
        real, imag = ops.split(spectrum, N_BINS, axis=1)
        mel = ops.transpose(self.mel(real * real + imag * imag), (0, 2, 1, 3))
        db = ops.log(ops.maximum(mel, self.amin)) * self.db_per_log - self.ref_db
        floor = ops.amax(db, axis=(1, 2, 3), keepdims=True) - self.top_db
        return ops.maximum(db, floor)


def _fixed_conv(kernel: np.ndarray, stride=1) -> nn.Conv2d:
    """An unpadded Conv2d computing with the constant (out, in, kh, kw) `kernel` (cast to float32), frozen."""
    out_channels, in_channels, *kernel_size = kernel.shape
    conv = nn.Conv2d(in_channels, out_channels, tuple(kernel_size), stride=stride, pad_mode="valid", has_bias=False)
    conv.weight.set_data(ms.Tensor(kernel.astype(np.float32)))
    conv.weight.requires_grad = False
    return conv


class WaveformTagger(nn.Cell):
    """A raw-audio model: LogMelFrontEnd, then a log-mel network (e.g. src.model.loading.load_network's).

    Inputs: (B, CLIP_SAMPLES) float32 samples. Outputs: the network's (B, num_classes) probabilities.
    `params` is the wrapped network's ModelParams (classes, shape of the features it takes).
    """

    def __init__(self, network: nn.Cell) -> None:
        super().__init__()
        self.frontend = LogMelFrontEnd()
        self.network = network
        self.params = network.params

    def construct(self, waveform):
        return self.network(self.frontend(waveform))


def log_mel_batch(waveforms: np.ndarray, frontend: LogMelFrontEnd | None = None) -> np.ndarray:
    """src/features.log_mel for a batch, computed by the front end in MindSpore (set up before).

    (B, CLIP_SAMPLES) float32 -> (B, 1, N_MELS, N_FRAMES) float32.
    """
    if waveforms.ndim != 2 or waveforms.shape[1] != CLIP_SAMPLES:
        raise ValueError(f"log_mel_batch expects (batch, {CLIP_SAMPLES}) samples, got {waveforms.shape}")
    frontend = frontend or LogMelFrontEnd()
    return frontend(ms.Tensor(np.asarray(waveforms, np.float32))).asnumpy()
