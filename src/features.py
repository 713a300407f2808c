"""Log-mel features for FCN-4: the one place that defines how a clip becomes a model input.

The constants import without librosa (the network module and the ONNX path use them); the
functions import librosa, soundfile and audioread when first called.

Preprocessing, inference and tagging all call `extract`, so a model is never fed features
computed with other settings than it was trained on. The settings are those of the
reference (Choi et al. 2016 and the MindSpore model-zoo FCN-4):

    librosa.load(path, sr=12000) -> fix to 29.12 s (349440 samples) ->
    amplitude_to_db(melspectrogram(n_fft=512, hop_length=256, n_mels=96))  # (1, 96, 1366)

Full-length tracks (MTG-Jamendo) are cut here too: `track_window` gives window k of n evenly spaced
29.12 s windows (n = 1 is the centre crop above), `windows_in` how many whole windows a track holds.

Warm-up: the first `librosa.load` in a process costs about 2 s with a warm numba cache and
about 25 s with a cold one. The time is not the resampler (soxr's first call takes ~10 ms)
but the imports `librosa.load` triggers lazily (scipy.signal, numba) and the numba
`vectorize`/`guvectorize` kernels that `librosa.util.utils` compiles eagerly at import time.
numba caches them next to librosa's sources, or under `NUMBA_CACHE_DIR` when that is set,
so keep one of those writable and persistent; worker processes forked after a first
`extract` call inherit the compiled kernels instead of paying again.

May import: (nothing in src)
"""

import functools
import os
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np

SAMPLE_RATE = 12000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
CLIP_SECONDS = 29.12
CLIP_SAMPLES = int(CLIP_SECONDS * SAMPLE_RATE)
N_FRAMES = 1 + CLIP_SAMPLES // HOP_LENGTH
FEATURE_SHAPE = (1, N_MELS, N_FRAMES)
TOP_DB = 80.0

# Every clip is zero-padded to CLIP_SECONDS, as the reference does; one shorter than this is
# still used, but preprocessing lists it in its report, since its feature is over 96% padding.
SHORT_SECONDS = 1.0
SHORT_SAMPLES = int(SHORT_SECONDS * SAMPLE_RATE)


class AudioError(Exception):
    """A clip that cannot be turned into features; `reason` says why in a few words."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def feature_params() -> dict:
    """The feature settings as a JSON-serialisable dict, for a dataset manifest to record.

    A training or inference run compares it with its own `feature_params()` to catch
    features made with other settings or another librosa (whose default resampler,
    `librosa.load`'s `res_type`, changes the values).
    """
    return {
        "sample_rate": SAMPLE_RATE,
        "n_fft": N_FFT,
        "hop_length": HOP_LENGTH,
        "n_mels": N_MELS,
        "clip_seconds": CLIP_SECONDS,
        "clip_samples": CLIP_SAMPLES,
        "n_frames": N_FRAMES,
        "feature_shape": list(FEATURE_SHAPE),
        "top_db": TOP_DB,
        "librosa_version": version("librosa"),
    }


def load_audio(path: str | os.PathLike) -> np.ndarray:
    """Decode a clip to mono float32 at SAMPLE_RATE, shape (samples,), as the reference does.

    Raises AudioError for a missing, empty or undecodable file, or one that decodes to no sample.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "missing file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file")
    try:
        y = _librosa_load_quietly(path)
    except _decoder_errors() as exc:
        raise AudioError(path, f"undecodable: {_describe_decoder_error(exc)}") from exc
    if y.size == 0:
        raise AudioError(path, "no audio: decodes to 0 samples")
    return y


def _decoder_errors() -> tuple[type[BaseException], ...]:
    """What librosa.load raises when soundfile, and then its audioread fallback, cannot decode."""
    import audioread.exceptions

    return RuntimeError, OSError, EOFError, ValueError, audioread.exceptions.DecodeError


def _librosa_load_quietly(path: Path) -> np.ndarray:
    """`librosa.load(path, sr=SAMPLE_RATE)` without the noise of its audioread fallback.

    When soundfile fails, librosa warns, then tries audioread, which has no backend here
    (no ffmpeg) and fails too; the caller reports that failure, so the warnings only repeat
    it. The filters apply to this call only (`catch_warnings` is process-wide, not per thread).
    """
    import librosa

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySoundFile failed", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"librosa\.core\.audio\.", category=FutureWarning)
        warnings.filterwarnings("ignore", message=r"'(aifc|audioop|sunau)' is deprecated")
        y, _ = librosa.load(path, sr=SAMPLE_RATE)
    return y


def _describe_decoder_error(exc: BaseException) -> str:
    """One short line for a decode failure, naming soundfile's error rather than audioread's.

    audioread's NoBackendError is empty; the informative error is the soundfile one that
    librosa was handling when it fell back. libsndfile's text for a garbage MP3 ("File does
    not exist ...") misleads for a file known to exist, so only its code is given.
    """
    import soundfile

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, soundfile.LibsndfileError):
            return f"libsndfile error {cause.code}"
        cause = cause.__context__
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0][:120]}" if lines else type(exc).__name__


