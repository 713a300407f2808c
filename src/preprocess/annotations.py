"""Annotation files, one reader per format (ANNOTATION_FORMATS); the top-n tag vocabulary; safe clip paths.

Every reader returns the same `Annotations`: clip ids, tag names, a 0/1 matrix and clip paths.
The `path_tags` format is your own tags: a comma-separated file with the header `path,tags`, one clip
per row, its path relative to the audio root and its tags separated by `;` (see read_path_tags).
MTAT's `annotations_final.csv` is tab-separated with every field in double quotes: `clip_id`,
188 binary tag columns, `mp3_path` (like `f/artist-album-01-title-30-59.mp3`). FCN-4 keeps
the 50 most frequent tags, indexed in ascending frequency (index 0 the least frequent),
which is the order of the reference `tag.txt` and of every reference checkpoint's outputs.
Other datasets' layouts have a module each in src/preprocess/formats/: `mtg_jamendo` (MTG-Jamendo's
autotagging TSVs) and `msd_lastfm` (the Million Song Dataset's last.fm top-50 lists, musicnn's layout).
"""

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

import numpy as np

from src.core.errors import UserError
from src.preprocess.formats.common import MAX_CLIP_ID, Annotations, multi_hot
from src.preprocess.formats.common import annotation_rows as _rows
from src.preprocess.formats.msd_lastfm import read_msd_lastfm
from src.preprocess.formats.mtg_jamendo import read_mtg_jamendo

_BINARY = frozenset({"0", "1"})
# In the reason of every clip refused for leaving audio_path through a symbolic link (counted in the summary).
SYMLINK_REASON = "resolves outside the audio root through a symbolic link"


def read_annotations(path: str | os.PathLike, info_format: str = "mtat") -> Annotations:
    """The annotation file at path, parsed by the reader of its format (a key of ANNOTATION_FORMATS)."""
    reader = ANNOTATION_FORMATS.get(info_format)
    if reader is None:
        raise UserError(f"info_format={info_format!r} is not one of {sorted(ANNOTATION_FORMATS)}")
    return reader(Path(path))


def read_mtat(path: Path) -> Annotations:
    """Parse an MTAT-format annotation file; UserError names the file and the bad line/column."""
    if not path.is_file():
        raise UserError(f"annotation file {path} does not exist (expected MTAT annotations_final.csv)")
    rows = _rows(path)
    first = next(rows, None)
    if first is None:
        raise UserError(f"annotation file {path} is empty; expected a header line")
    _, header = first
    if len(header) == 1 and "," in header[0]:
        raise UserError(
            f"annotation file {path} is comma-delimited; info_format=mtat expects tab-separated fields "
            f"like MTAT's annotations_final.csv"
        )
    tag_names = _check_header(path, header)
    clip_ids: list[int] = []
    id_lines: dict[int, int] = {}
    tag_bits: list[str] = []
    mp3_paths: list[str] = []
    for line, row in rows:
        clip_id = _parse_row(path, line, row, tag_names)
        if clip_id in id_lines:
            raise UserError(f"{path}, line {line}: clip_id {clip_id} already appears on line {id_lines[clip_id]}")
        id_lines[clip_id] = line
        clip_ids.append(clip_id)
        tag_bits.append("".join(row[1:-1]))
        mp3_paths.append(row[-1])
    if not clip_ids:
        raise UserError(f"annotation file {path} has a header but no clip rows")
    return Annotations(
        clip_ids=np.array(clip_ids, dtype=np.int64),
        tag_names=tag_names,
        tag_matrix=_bits_to_matrix(tag_bits, len(tag_names)),
        mp3_paths=mp3_paths,
        source=str(path),
    )


PATH_TAGS_HEADER = ["path", "tags"]
TAG_SEPARATOR = ";"


