"""MTAT-format dataset -> MindRecord shards, streamed: features are written as they come.

Workers decode audio and compute log-mels in parallel; this process is the only writer.
Broken clips are skipped and listed in the report, never fatal for the dataset.
"""

from __future__ import annotations

import logging
import os
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from src import features
from src.annotations import label_matrix, read_annotations, resolve_clip_path, top_tags, write_tag_list
from src.errors import UserError
from src.fileio import atomic_write_json

log = logging.getLogger("fcn4")

MTAT_FOLDER_SPLIT = {**{f: "train" for f in "0123456789ab"}, "c": "val", **{f: "test" for f in "def"}}
REPORT_FILE = "preprocess_report.json"
MANIFEST_FILE = "manifest.json"
TAGS_FILE = "tags.txt"


def assign_splits(mp3_paths: list[str], split: str, train_ratio: float, seed: int) -> np.ndarray:
    """Split name per clip: seeded random train/val (reproducible), or MTAT's folder split."""
    if split == "random":
        if not 0.0 < train_ratio < 1.0:
            raise UserError(f"train_ratio={train_ratio} must be between 0 and 1 (exclusive)")
        draws = np.random.default_rng(seed).random(len(mp3_paths))
        return np.where(draws < train_ratio, "train", "val")
    folders = [p.split("/", 1)[0] for p in mp3_paths]
    unknown = sorted({f for f in folders if f not in MTAT_FOLDER_SPLIT})
    if unknown:
        raise UserError(f"split=mtat needs mp3_path folders 0-9/a-f, found {unknown[:3]}")
    return np.array([MTAT_FOLDER_SPLIT[f] for f in folders])


def _extract(task: tuple[int, str]) -> tuple[int, np.ndarray | None, str]:
    """Worker: (row, feature or None, reason). Never raises for bad audio."""
    row, path = task
    try:
        return row, features.extract(path), ""
    except features.AudioError as exc:
        return row, None, exc.reason


def _worker_count(requested: int) -> int:
    return requested if requested > 0 else (os.cpu_count() or 1)


def build(config) -> dict:
    """Write <split>.mindrecord0..N-1, tags.txt, manifest.json and the report into mr_path."""
    from src.dataset import SplitWriter

    root = Path(config.audio_path)
    annotations = read_annotations(root / config.info_name)
    if len(annotations.clip_ids) == 0:
        raise UserError(f"{root / config.info_name}: no clips listed")
    tags = top_tags(annotations, config.num_classes)
    labels = label_matrix(annotations, tags)
    paths = [resolve_clip_path(root, p) for p in annotations.mp3_paths]
    splits = assign_splits(annotations.mp3_paths, config.split, config.train_ratio, config.split_seed)
    out = Path(config.mr_path)
    out.mkdir(parents=True, exist_ok=True)
    write_tag_list(out / TAGS_FILE, tags)

    order = [(row, str(paths[row])) for name in ("train", "val", "test") for row in np.flatnonzero(splits == name)]
    writers = {}
    skipped = []
    began = time.perf_counter()
    features.warm_up()
    with get_context("fork").Pool(_worker_count(config.preprocess_workers)) as pool:
        results = pool.imap(_extract, order, chunksize=2)
        for row, feature, reason in tqdm(results, total=len(order), desc="preprocess", unit="clip"):
            if feature is None:
                skipped.append({"clip_id": int(annotations.clip_ids[row]),
                                "mp3_path": annotations.mp3_paths[row], "reason": reason})
                continue
            name = str(splits[row])
            if name not in writers:
                writers[name] = SplitWriter(out, name, config.num_consumer, config.num_classes)
            writers[name].add(annotations.clip_ids[row], feature, labels[row])
    counts = {name: writer.commit() for name, writer in writers.items()}
    seconds = time.perf_counter() - began
    report = {"written": counts, "skipped": skipped, "seconds": round(seconds, 2),
              "clips_per_s": round(len(order) / seconds, 2)}
    atomic_write_json(out / REPORT_FILE, report)
    if not any(counts.values()):
        raise UserError(f"no usable clip in {root}: all {len(order)} were skipped (see {out / REPORT_FILE})")
    atomic_write_json(out / MANIFEST_FILE, {
        "tags": tags, "num_classes": config.num_classes, "split": config.split, "train_ratio": config.train_ratio,
        "split_seed": config.split_seed, "split_sizes": counts, "features": features.feature_params(),
        "positives": {name: labels[splits == name].sum(axis=0).astype(int).tolist() for name in counts}})
    return report
