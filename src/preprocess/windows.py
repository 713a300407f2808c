"""Several windows per track (config key track_windows): which rows a track becomes, and their ids.

With track_windows W > 1, a track of the annotation file becomes n = features.windows_in(duration, W)
dataset rows, window k of n being features.track_window(samples, k, n): as many whole 29.12 s windows as
its annotated duration holds, up to W, spread evenly over the track (so W never yields overlapping copies
of a short track). Each row keeps the MindRecord schema (one (1, 96, 1366) feature, the track's labels)
and gets the id `clip_id * W + k`: unique per row, the track being id // W and the window id % W; with
W = 1 the ids are the clip ids. Windows are made after the split is chosen per track, so all windows of a
track are in the same split. Only formats that record durations (mtg_jamendo) can have W > 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from src import features
from src.core.errors import UserError
from src.preprocess.formats.common import MAX_CLIP_ID

MAX_TRACK_WINDOWS = 64  # the config range of track_windows


def track_rows(
    clip_ids: np.ndarray, durations: np.ndarray | None, track_windows: int, source: str | Path = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(track positions, window index, window count, row id) of every row, int64, tracks' rows in order.

    clip_ids (tracks,) and durations (tracks,) seconds or None describe the tracks; with track_windows 1
    every track is one row whose id is its clip id. UserError when track_windows > 1 but the format
    records no durations, or when an id would not fit the int32 id column.
    """
    if not 1 <= track_windows <= MAX_TRACK_WINDOWS:
        raise UserError(f"track_windows={track_windows}: expected 1 to {MAX_TRACK_WINDOWS} windows per track")
    if track_windows == 1:
        ones = np.ones(len(clip_ids), np.int64)
        return np.arange(len(clip_ids)), ones - 1, ones, clip_ids.astype(np.int64)
    if durations is None:
        raise UserError(
            f"track_windows={track_windows} needs track durations, which {source or 'this annotation file'} does "
            f"not record (only info_format=mtg_jamendo, with its DURATION column, has full tracks): set track_windows 1"
        )
    top = int(clip_ids.max(initial=0))
    if top * track_windows + track_windows - 1 > MAX_CLIP_ID:
        raise UserError(
            f"track_windows={track_windows}: row ids clip_id * {track_windows} + window do not fit the int32 id "
            f"column for clip id {top}; use at most {(MAX_CLIP_ID + 1) // (top + 1)}"
        )
    counts = np.array([features.windows_in(float(seconds), track_windows) for seconds in durations], np.int64)
    positions = np.repeat(np.arange(len(clip_ids)), counts)
    first_row = np.cumsum(counts) - counts
    index = np.arange(positions.size) - np.repeat(first_row, counts)
    ids = clip_ids.astype(np.int64)[positions] * track_windows + index
    return positions, index, counts[positions], ids
