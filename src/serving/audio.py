"""An uploaded file decoded into the model's windows, exactly as tag.py decodes a file, within the limits.

The decoding is src.features' (so its AudioError, for a file that is not audio or is cut short, becomes
a 422); the windows are src.inference.tagging's. A file longer than --max_seconds is refused (413)
from its header before any sample is decoded when libsndfile can read the header, else after decoding;
a hop that would cut more than --max_windows windows is refused (413) before any feature is computed.
"""

from __future__ import annotations

from pathlib import Path

from src.features import SAMPLE_RATE, AudioError, load_audio
from src.inference.tagging import Track, waveform_track, window_starts
from src.serving.limits import Limits, ServiceError

FORMATS = "mp3, wav, flac or ogg"


def decode_upload(path: Path, hop_s: float, input_kind: str, limits: Limits) -> Track:
    """The unscored Track of the audio file at `path` (its windows as model inputs); ServiceError 413 or 422."""
    declared = _header_seconds(path)
    if declared is not None:
        _check_seconds(declared, limits)
    try:
        y = load_audio(path)
    except AudioError as exc:
        raise ServiceError(
            422, f"the upload is not audio this server can decode ({exc.reason}); send {FORMATS}"
        ) from None
    _check_seconds(y.size / SAMPLE_RATE, limits)
    windows = len(window_starts(y.size, max(1, round(hop_s * SAMPLE_RATE))))
    if windows > limits.max_windows:
        raise ServiceError(
            413,
            f"hop_seconds {hop_s:g} cuts this {y.size / SAMPLE_RATE:.0f} s track into {windows} windows, more than "
            f"the {limits.max_windows} this server scores per request (--max_windows); use a longer hop",
        )
    return waveform_track(y, hop_s, input_kind)


def _header_seconds(path: Path) -> float | None:
    """The length the file's header declares, or None when libsndfile cannot read it (load_audio then decides)."""
    import soundfile

    try:
        return float(soundfile.info(str(path)).duration)
    except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError):
        return None


def _check_seconds(seconds: float, limits: Limits) -> None:
    if seconds > limits.max_seconds:
        raise ServiceError(
            413,
            f"the audio lasts {seconds:.0f} s, longer than the {limits.max_seconds:g} s this server takes "
            "(--max_seconds)",
        )
