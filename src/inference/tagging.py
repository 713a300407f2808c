"""Tag whole audio tracks: decode, cut into 29.12 s windows, score the windows in batches, aggregate.

A track of at most 29.12 s is one window, zero-padded at the end: exactly the features the
model was trained on (`src.features.extract`). A longer one is cut into windows starting every
`hop_s` seconds, plus one window ending at the track's end when the hops leave a tail, so every
sample is seen; the track's tags are the mean and the max of its window probabilities (and, when the
model gives them, its windows' embeddings are kept beside their probabilities). Windows
of several tracks share batches. Decoding and features run in `workers` threads ahead of the
model (librosa's decoder, resampler and FFT release the GIL). A waveform model (its log-mel
front end inside the graph) gets the windows' samples as they are, and no mel is computed
here. MindSpore is never imported here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.features import CLIP_SAMPLES, SAMPLE_RATE, AudioError, fix_length, load_audio, log_mel
from src.inference.backends import Backend, run_all

AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg")


@dataclass
class Track:
    """One input file (path None for a waveform given as an array). `error` is set (and `starts_s` empty)
    for a file that could not be decoded."""

    path: Path | None
    duration_s: float = 0.0
    starts_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    error: str = ""
    scores: np.ndarray | None = None  # (windows, C) float32 once scored
    embeddings: np.ndarray | None = None  # (windows, D) float32 once scored, when the model has embeddings
    inputs: np.ndarray | None = field(default=None, repr=False)  # (windows, *model input shape) until scored

    def aggregate(self, how: str) -> np.ndarray:
        """(C,) track-level probabilities: the mean or the max over windows."""
        return self.scores.mean(axis=0) if how == "mean" else self.scores.max(axis=0)


def collect_audio(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and the audio files found (recursively, sorted) in the folders named.

    A named file is tried whatever its suffix (libsndfile reads more than the four listed)
    and reported as skipped if it cannot be decoded; a path that does not exist is an error.
    """
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            inside = sorted(p for p in given.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
            if not inside:
                raise UserError(f"folder {given} holds no audio file ({', '.join(AUDIO_SUFFIXES)})")
            found += inside
        elif given.exists():
            found.append(given)
        else:
            raise UserError(f"{given} does not exist")
    return list(dict.fromkeys(found))


def window_starts(num_samples: int, hop_samples: int) -> np.ndarray:
    """Start samples of the windows covering a track of num_samples (int64, at least one)."""
    if num_samples <= CLIP_SAMPLES:
        return np.zeros(1, np.int64)
    starts = np.arange(0, num_samples - CLIP_SAMPLES + 1, hop_samples, dtype=np.int64)
    if starts[-1] + CLIP_SAMPLES < num_samples:
        starts = np.append(starts, num_samples - CLIP_SAMPLES)
    return starts


def load_track(path: Path, hop_s: float, input_kind: str = "logmel") -> Track:
    """Decode `path` and cut its windows as the model's input: log-mel features (windows, 1, 96, 1366),
    or for input_kind "waveform" the samples (windows, CLIP_SAMPLES); a failure is recorded, not raised."""
    try:
        y = load_audio(path)
    except AudioError as exc:
        return Track(path, error=exc.reason)
    return waveform_track(y, hop_s, input_kind, path)


def waveform_track(y: np.ndarray, hop_s: float, input_kind: str = "logmel", path: Path | None = None) -> Track:
    """The unscored Track of mono float32 samples `y` (samples,) at SAMPLE_RATE: its windows cut as in load_track."""
    starts = window_starts(y.size, max(1, round(hop_s * SAMPLE_RATE)))
    windows = [fix_length(y[s : s + CLIP_SAMPLES]) for s in starts]
    inputs = np.stack(windows if input_kind == "waveform" else [log_mel(w) for w in windows])
    return Track(path, y.size / SAMPLE_RATE, starts / SAMPLE_RATE, inputs=inputs)


def _prefetch(function: Callable, items: list, workers: int) -> Iterator:
    """function(item) for each item, in order, computed up to 2 * workers items ahead in threads."""
    if workers <= 0:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="tag-decode") as pool:
        pending: deque[Future] = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def tag_tracks(
    backend: Backend, files: list[Path], hop_s: float, batch_size: int, workers: int = 2, progress: bool = True
) -> Iterator[Track]:
    """Scored tracks (or skipped ones, with `error`) in the order of `files`.

    Windows queue up across tracks and are scored `batch_size` at a time (the model's own
    batch for an exported model); only the final partial batch is padded.
    """
    from tqdm import tqdm

    step = backend.batch_size or batch_size
    waiting: deque[Track] = deque()
    windows: list[np.ndarray] = []  # unscored windows of the waiting tracks, in order
    scores: list[tuple] = []  # (probabilities, embedding or None) of the waiting tracks' windows, in order
    bar = tqdm(total=len(files), unit="file", desc="tagging", disable=not progress, leave=False)
    try:
        for track in _prefetch(lambda path: load_track(path, hop_s, backend.input_kind), files, workers):
            waiting.append(track)
            if track.inputs is not None:
                windows.extend(track.inputs)
            while len(windows) >= step:
                scores.extend(_rows(run_all(backend, np.stack(windows[:step]), step)))
                del windows[:step]
            yield from _finished(waiting, scores, bar)
        if windows:
            scores.extend(_rows(run_all(backend, np.stack(windows), step)))
        yield from _finished(waiting, scores, bar)
    finally:
        bar.close()


def _rows(outputs: tuple[np.ndarray, np.ndarray | None]) -> list[tuple]:
    """run_all's (probabilities, embeddings or None) as one (probabilities, embedding or None) pair per window."""
    probabilities, embeddings = outputs
    return list(zip(probabilities, [None] * len(probabilities) if embeddings is None else embeddings, strict=True))


def _finished(waiting: deque[Track], scores: list[tuple], bar) -> Iterator[Track]:
    """Pop the leading waiting tracks whose windows are all scored."""
    while waiting and (waiting[0].inputs is None or len(scores) >= len(waiting[0].inputs)):
        track = waiting.popleft()
        if track.inputs is not None:
            count = len(track.inputs)
            probabilities, embeddings = zip(*scores[:count], strict=True)
            track.scores = np.stack(probabilities).astype(np.float32)
            if embeddings[0] is not None:
                track.embeddings = np.stack(embeddings).astype(np.float32)
            del scores[:count]
            track.inputs = None
        bar.update(1)
        yield track
