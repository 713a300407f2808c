"""info_format=msd_lastfm: the Million Song Dataset's last.fm top-50 tags, in musicnn-training's plain-text layout.

The split that papers compare on (used by minzwon/sota-music-tagging-models and jordipons/musicnn-training,
from jongpillee/music_dataset_split) is published as Python pickles: `filtered_list_train.cP`,
`filtered_list_test.cP`, `msd_id_to_tag_vector.cP`, `MSD_id_to_7D_id.pkl`, `7D_id_to_path.pkl`. This toolkit
never unpickles (a pickle can run code); it reads the text files that musicnn-training's scripts make from
those pickles (`aux/msd/create_MSD_gt.py`, `aux/MSD_index_files/create_MSD_index.py`), from one folder,
info_path (musicnn-training's `data/index/msd/`):

    train_gt_msd.tsv, val_gt_msd.tsv, test_gt_msd.tsv   (create_MSD_gt.py writes them as *_gt_MSD.tsv: both read)
        one track per line, no header: the MSD track id, a tab, its labels as a list,
        `TRYOGXX128F42483A6<TAB>[0, 0, 1, ..., 0]`; train is filtered_list_train's first 201,680 ids,
        val its other 11,774, test filtered_list_test's 28,435
    50tagList.txt (sota-music-tagging-models: one tag per line), else output_labels_msd.txt
        (musicnn-training: `MSD_LABELS = ['rock','pop', ...]`): the tags, in the label lists' column order
    index_msd.tsv (or index_MSD.tsv), optional: `TRAAAAK128F9318786<TAB>A/A/A/TRAAAAK128F9318786.mp3`, the
        audio path of each id (extra columns ignored)

Without an index a track's audio is `A/B/C/<id>.mp3` under audio_path, from the id's 3rd to 5th characters
(the layout of both repositories). The gt files are the split (--split annotations). Clip ids are the rows'
numbers over train, val and test in that order (1 = the first train row).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.preprocess.formats.common import MAX_CLIP_ID, Annotations, annotation_rows

GT_FILES = {"train": "train_gt_msd.tsv", "val": "val_gt_msd.tsv", "test": "test_gt_msd.tsv"}
TAG_LISTS = ("50tagList.txt", "output_labels_msd.txt")
INDEX_FILE = "index_msd.tsv"
PICKLE_SUFFIXES = frozenset({".cp", ".pkl", ".pickle"})  # compared in lower case: sota's are `.cP`
_TRACK_ID = re.compile(r"TR[A-Z0-9]{16}")
CONVERSION = (
    "convert the pickles in your own environment with musicnn-training's aux/msd/create_MSD_gt.py "
    "(train/val/test_gt_msd.tsv) and use sota-music-tagging-models' split/msd/50tagList.txt"
)


def read_msd_lastfm(path: Path) -> Annotations:
    """Parse the folder of MSD last.fm files described in the module docstring; UserError names the file and line.

    Refused with a one-line error: a pickle (.cP, .pkl), a folder without train_gt_msd.tsv or a tag list, a
    row that is not `id<TAB>[labels]`, a track id not like `TRAAAAK128F9318786`, a label other than 0/1, a
    label list whose length is not the tag list's, an id listed twice, an id the index does not have.
    """
    refuse_pickle(path)
    if path.is_file():
        raise UserError(
            f"{path} is a file; info_format=msd_lastfm reads the folder holding train_gt_msd.tsv, "
            f"val_gt_msd.tsv, test_gt_msd.tsv and 50tagList.txt (pass --info_path {path.parent})"
        )
    if not path.is_dir():
        raise UserError(
            f"annotation folder {path} does not exist (info_format=msd_lastfm: pass the folder of "
            f"train_gt_msd.tsv as --info_path)"
        )
    gt_files = {split: _find(path, name) for split, name in GT_FILES.items()}
    if gt_files["train"] is None:
        _refuse_pickled_folder(path)
        raise UserError(
            f"{path} has no {GT_FILES['train']} (info_format=msd_lastfm expects musicnn-training's "
            f"train_gt_msd.tsv, val_gt_msd.tsv, test_gt_msd.tsv and a tag list, 50tagList.txt)"
        )
    tag_file = next((path / name for name in TAG_LISTS if (path / name).is_file()), None)
    if tag_file is None:
        raise UserError(f"{path} has no tag list: expected {' or '.join(TAG_LISTS)} beside {GT_FILES['train']}")
    tags = read_tag_names(tag_file)
    ids: list[str] = []
    splits: list[str] = []
    labels: list[list[int]] = []
    where: dict[str, str] = {}
    for split, gt_file in gt_files.items():
        if gt_file is not None and gt_file.stat().st_size == 0:
            raise UserError(f"{gt_file} is empty; expected one track per line: id<TAB>[0, 1, ...]")
        for line, track, label in _gt_rows(gt_file, len(tags)) if gt_file else ():
            if track in where:
                raise UserError(f"{gt_file}, line {line}: track {track} already appears in {where[track]}")
            where[track] = f"{gt_file.name}, line {line}"
            ids.append(track)
            splits.append(split)
            labels.append(label)
    if len(ids) > MAX_CLIP_ID:
        raise UserError(f"{path}: {len(ids)} tracks do not fit the int32 id column")
    index_file = _find(path, INDEX_FILE)
    paths = _indexed_paths(index_file, ids, where) if index_file else [audio_path(track) for track in ids]
    read = [file for file in (*gt_files.values(), tag_file, index_file) if file is not None]
    return Annotations(
        clip_ids=np.arange(1, len(ids) + 1, dtype=np.int64),
        tag_names=tags,
        tag_matrix=np.array(labels, dtype=np.uint8).reshape(len(ids), len(tags)),
        mp3_paths=paths,
        source=str(path),
        splits=np.array(splits, dtype="<U5"),
        files=tuple(str(file) for file in read),
    )


def audio_path(track: str) -> str:
    """The relative audio path of an MSD track id in both repositories' layout: `A/B/C/<id>.mp3`."""
    return f"{track[2]}/{track[3]}/{track[4]}/{track}.mp3"