def to_model_rate(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """A waveform array as `load_audio` would have decoded it: mono float32 at SAMPLE_RATE, shape (samples,).

    `y` is (samples,) or (channels, samples) (librosa's layout), any float or int dtype as samples in
    [-1, 1]; `sample_rate` in Hz. Channels are averaged and the result resampled with librosa's default
    resampler, the steps `librosa.load(sr=SAMPLE_RATE)` takes for a file.
    """
    import librosa

    y = np.asarray(y)
    if y.ndim not in (1, 2) or y.shape[-1] == 0:
        raise ValueError(f"a waveform must be (samples,) or (channels, samples) with samples > 0, got shape {y.shape}")
    if not sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
    y = librosa.to_mono(y.astype(np.float32))
    if sample_rate != SAMPLE_RATE:
        y = librosa.resample(y, orig_sr=sample_rate, target_sr=SAMPLE_RATE)
    return y.astype(np.float32, copy=False)


def fix_length(y: np.ndarray) -> np.ndarray:
    """Exactly CLIP_SAMPLES samples: zero-pad at the end if shorter, centre-crop if longer.

    The crop keeps `y[start:start + CLIP_SAMPLES]` with `start = (len(y) - CLIP_SAMPLES) // 2`,
    the reference's `y[(n - N) // 2:(n + N) // 2]`. Shape (samples,) -> (CLIP_SAMPLES,),
    dtype kept.
    """
    if y.size < CLIP_SAMPLES:
        return np.pad(y, (0, CLIP_SAMPLES - y.size))
    start = (y.size - CLIP_SAMPLES) // 2
    return y[start : start + CLIP_SAMPLES]


def track_window(y: np.ndarray, index: int = 0, count: int = 1) -> np.ndarray:
    """Window `index` of `count` cut from a full track: exactly CLIP_SAMPLES samples, dtype kept.

    The windows are spread evenly: equal gaps before the first, between windows and after the last
    (window k starts at k * CLIP_SAMPLES + (k + 1) * gap, gap = (len(y) - count * CLIP_SAMPLES) / (count + 1),
    rounded down). count=1 is the reference's centre crop, fix_length(y); windows overlap evenly when
    the track is shorter than count windows, and a track shorter than one window is zero-padded.
    """
    if not 0 <= index < count:
        raise ValueError(f"window index {index} is not in 0..{count - 1}")
    start = index * CLIP_SAMPLES + (index + 1) * (y.size - count * CLIP_SAMPLES) // (count + 1)
    start = min(max(start, 0), max(y.size - CLIP_SAMPLES, 0))
    return fix_length(y[start : start + CLIP_SAMPLES])


def windows_in(seconds: float, most: int) -> int:
    """How many whole CLIP_SECONDS windows track_window cuts from a track of `seconds`: 1 to `most`."""
    return int(min(max(seconds // CLIP_SECONDS, 1), most))


@functools.cache
def mel_basis() -> np.ndarray:
    """librosa's mel filterbank, (N_MELS, 1 + N_FFT // 2) float32, built once per process."""
    import librosa

    basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS)
    basis.setflags(write=False)
    return basis


def log_mel(y: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram of a fixed-length clip: (CLIP_SAMPLES,) -> FEATURE_SHAPE float32.

    Equal to the reference's `amplitude_to_db(melspectrogram(y=y, sr=12000, n_fft=512,
    hop_length=256, n_mels=96))`, computed as |STFT|^2 times a cached filterbank (what
    melspectrogram does, minus rebuilding the filterbank for every clip). As in the
    reference, `amplitude_to_db` is applied to the *power* spectrogram, so the values are
    20*log10(power), clipped at TOP_DB below the clip's maximum; reference checkpoints expect
    that scale, so it is kept.
    """
    import librosa

    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH)) ** 2
    db = librosa.amplitude_to_db(mel_basis() @ power, top_db=TOP_DB)
    if db.shape != FEATURE_SHAPE[1:]:
        raise ValueError(
            f"log_mel expects {CLIP_SAMPLES} samples giving {N_FRAMES} frames; "
            f"got {y.shape[-1]} samples giving {db.shape[-1]} frames (call fix_length first)"
        )
    return db.astype(np.float32, copy=False)[np.newaxis]


def extract(path: str | os.PathLike) -> np.ndarray:
    """The model input for one audio file: FEATURE_SHAPE (1, 96, 1366) float32.

    Raises AudioError for a file that cannot be used (see `load_audio`).
    """
    return extract_with_length(path)[0]


def extract_with_length(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(extract(path), the clip's decoded length in samples), for callers that report short clips."""
    y = load_audio(path)
    return log_mel(fix_length(y)), y.size


def warm_up() -> None:
    """Pay librosa's one-time import/JIT cost (seconds) once, in this process.

    Called before forking preprocessing workers so that they inherit the compiled kernels
    instead of each compiling them again.
    """
    import librosa

    stereo = np.zeros((2, SAMPLE_RATE), np.float32)
    mono = librosa.resample(librosa.to_mono(stereo), orig_sr=16000, target_sr=SAMPLE_RATE)
    log_mel(fix_length(mono))
