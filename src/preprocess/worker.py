"""Worker side of preprocessing: one chunk of clips -> features stored in the work store.

Workers are forked after `features.warm_up()`, write their chunk files themselves (the parent
gets back only the chunk index, never 524 KB per clip through a pipe), and never raise for bad
input: a path leaving the audio root, a missing, empty, truncated or undecodable file become a
skipped clip with its reason. A clip shorter than features.SHORT_SECONDS is padded like any
other and noted, for the report. The windows of one track are consecutive rows: the track is
decoded once for all of them (the last decoded track is kept).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

import numpy as np
from librosa.util.exceptions import ParameterError
from threadpoolctl import threadpool_limits

from src import features
from src.core.errors import UserError
from src.core.fileio import atomic_path
from src.preprocess.annotations import resolve_clip_path
from src.preprocess.work_store import WorkStore

_PR_SET_PDEATHSIG = 1
_state: dict = {}
_last: dict = {}  # the last clip decoded in this process: its key and (samples or None, reason)


def init_worker(mr_path: str, audio_root: str, npy_root: str, lock_fd: int, follow_symlinks: bool) -> None:
    """Pool initializer: one BLAS thread, die with the parent, drop the inherited lock.

    Several single-threaded workers beat BLAS threads fighting over the same cores (the mel
    product is 3x slower with 2 threads per worker on 2 cores). A worker that outlived a killed
    parent would keep the run's lock and block the rerun, hence the death signal and the close.
    """
    threadpool_limits(limits=1)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.close(lock_fd)
    _state.update(
        store=WorkStore(mr_path),
        audio_root=Path(audio_root),
        npy_root=Path(npy_root) if npy_root else None,
        follow_symlinks=follow_symlinks,
    )


def compute_chunk(task: tuple[int, list[tuple[int, str, int, int]]]) -> int:
    """task = (chunk index, [(clip_id, mp3_path, window, windows), ...]); stores the chunk and returns its index."""
    index, clips = task
    rows = np.empty((len(clips), *features.FEATURE_SHAPE), np.float32)
    usable = 0
    skipped = []
    padded = []
    for offset, (_, mp3_path, window, count) in enumerate(clips):
        feature, samples, reason = clip_features(
            _state["audio_root"], mp3_path, _state["follow_symlinks"], window, count
        )
        if feature is None:
            skipped.append((offset, reason))
            continue
        if samples < features.SHORT_SAMPLES:
            padded.append((offset, round(samples / features.SAMPLE_RATE, 3)))
        rows[usable] = feature
        usable += 1
        if _state["npy_root"] is not None:
            save_npy(_state["npy_root"], mp3_path, feature, window if count > 1 else None)
    _state["store"].write_chunk(index, [clip[0] for clip in clips], rows[:usable], skipped, padded)
    return index


def clip_features(
    audio_root: Path, mp3_path: str, follow_symlinks: bool, window: int = 0, count: int = 1
) -> tuple[np.ndarray | None, int, str]:
    """(features (1, 96, 1366) float32, decoded samples, "") of window `window` of `count` of a usable clip
    (features.track_window; 0 of 1 is the reference's centre crop), (None, 0, reason) for any other clip."""
    samples, reason = _decoded(audio_root, mp3_path, follow_symlinks)
    if samples is None:
        return None, 0, reason
    try:
        return features.log_mel(features.track_window(samples, window, count)), samples.size, ""
    except ParameterError as exc:
        return None, 0, f"invalid audio: {exc}"


def _decoded(audio_root: Path, mp3_path: str, follow_symlinks: bool) -> tuple[np.ndarray | None, str]:
    """(samples, "") or (None, reason) for a clip, from the last call's result when it is the same clip."""
    key = (audio_root, mp3_path, follow_symlinks)
    if _last.get("key") != key:
        _last.update(key=key, result=_decode(audio_root, mp3_path, follow_symlinks))
    return _last["result"]


def _decode(audio_root: Path, mp3_path: str, follow_symlinks: bool) -> tuple[np.ndarray | None, str]:
    try:
        return features.load_audio(resolve_clip_path(audio_root, mp3_path, follow_symlinks)), ""
    except UserError as exc:
        return None, str(exc)
    except features.AudioError as exc:
        return None, exc.reason
    except ParameterError as exc:
        return None, f"invalid audio: {exc}"


def save_npy(npy_root: Path, mp3_path: str, feature: np.ndarray, window: int | None = None) -> None:
    """The reference's per-clip file: npy_root/<mp3_path with .npy>, (1, 96, 1366) float32; for one of
    several windows of a track, <mp3_path with .w<window>.npy>."""
    path = npy_root / Path(mp3_path).with_suffix(".npy" if window is None else f".w{window}.npy")
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, feature, allow_pickle=False)