def refuse_pickle(path: Path) -> None:
    """UserError for a path that names a Python pickle (sota-music-tagging-models' .cP files)."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise UserError(f"{path} is a Python pickle: this toolkit never unpickles (it can run code); {CONVERSION}")


def read_tag_names(path: Path) -> list[str]:
    """The tags of 50tagList.txt (one per line) or of musicnn's output_labels_msd.txt (`MSD_LABELS = [...]`)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"tag list {path} is not UTF-8 text: {exc.reason}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if lines and "=" in lines[0] and lines[0].rstrip().endswith("]"):
        tags = _literal_list(path, lines[0].split("=", 1)[1])
    else:
        tags = lines
    if not tags:
        raise UserError(f"tag list {path} lists no tags")
    repeated = sorted({tag for tag in tags if tags.count(tag) > 1})
    if repeated:
        raise UserError(f"tag list {path}: tags listed twice: {', '.join(repeated)}")
    return tags


def _literal_list(path: Path, text: str) -> list[str]:
    """A Python list of strings, read as a literal (ast.literal_eval evaluates no code)."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        value = None
    if not (isinstance(value, list) and all(isinstance(tag, str) and tag for tag in value)):
        raise UserError(f"tag list {path}: expected `MSD_LABELS = ['rock', 'pop', ...]` or one tag per line")
    return value


def _find(folder: Path, name: str) -> Path | None:
    """folder/name, or its `MSD` spelling (create_MSD_gt.py's train_gt_MSD.tsv); None when neither exists."""
    for candidate in (name, name.replace("msd", "MSD")):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _refuse_pickled_folder(folder: Path) -> None:
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise UserError(
            f"{folder} holds Python pickles ({', '.join(pickles[:3])}) but no {GT_FILES['train']}: this toolkit "
            f"never unpickles (it can run code); {CONVERSION}"
        )


def _gt_rows(path: Path, num_tags: int):
    """(line, track id, 0/1 labels) of each row of a gt file, checked."""
    for line, row in annotation_rows(path):
        if len(row) != 2:
            raise UserError(f"{path}, line {line}: {len(row)} fields, expected 2 (track id<TAB>[0, 1, ...])")
        track, text = row[0].strip(), row[1].strip()
        if _TRACK_ID.fullmatch(track) is None:
            raise UserError(f"{path}, line {line}: track id {track!r} is not an MSD id like 'TRAAAAK128F9318786'")
        try:
            label = json.loads(text)
        except ValueError:
            label = None
        if not (isinstance(label, list) and all(type(value) is int and value in (0, 1) for value in label)):
            raise UserError(f"{path}, line {line}: labels {text[:40]!r} are not a list of 0/1 like [0, 1, 0]")
        if len(label) != num_tags:
            raise UserError(f"{path}, line {line}: {len(label)} labels, expected {num_tags} (one per tag of the list)")
        yield line, track, label


def _indexed_paths(index_file: Path, ids: list[str], where: dict[str, str]) -> list[str]:
    """Each id's audio path from the index (id<TAB>path per line); UserError for an id it lacks."""
    paths: dict[str, str] = {}
    for line, row in annotation_rows(index_file):
        if len(row) < 2:
            raise UserError(f"{index_file}, line {line}: {len(row)} field, expected track id<TAB>path")
        if row[0] in paths and paths[row[0]] != row[1]:
            raise UserError(f"{index_file}, line {line}: track {row[0]} already has the path {paths[row[0]]!r}")
        paths[row[0]] = row[1]
    missing = next((track for track in ids if track not in paths), None)
    if missing is not None:
        raise UserError(f"{index_file} has no path for track {missing} ({where[missing]})")
    return [paths[track] for track in ids]
