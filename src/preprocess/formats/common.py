"""What every annotation reader returns (`Annotations`), and the record reader they share.

Kept apart from src/preprocess/annotations.py so that the format modules and the table of readers
there can both import it without importing each other.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.core.errors import UserError

MAX_CLIP_ID = 2**31 - 1  # the MindRecord schema's `id` column is int32


@dataclass(frozen=True)
class Annotations:
    """One annotation file (or folder of files), parsed and checked.

    clip_ids: (clips,) int64; tag_names: every tag column, in file order;
    tag_matrix: (clips, tags) uint8 of 0/1; mp3_paths: relative paths as written in the file;
    source: the file (or folder) it came from, for error messages;
    durations: (clips,) float64 seconds when the format records track lengths (mtg_jamendo), else None;
    splits: (clips,) "train"/"val"/"test" when the files define the split (msd_lastfm), else None;
    files: every file read, when more than `source` (their sha256 identify the dataset's labels).
    """

    clip_ids: np.ndarray
    tag_names: list[str]
    tag_matrix: np.ndarray
    mp3_paths: list[str]
    source: str = ""
    durations: np.ndarray | None = None
    splits: np.ndarray | None = None
    files: tuple[str, ...] = ()


def annotation_rows(path: Path, delimiter: str = "\t") -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each non-blank record, turning decode and CSV errors into UserError.

    A UTF-8 byte-order mark (which spreadsheet programs write) is accepted and dropped.
    """
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            for row in reader:
                if row:
                    yield reader.line_num, row
        except UnicodeDecodeError as exc:
            raise UserError(f"annotation file {path} is not UTF-8 text: {exc.reason}") from exc
        except csv.Error as exc:
            raise UserError(f"{path}, line {reader.line_num}: {exc}") from exc


def multi_hot(clip_tags: list[set[str]], tag_names: list[str]) -> np.ndarray:
    """(clips, len(tag_names)) uint8: row i has a 1 in the column of each tag of clip_tags[i]."""
    column = {name: j for j, name in enumerate(tag_names)}
    matrix = np.zeros((len(clip_tags), len(tag_names)), np.uint8)
    for row, tags in enumerate(clip_tags):
        matrix[row, [column[tag] for tag in tags]] = 1
    return matrix
