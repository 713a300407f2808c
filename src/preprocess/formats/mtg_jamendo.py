"""info_format=mtg_jamendo: MTG-Jamendo's autotagging TSVs as published (the MTG/mtg-jamendo-dataset repository).

The annotation file is one of `data/autotagging.tsv` (all 195 tags) or its subsets
`data/autotagging_top50tags.tsv`, `_genre.tsv`, `_instrument.tsv`, `_moodtheme.tsv`; the official splits
are `data/splits/split-N/<subset>-train.tsv`, `-validation.tsv` and `-test.tsv`, TSVs in the same layout,
given as --split file lists (splits.read_split_list reads their PATH column). The layout: tab-separated,
the header `TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS`, then one track per line with as many tag
fields as it has tags (the header's single TAGS names them all):

    track_0917538  artist_378901  album_108650  38/917538.mp3  126.5  genre---easylistening  instrument---piano

TRACK_ID is `track_` and a zero-padded number, which is the clip id here; PATH is the mp3 relative to the
audio folder (folders 00-99 by the number's last two digits); DURATION is the full track's length in
seconds, which lets track_windows cut several windows from it; each tag is `category---name`, the category
being genre, instrument or mood/theme. Tags keep that full form (`mood/theme---happy`), as columns in the
order they first appear in the file; the plan then orders the kept ones as for every format.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.preprocess.formats.common import MAX_CLIP_ID, Annotations, annotation_rows, multi_hot

HEADER = ["TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS"]
HEADER_TEXT = "\t".join(HEADER)
FIXED_FIELDS = 5  # TRACK_ID .. DURATION; the tags follow
TAG_SEPARATOR = "---"
_TRACK_ID = re.compile(r"track_([0-9]+)")


def read_mtg_jamendo(path: Path) -> Annotations:
    """Parse an MTG-Jamendo autotagging TSV (or split file); UserError names the file, line and bad field.

    Refused with a one-line error, as a malformed MTAT file is: a header other than MTG-Jamendo's, a row
    with fewer than 5 fields, a TRACK_ID not like `track_0917538`, a DURATION that is not a number of
    seconds, a tag not `category---name`, a track or PATH listed twice. An unsafe PATH is kept here and
    skipped and reported by the workers, like MTAT's.
    """
    if not path.is_file():
        raise UserError(
            f"annotation file {path} does not exist (expected an MTG-Jamendo TSV like data/autotagging_top50tags.tsv)"
        )
    rows = annotation_rows(path)
    first = next(rows, None)
    if first is None or first[1] != HEADER:
        found = "nothing" if first is None else repr("\t".join(first[1]))
        raise UserError(
            f"{path}, line 1: expected the MTG-Jamendo header {HEADER_TEXT!r} (tab-separated; "
            f"info_format=mtg_jamendo), found {found}"
        )
    clip_ids: list[int] = []
    paths: list[str] = []
    durations: list[float] = []
    clip_tags: list[list[str]] = []
    id_lines: dict[int, int] = {}
    path_lines: dict[str, int] = {}
    for line, row in rows:
        track, duration, tags = _parse_row(path, line, row)
        if track in id_lines:
            raise UserError(f"{path}, line {line}: TRACK_ID {row[0]} already appears on line {id_lines[track]}")
        if row[3] in path_lines:
            raise UserError(f"{path}, line {line}: PATH {row[3]!r} already appears on line {path_lines[row[3]]}")
        id_lines[track], path_lines[row[3]] = line, line
        clip_ids.append(track)
        paths.append(row[3])
        durations.append(duration)
        clip_tags.append(tags)
    if not clip_ids:
        raise UserError(f"annotation file {path} has a header but no track rows")
    tag_names = list(dict.fromkeys(tag for tags in clip_tags for tag in tags))
    return Annotations(
        clip_ids=np.array(clip_ids, dtype=np.int64),
        tag_names=tag_names,
        tag_matrix=multi_hot(clip_tags, tag_names),
        mp3_paths=paths,
        source=str(path),
        durations=np.array(durations, dtype=np.float64),
    )


def _parse_row(path: Path, line: int, row: list[str]) -> tuple[int, float, list[str]]:
    """(track number, duration in seconds, tags in row order without repeats) of one checked track row.

    Empty tag fields (a line ending in a tab) are ignored.
    """
    if len(row) < FIXED_FIELDS:
        raise UserError(
            f"{path}, line {line}: {len(row)} fields, expected at least {FIXED_FIELDS} "
            f"(TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION, then one field per tag)"
        )
    match = _TRACK_ID.fullmatch(row[0])
    if match is None:
        raise UserError(f"{path}, line {line}: TRACK_ID {row[0]!r} is not like 'track_0917538'")
    track = int(match[1])
    if track > MAX_CLIP_ID:
        raise UserError(f"{path}, line {line}: TRACK_ID {row[0]} does not fit the int32 id column (<= {MAX_CLIP_ID})")
    try:
        duration = float(row[4])
    except ValueError:
        duration = math.nan
    if not (math.isfinite(duration) and duration >= 0):
        raise UserError(f"{path}, line {line}: DURATION {row[4]!r} is not a number of seconds")
    tags = list(dict.fromkeys(field for field in row[FIXED_FIELDS:] if field))
    bad = next((tag for tag in tags if not _is_tag(tag)), None)
    if bad is not None:
        raise UserError(f"{path}, line {line}: tag {bad!r} is not category{TAG_SEPARATOR}name (like genre---rock)")
    return track, duration, tags


def _is_tag(tag: str) -> bool:
    category, separator, name = tag.partition(TAG_SEPARATOR)
    return bool(category and separator and name) and TAG_SEPARATOR not in name


def has_header(path: Path) -> bool:
    """Whether the file starts with MTG-Jamendo's header (a split file of this layout, for splits.read_split_list)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return handle.readline().rstrip("\r\n") == HEADER_TEXT
    except (OSError, UnicodeDecodeError):
        return False