def read_path_tags(path: Path) -> Annotations:
    """Parse a `path,tags` file: header `path,tags`, then one row per clip, e.g. `rock/a.mp3,guitar;loud`.

    Tags are `;`-separated, stripped of surrounding spaces; a row may have none (a clip negative for every
    tag). Clip ids are the rows' numbers (1 = the first clip row). Tag columns are sorted by name here;
    the kept tags are then ordered as for MTAT (top_tags: ascending frequency). Paths are checked where
    MTAT's are: an unsafe one is skipped and reported, never opened. UserError names the file and line
    of a bad header, a row without exactly two fields, a path listed twice or a tag holding a line break.
    """
    if not path.is_file():
        raise UserError(f"annotation file {path} does not exist (expected a CSV with the header 'path,tags')")
    rows = _rows(path, delimiter=",")
    first = next(rows, None)
    if first is None or [field.strip() for field in first[1]] != PATH_TAGS_HEADER:
        found = "nothing" if first is None else repr(",".join(first[1]))
        raise UserError(f"{path}, line 1: expected the header 'path,tags' (info_format=path_tags), found {found}")
    paths: list[str] = []
    clip_tags: list[set[str]] = []
    path_lines: dict[str, int] = {}
    for line, row in rows:
        if len(row) != 2:
            raise UserError(f"{path}, line {line}: {len(row)} fields, expected 2 (path,tags; quote fields with commas)")
        clip, tags = row[0].strip(), {tag.strip() for tag in row[1].split(TAG_SEPARATOR)} - {""}
        if clip in path_lines:
            raise UserError(f"{path}, line {line}: path {clip!r} already appears on line {path_lines[clip]}")
        if any("\n" in tag or "\r" in tag for tag in tags):
            raise UserError(f"{path}, line {line}: a tag holds a line break")
        path_lines[clip] = line
        paths.append(clip)
        clip_tags.append(tags)
    if not paths:
        raise UserError(f"annotation file {path} has a header but no clip rows")
    if len(paths) > MAX_CLIP_ID:
        raise UserError(f"annotation file {path}: {len(paths)} clips do not fit the int32 id column")
    tag_names = sorted(set().union(*clip_tags))
    if not tag_names:
        raise UserError(f"annotation file {path}: no clip has a tag (expected tags like 'guitar;loud')")
    matrix = multi_hot(clip_tags, tag_names)
    return Annotations(np.arange(1, len(paths) + 1, dtype=np.int64), tag_names, matrix, paths, str(path))


# info_format -> reader. A new format is one reader returning `Annotations` and one entry here
# (and in default_config.yaml's info_format choices).
ANNOTATION_FORMATS: dict[str, Callable[[Path], Annotations]] = {
    "mtat": read_mtat,
    "path_tags": read_path_tags,
    "mtg_jamendo": read_mtg_jamendo,
    "msd_lastfm": read_msd_lastfm,
}


def _check_header(path: Path, header: list[str]) -> list[str]:
    """The tag column names, after checking the `clip_id` ... `mp3_path` frame around them."""
    if header[0] != "clip_id":
        raise UserError(f"{path}, line 1: first column is {header[0]!r}, expected 'clip_id'")
    if header[-1] != "mp3_path":
        raise UserError(f"{path}, line 1: last column is {header[-1]!r}, expected 'mp3_path'")
    tag_names = header[1:-1]
    duplicates = sorted(name for name, count in Counter(tag_names).items() if count > 1)
    if duplicates:
        raise UserError(f"{path}, line 1: tag columns appear twice: {', '.join(duplicates)}")
    return tag_names


def _parse_row(path: Path, line: int, row: list[str], tag_names: list[str]) -> int:
    """Check one clip row (field count, clip_id, 0/1 tags) and return its clip_id."""
    expected = len(tag_names) + 2
    if len(row) != expected:
        raise UserError(f"{path}, line {line}: {len(row)} fields, expected {expected} like the header")
    if not (row[0].isascii() and row[0].isdigit()):
        raise UserError(f"{path}, line {line}: clip_id {row[0]!r} is not a non-negative integer")
    if int(row[0]) > MAX_CLIP_ID:
        raise UserError(
            f"{path}, line {line}: clip_id {row[0]} does not fit the int32 id column of the MindRecord "
            f"schema (at most {MAX_CLIP_ID})"
        )
    values = row[1:-1]
    if not _BINARY.issuperset(values):
        column, value = next((n, v) for n, v in zip(tag_names, values, strict=True) if v not in _BINARY)
        raise UserError(f"{path}, line {line}, column {column!r}: value {value!r}, expected '0' or '1'")
    return int(row[0])


