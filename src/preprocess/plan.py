"""What a preprocessing run will produce, decided before any audio is read.

The plan fixes the clips, their order (train rows, then val, then test, each in annotation
order), their split and labels, the tag list, and a fingerprint of every setting that changes
the output. Resuming, multi-host parts and the "already done" check all compare fingerprints.
With track_windows > 1 a track becomes several rows, its windows (see windows.py), next to each other.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src import features
from src.core.errors import UserError
from src.core.file_names import SPLITS
from src.core.fileio import file_sha256
from src.preprocess.annotations import Annotations, keep_tags, label_matrix, read_annotations, top_tags
from src.preprocess.specs import DatasetSpec
from src.preprocess.splits import assign_splits, listed_tags, refused_rows
from src.preprocess.windows import track_rows

log = logging.getLogger("fcn4")


@dataclass(frozen=True)
class Plan:
    """The clips (rows: one per window of a track) of the dataset in output order.

    clip_ids: (n,) int64 row ids; mp3_paths: n relative paths; splits: (n,) split names; labels: (n, C)
    int32 multi-hot in `tags` order; settings: the output-defining settings (JSON-ready);
    planned: rows per split kept; dropped_untagged: tracks per split left out for having none of the tags;
    refused: rows no split could take (clip_id, mp3_path, split "", reason), reported as skipped;
    windows: (n, 2) int64, each row's window index and its track's window count (features.track_window).
    """

    clip_ids: np.ndarray
    mp3_paths: list[str]
    splits: np.ndarray
    labels: np.ndarray
    tags: list[str]
    settings: dict
    planned: dict[str, int]
    dropped_untagged: dict[str, int]
    refused: list[dict]
    windows: np.ndarray

    @property
    def fingerprint(self) -> str:
        """sha256 of the settings and feature parameters: equal fingerprints mean equal outputs."""
        text = json.dumps({"settings": self.settings, "features": features.feature_params()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def __len__(self) -> int:
        return len(self.mp3_paths)


def make_plan(spec: DatasetSpec) -> Plan:
    """Annotations -> splits -> top tags (whole file or train split) -> labels -> clips kept, in order."""
    csv_path = spec.csv_path
    annotations = read_annotations(csv_path, spec.info_format)
    listed = listed_tags(spec.split)
    if listed is not None:
        dropped = [tag for tag in annotations.tag_names if tag not in set(listed)]
        if dropped:
            log.info("%d tags of %s are in no split file, left out: %s", len(dropped), csv_path, ", ".join(dropped))
        annotations = keep_tags(annotations, listed)
    splits = assign_splits(annotations.mp3_paths, spec.split, annotations.splits, spec.info_format)
    refused = refused_rows(annotations.mp3_paths, splits, spec.split.method)
    rows = splits == "train" if spec.top_tags_from == "train" else None
    if rows is not None and not rows.any():
        raise UserError(f"top_tags_from=train, but split={spec.split.method} puts no clip of {csv_path} in train")
    tags = top_tags(annotations, spec.num_classes, rows=rows)
    labels = label_matrix(annotations, tags)
    if not labels.any():
        log.warning("%s: no clip carries any of the %d kept tags: every label would be 0", csv_path, len(tags))
    tagged = labels.any(axis=1) if spec.drop_untagged else np.ones(len(splits), dtype=bool)
    order = np.concatenate([np.flatnonzero((splits == name) & tagged) for name in SPLITS])
    if order.size == 0:
        raise UserError(f"no clip of {csv_path} is in a split (split={spec.split.method})")
    durations = None if annotations.durations is None else annotations.durations[order]
    tracks, window, count, ids = track_rows(annotations.clip_ids[order], durations, spec.track_windows, csv_path)
    order = order[tracks]
    return Plan(
        clip_ids=ids,
        mp3_paths=[annotations.mp3_paths[i] for i in order],
        splits=splits[order],
        labels=labels[order],
        tags=tags,
        settings=_settings(spec, annotations),
        planned={name: int(np.sum(splits[order] == name)) for name in SPLITS},
        dropped_untagged={name: int(np.sum((splits == name) & ~tagged)) for name in SPLITS},
        refused=[
            dict(clip_id=int(annotations.clip_ids[row]), mp3_path=annotations.mp3_paths[row], split="", reason=why)
            for row, why in refused.items()
        ],
        windows=np.stack([window, count], axis=1),
    )


def _settings(spec: DatasetSpec, annotations: Annotations) -> dict:
    """The settings that define the output, independent of where the files are on this host.

    Their keys and order are what older datasets recorded, so that those are still recognised:
    info_format appears only when it is not mtat, the one format there was before it, and
    follow_symlinks (which lets in clips that were skipped before) and track_windows only when set.
    """
    settings = {
        "info_name": spec.info_name,
        "annotations_sha256": annotations_sha256(annotations),
        "num_classes": spec.num_classes,
        "split": spec.split.method,
        "top_tags_from": spec.top_tags_from,
        "drop_untagged": spec.drop_untagged,
        "num_consumer": spec.num_consumer,
    }
    if spec.split.method == "random":
        settings.update(train_ratio=spec.split.train_ratio, split_seed=spec.split.seed)
    if spec.split.method == "file":
        settings["split_lists"] = {
            name: {"file": Path(path).name, "sha256": file_sha256(path)}
            for name, path in spec.split.file_lists().items()
        }
    if spec.info_format != "mtat":
        settings["info_format"] = spec.info_format
    if spec.follow_symlinks:
        settings["follow_symlinks"] = True
    if spec.track_windows != 1:
        settings["track_windows"] = spec.track_windows
    return settings


def annotations_sha256(annotations: Annotations) -> str:
    """What identifies the labels a dataset was made from: the sha256 of its annotation file (as datasets
    have always recorded), or for a format read from several files (msd_lastfm) the sha256 of each file's
    name and sha256, one line per file in reading order."""
    if not annotations.files:
        return file_sha256(annotations.source)
    lines = "".join(f"{Path(file).name}\t{file_sha256(file)}\n" for file in annotations.files)
    return hashlib.sha256(lines.encode()).hexdigest()
