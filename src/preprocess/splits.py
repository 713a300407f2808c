"""Which split each clip of an annotation file goes to: seeded random, MTAT folders, given lists, or the
split the annotation files themselves define (msd_lastfm's train/val/test gt files).

Every function returns one split name per annotation row, in row order: "train", "val",
"test", or "" for a clip that is in no split (not listed in a split file, or outside the MTAT
folders: `refused_rows` gives the reason of the latter, which the report lists as skipped).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from src.core.errors import UserError, first_line
from src.preprocess.annotations import check_clip_path
from src.preprocess.formats import mtg_jamendo
from src.preprocess.specs import SplitSpec

# The standard MTAT split (Choi et al. 2016, musicnn): folders 0-b train, c val, d-f test.
MTAT_FOLDER_SPLIT = {**dict.fromkeys("0123456789ab", "train"), "c": "val", **dict.fromkeys("def", "test")}


def random_split(num_clips: int, train_ratio: float, seed: int) -> np.ndarray:
    """The reference's split made reproducible: each clip is train with probability train_ratio, else val.

    The draws come from `numpy.random.default_rng(seed)` in row order, so the same annotation
    file and seed always give the same split.
    """
    if not 0.0 < train_ratio < 1.0:
        raise UserError(f"train_ratio={train_ratio} must be between 0 and 1 (exclusive)")
    draws = np.random.default_rng(seed).random(num_clips)
    return np.where(draws < train_ratio, "train", "val")


def folder_split(mp3_paths: list[str]) -> np.ndarray:
    """MTAT's folder split from the first path component; "" for a row outside the folders 0-9/a-f.

    One odd row must not stop a run (it is skipped and reported); a file where no row fits is
    another layout, a UserError.
    """
    folders = [p.split("/", 1)[0] for p in mp3_paths]
    if not any(f in MTAT_FOLDER_SPLIT for f in folders):
        found = sorted(set(folders))[:3]
        raise UserError(f"split=mtat needs mp3_path folders 0-9 and a-f (MTAT layout), found {found}")
    return np.array([MTAT_FOLDER_SPLIT.get(f, "") for f in folders], dtype="<U5")


def refused_rows(mp3_paths: list[str], splits: np.ndarray, method: str) -> dict[int, str]:
    """{row: reason} for the rows split=mtat could not place (a row a split file leaves out is not refused)."""
    if method != "mtat":
        return {}
    return {row: _layout_problem(mp3_paths[row]) for row in np.flatnonzero(splits == "").tolist()}


def _layout_problem(mp3_path: str) -> str:
    """Why a path has no MTAT folder: unsafe (as the workers would say), or another first folder."""
    try:
        check_clip_path(mp3_path)
    except UserError as exc:
        return str(exc)
    return f"folder {mp3_path.split('/', 1)[0]!r} is not an MTAT folder 0-9/a-f (split=mtat)"


def read_split_list(path: str | os.PathLike) -> list[str]:
    """The mp3_paths listed in one split file, in file order.

    Accepted: a text file with one entry per line (blank lines and `#` comments skipped), or a
    `.npy` array of strings (the form of Won et al.'s published MTAT split). An entry is either
    an mp3_path or `clip_id<TAB>mp3_path`; the last tab-separated field is the path. A file that
    starts with MTG-Jamendo's header (its official data/splits/split-N/*.tsv) is read as such: its
    PATH column.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"split list {path} does not exist (expected one mp3_path per line, or a .npy of strings)")
    if mtg_jamendo.has_header(path):
        return mtg_jamendo.read_mtg_jamendo(path).mp3_paths
    if path.suffix == ".npy":
        entries = _npy_strings(path)
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise UserError(f"split list {path} is not UTF-8 text: {exc.reason}") from None
        entries = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    paths = [entry.split("\t")[-1].strip() for entry in entries]
    if not paths:
        raise UserError(f"split list {path} lists no clips")
    return paths


def _npy_strings(path: Path) -> list[str]:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UserError(f"split list {path}: not a .npy array of strings ({first_line(exc)})") from None
    if array.dtype.kind not in "US":
        raise UserError(f"split list {path}: array of {array.dtype}, expected strings like '2\\tf/name.mp3'")
    return [str(item.decode() if isinstance(item, bytes) else item) for item in array.ravel()]


def listed_tags(spec: SplitSpec) -> list[str] | None:
    """The tags that split=file lists carry when they are MTG-Jamendo split TSVs, else None.

    MTG-Jamendo's split files drop a few of the subset files' tags, so that every split has the same
    ones (autotagging_moodtheme.tsv has 59 tags, its split-0 files 56, among them the 29th most frequent,
    mood/theme---ambiental): the dataset keeps only these, as results on the official splits do.
    """
    if spec.method != "file":
        return None
    lists = [Path(path) for path in spec.file_lists().values()]
    if not all(mtg_jamendo.has_header(path) for path in lists):
        return None
    return list(dict.fromkeys(tag for path in lists for tag in mtg_jamendo.read_mtg_jamendo(path).tag_names))


def file_split(mp3_paths: list[str], lists: dict[str, str]) -> np.ndarray:
    """Splits from split files: lists maps a split name to its list file (see read_split_list).

    A clip listed in no file gets "" (left out of the dataset). UserError for a path listed
    twice, or for a listed path that the annotation file does not have.
    """
    row_of = {p: i for i, p in enumerate(mp3_paths)}
    splits = np.full(len(mp3_paths), "", dtype="<U5")
    listed_in: dict[str, str] = {}
    for name, list_path in lists.items():
        for mp3_path in read_split_list(list_path):
            if mp3_path in listed_in:
                raise UserError(f"split list {list_path}: {mp3_path!r} is already listed in {listed_in[mp3_path]}")
            if mp3_path not in row_of:
                raise UserError(f"split list {list_path}: {mp3_path!r} is not an mp3_path of the annotation file")
            listed_in[mp3_path] = list_path
            splits[row_of[mp3_path]] = name
    return splits


def assign_splits(
    mp3_paths: list[str], spec: SplitSpec, given: np.ndarray | None = None, info_format: str = "mtat"
) -> np.ndarray:
    """One split name per annotation row for spec.method (random, mtat, file, or annotations: `given`,
    the split the annotation files define, which only info_format=msd_lastfm has).

    A format that defines its split must be read with split=annotations (or given lists, split=file):
    a random or folder split of it would quietly drop the split that results are compared on.
    """
    if given is not None and spec.method in ("random", "mtat"):
        raise UserError(
            f"info_format={info_format} defines its split in its files (train/val/test): pass --split annotations "
            f"(or --split file with lists of its paths), not split={spec.method}"
        )
    if spec.method == "random":
        return random_split(len(mp3_paths), spec.train_ratio, spec.seed)
    if spec.method == "mtat":
        return folder_split(mp3_paths)
    if spec.method == "file":
        return file_split(mp3_paths, spec.file_lists())
    if spec.method == "annotations":
        if given is None:
            raise UserError(
                f"split=annotations: info_format={info_format} defines no split of its own (msd_lastfm does); "
                f"use split random, mtat or file"
            )
        return given
    raise UserError(f"split={spec.method!r} is not one of ['random', 'mtat', 'file', 'annotations']")
