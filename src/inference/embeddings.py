"""tag.py --embeddings DIR: per track, the embedding of every window and their mean as .npy, and an index CSV.

Files per track NAME (its stem, made distinct as plot names are): NAME_windows.npy, (windows, D) float32,
row i the window starting at window_starts_s[i]; NAME_mean.npy, (D,) float32, their mean. The index
(INDEX_FILE) maps each input track to its two files, its window count, the hop and window starts. Only
files that an earlier index in the same folder lists may be replaced; every file is written atomically,
the index as the run ends (src.inference.tag_outputs builds it up track by track, resumably). Neither
MindSpore nor ONNX Runtime is imported here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np

from src.core.errors import UserError
from src.core.fileio import atomic_path
from src.inference.tag_report import csv_line
from src.inference.tagging import Track

INDEX_FILE = "embeddings.csv"
INDEX_COLUMNS = (
    "path", "windows_file", "mean_file", "windows", "hop_seconds", "duration_s", "window_starts_s", "error"
)  # fmt: skip
FILE_SUFFIXES = ("_windows.npy", "_mean.npy")


def embedding_files(name: str) -> tuple[str, str]:
    """The windows and mean file names of the track named `name`."""
    return name + FILE_SUFFIXES[0], name + FILE_SUFFIXES[1]


def planned_files(names: Iterable[str]) -> list[str]:
    """Every .npy file the tracks named `names` get."""
    return [file for name in names for file in embedding_files(name)]


def listed_files(folder: Path) -> set[str]:
    """The .npy files an earlier index in `folder` lists (empty when there is none); UserError when
    `folder`/INDEX_FILE exists and is not such an index."""
    index = folder / INDEX_FILE
    if not index.exists():
        return set()
    try:
        rows = list(csv.reader(index.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error):
        rows = []
    if not rows or tuple(rows[0]) != INDEX_COLUMNS:
        raise UserError(
            f"--embeddings: {index} exists and is not an embeddings index tag.py wrote; choose another folder"
        )
    return {name for row in rows[1:] for name in row[1:3] if name}


def check_targets(folder: Path, names: Iterable[str], ours: Iterable[str] = ()) -> None:
    """UserError, before any work, when an embedding file would replace a file that neither an earlier index here
    lists nor `ours` names (the files an unfinished run into this folder planned)."""
    listed = listed_files(folder) | set(ours)
    for name in names:
        for file in embedding_files(name):
            if (folder / file).exists() and file not in listed:
                raise UserError(
                    f"--embeddings: {folder / file} exists and is not an embedding tag.py wrote; "
                    f"choose another folder or remove it"
                )


def save(folder: Path, track: Track, name: str, hop_s: float) -> str:
    """Write a track's window and mean embeddings (nothing for a skipped track); its index row, as CSV."""
    if track.error:
        return csv_line([track.path, "", "", 0, hop_s, "", "", track.error])
    windows_file, mean_file = embedding_files(name)
    _save_npy(folder / windows_file, track.embeddings)
    _save_npy(folder / mean_file, track.embeddings.mean(axis=0))
    starts = ";".join(f"{start:.3f}" for start in track.starts_s)
    row = [track.path, windows_file, mean_file, len(track.embeddings), hop_s, f"{track.duration_s:.3f}", starts, ""]
    return csv_line(row)


def write_index(handle: IO[str], rows: Iterable[str]) -> None:
    """The index file: its header, then the tracks' rows."""
    handle.write(csv_line(list(INDEX_COLUMNS)))
    handle.writelines(rows)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