def _bits_to_matrix(tag_bits: list[str], n_tags: int) -> np.ndarray:
    """Rows of checked '0'/'1' characters -> (clips, n_tags) uint8, without a Python loop per cell."""
    ascii_digits = np.frombuffer("".join(tag_bits).encode("ascii"), dtype=np.uint8)
    return (ascii_digits - ord("0")).reshape(len(tag_bits), n_tags)


def top_tags(annotations: Annotations, n: int = 50, rows: np.ndarray | None = None) -> list[str]:
    """The n most frequent tags in label order: ascending frequency, index 0 the least frequent.

    Every tag column is counted (the reference's `columns[1:-2]` skipped the last one).
    Ties follow the reference's `sorted([frequency, name])[-n:]`: tags are ordered by
    (count, name) ascending and the last n kept, so among equal counts the alphabetically
    later name ranks as more frequent. `rows` (integer positions or a boolean mask over
    clips) restricts the count to a subset, e.g. the training split.
    """
    n_tags = len(annotations.tag_names)
    if not 1 <= n <= n_tags:
        raise UserError(
            f"{annotations.source}: asked for the top {n} tags, but it has {n_tags} tag columns "
            f"(set num_classes to at most {n_tags})"
        )
    matrix = annotations.tag_matrix if rows is None else annotations.tag_matrix[rows]
    if matrix.shape[0] == 0:
        raise UserError(f"{annotations.source}: no clips selected to count tag frequencies over")
    counts = matrix.sum(axis=0, dtype=np.int64)
    ranked = sorted(zip(counts.tolist(), annotations.tag_names, strict=True))
    return [name for _, name in ranked[-n:]]


def keep_tags(annotations: Annotations, tags: Sequence[str]) -> Annotations:
    """The annotations with only the tag columns named in `tags` (in their file order); others dropped."""
    wanted = set(tags)
    columns = [j for j, name in enumerate(annotations.tag_names) if name in wanted]
    return replace(
        annotations,
        tag_names=[annotations.tag_names[j] for j in columns],
        tag_matrix=annotations.tag_matrix[:, columns],
    )


def label_matrix(annotations: Annotations, tags: Sequence[str]) -> np.ndarray:
    """Multi-hot labels, (clips, len(tags)) int32, column j being tags[j]."""
    column = {name: j for j, name in enumerate(annotations.tag_names)}
    unknown = [tag for tag in tags if tag not in column]
    if unknown:
        raise UserError(f"{annotations.source}: no tag column named {', '.join(map(repr, unknown))}")
    return annotations.tag_matrix[:, [column[tag] for tag in tags]].astype(np.int32)


def check_clip_path(mp3_path: str) -> None:
    """UserError naming an annotation path that is empty, absolute or holds `..` (untrusted input)."""
    parts = PurePosixPath(mp3_path).parts
    if not parts or "\x00" in mp3_path:
        raise UserError(f"clip path {mp3_path!r} is empty or invalid; expected a path like 'f/name.mp3'")
    if PurePosixPath(mp3_path).is_absolute() or ".." in parts:
        raise UserError(f"clip path {mp3_path!r} must be relative to the audio root, without '..'")


def resolve_clip_path(audio_root: str | os.PathLike, mp3_path: str, follow_symlinks: bool = False) -> Path:
    """`audio_root / mp3_path`, guaranteed to stay inside audio_root (the file need not exist).

    The annotation file is input, so a path in it is not trusted: see check_clip_path. A path
    that resolves outside the root through a symlink is refused too, unless follow_symlinks
    (the user's own links to shared storage, made inside the root).
    """
    check_clip_path(mp3_path)
    root = Path(audio_root)
    candidate = root / mp3_path
    if not follow_symlinks and not candidate.resolve().is_relative_to(root.resolve()):
        raise UserError(f"clip path {mp3_path!r} {SYMLINK_REASON} ({root})")
    return candidate
