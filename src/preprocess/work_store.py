"""The durable store that makes preprocessing resumable: chunk files, staging, and the final commit.

Layout under `mr_path/preprocess_work/` (removed once the dataset is published):
    plan.json              fingerprint and settings of the run the store belongs to
    chunks/cNNNNNN.npy     features of the usable clips of chunk N, (k, 1, 96, 1366) float32
    chunks/cNNNNNN.json    the chunk's clip ids, its skipped clips with reasons, its short clips padded
    staging/               shards, tags.txt, report and manifest before they are published
    commit.json            written when staging is complete: the files to move into mr_path

Every file is written under a temporary name and renamed, and a chunk's .json is renamed after
its .npy, so the .json's presence means the chunk is finished: a process killed at any moment
(SIGKILL included) leaves only finished chunks and stray temp files, which are ignored.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from src.core import run_lock
from src.core.file_names import PREPROCESS_LOCK, WORK_CHUNKS_DIR, WORK_DIR, dataset_files
from src.core.fileio import atomic_path, atomic_write_json
from src.features import FEATURE_SHAPE, feature_params

CHUNK_CLIPS = 8  # clips per chunk: the unit of work, of resuming, and of a lost computation on a kill
STORE_FORMAT = 1


class WorkStore:
    """The intermediate store of one dataset folder (see the module docstring)."""

    def __init__(self, mr_path: str | Path) -> None:
        self.mr_path = Path(mr_path)
        self.root = self.mr_path / WORK_DIR
        self.chunks = self.root / WORK_CHUNKS_DIR
        self.staging = self.root / "staging"
        self.plan_file = self.root / "plan.json"
        self.commit_file = self.root / "commit.json"
        self.feature_params = feature_params()

    def recorded(self) -> dict | None:
        """plan.json of an unfinished run in this folder, or None when there is none."""
        if not self.plan_file.is_file():
            return None
        try:
            return json.loads(self.plan_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}

    def create(self, fingerprint: str, settings: dict, num_clips: int) -> None:
        self.chunks.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            self.plan_file,
            {
                "store_format": STORE_FORMAT,
                "chunk_clips": CHUNK_CLIPS,
                "fingerprint": fingerprint,
                "settings": settings,
                "num_clips": num_clips,
            },
        )

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def chunk_files(self, index: int) -> tuple[Path, Path]:
        stem = self.chunks / f"c{index:06d}"
        return stem.with_suffix(".npy"), stem.with_suffix(".json")

    def write_chunk(
        self,
        index: int,
        clip_ids: list[int],
        feature_rows: np.ndarray,
        skipped: list[tuple[int, str]],
        padded: list[tuple[int, float]] = (),
    ) -> None:
        """Store one finished chunk: feature_rows (k, 1, 96, 1366) float32 of its usable clips,
        skipped (offset in chunk, reason) for the others, padded (offset, seconds) for its usable
        clips shorter than features.SHORT_SECONDS. The .json goes last: it marks the chunk done."""
        npy, meta = self.chunk_files(index)
        with atomic_path(npy) as tmp, open(tmp, "wb") as handle:
            np.save(handle, feature_rows, allow_pickle=False)
        atomic_write_json(
            meta,
            {
                "clip_ids": clip_ids,
                "usable": len(feature_rows),
                "skipped": skipped,
                "padded": list(padded),
                "features": self.feature_params,
            },
        )

    def read_chunk(self, index: int) -> tuple[np.ndarray, dict[int, str]]:
        """(features (k, 1, 96, 1366) float32 of the usable clips in order, {offset: reason} of the rest).

        The features are memory-mapped, read-only: the shard writer copies them once, from the page cache.
        """
        npy, meta = self.chunk_files(index)
        info = json.loads(meta.read_text(encoding="utf-8"))
        features = np.asarray(np.load(npy, mmap_mode="r", allow_pickle=False))  # MindRecord refuses np.memmap
        return features, {int(offset): reason for offset, reason in info["skipped"]}

    def padded_clips(self, index: int) -> dict[int, float]:
        """{offset in chunk: decoded seconds} of the chunk's clips shorter than features.SHORT_SECONDS."""
        _, meta = self.chunk_files(index)
        return {int(offset): seconds for offset, seconds in json.loads(meta.read_text(encoding="utf-8"))["padded"]}

    def finished_chunks(self, chunk_clip_ids: list[list[int]]) -> set[int]:
        """Indices of the chunks already stored intact for these clips (chunk i holds chunk_clip_ids[i])."""
        for stray in self.chunks.glob(".*.tmp"):
            stray.unlink(missing_ok=True)
        done = set()
        for meta in self.chunks.glob("c*.json"):
            index = int(meta.stem[1:]) if meta.stem[1:].isdigit() else -1
            if 0 <= index < len(chunk_clip_ids) and self._intact(index, chunk_clip_ids[index]):
                done.add(index)
        return done

    def _intact(self, index: int, clip_ids: list[int]) -> bool:
        """Whether a stored chunk holds these clips, made with this toolkit's feature parameters (a
        chunk may come from another host), and its features file has the size it claims. A chunk
        without "padded" comes from a version that skipped short clips: it is computed again."""
        npy, meta = self.chunk_files(index)
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            shape, dtype, data_bytes = _npy_layout(npy)
        except (OSError, ValueError, UnicodeDecodeError):
            return False
        return (
            info.get("clip_ids") == clip_ids
            and "padded" in info
            and info.get("features") == self.feature_params
            and dtype == np.float32
            and shape == (info.get("usable"), *FEATURE_SHAPE)
            and data_bytes == np.prod(shape) * dtype.itemsize
        )

    def begin_commit(self, names: list[str]) -> None:
        """Declare staging complete: names (manifest last) are the files to publish into mr_path."""
        atomic_write_json(self.commit_file, {"publish": names})

    def committing(self) -> bool:
        return self.commit_file.is_file()

    def finish_commit(self) -> None:
        """Move the staged files into mr_path (replacing an older dataset) and drop the store.

        Idempotent, so a run killed halfway through resumes it: the old manifest goes first (the
        folder stops being a finished dataset), stale outputs next, the new manifest last.
        """
        names = json.loads(self.commit_file.read_text(encoding="utf-8"))["publish"]
        if (self.staging / names[-1]).exists():
            (self.mr_path / names[-1]).unlink(missing_ok=True)
        for old in dataset_files(self.mr_path):
            if old.name not in names:
                old.unlink()
        for name in names:
            if (self.staging / name).exists():
                os.replace(self.staging / name, self.mr_path / name)
        self.discard()


def _npy_layout(path: Path) -> tuple[tuple, np.dtype, int]:
    """(shape, dtype, bytes after the header) of a .npy file, reading only its header."""
    with open(path, "rb") as handle:
        major, _ = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(handle)
        return shape, dtype, os.fstat(handle.fileno()).st_size - handle.tell()


@contextmanager
def exclusive(mr_path: str | Path) -> Iterator[int]:
    """Hold mr_path's lock for one preprocessing run; UserError naming the holder if another run holds it.

    Yields the lock's file descriptor, for forked workers to close their inherited copy.
    """
    with run_lock.exclusive(Path(mr_path) / PREPROCESS_LOCK, "preprocess.py") as fd:
        yield fd
