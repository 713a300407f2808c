"""The one writer: stored chunks, in plan order, into per-split MindRecord shards in staging.

Chunks finish in any order; the writer appends a chunk only once every chunk before it is
stored, so the shards hold the clips in plan order whatever the number of workers, and a
resumed run writes exactly what an uninterrupted one would. Memory: one chunk plus the shard
writers' buffers, whatever the number of clips.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from src.core.file_names import SPLITS
from src.preprocess.plan import Plan
from src.preprocess.work_store import CHUNK_CLIPS, WorkStore


class ShardAssembler:
    """Appends stored chunks to the shards of their clips' splits; tallies what it wrote, skipped and
    padded (the clips shorter than features.SHORT_SECONDS, which the report lists)."""

    def __init__(self, store: WorkStore, plan: Plan, num_shards: int) -> None:
        from src.dataset import SplitWriter

        self.store = store
        self.plan = plan
        self.num_chunks = -(-len(plan) // CHUNK_CLIPS)
        self.next_chunk = 0
        num_classes = len(plan.tags)
        self.writers = {
            name: SplitWriter(store.staging, name, num_shards, num_classes) for name in SPLITS if plan.planned[name]
        }
        self.positives = {name: np.zeros(num_classes, np.int64) for name in self.writers}
        self.skipped: list[dict] = []
        self.padded: list[dict] = []

    def advance(self, done: set[int], bar: tqdm | None = None) -> None:
        """Write every stored chunk (index in done) that is next in plan order; tick bar once per chunk."""
        while self.next_chunk < self.num_chunks and self.next_chunk in done:
            self._write(self.next_chunk)
            self.next_chunk += 1
            if bar is not None:
                bar.update(1)

    def _write(self, index: int) -> None:
        rows, skipped = self.store.read_chunk(index)
        padded = self.store.padded_clips(index)
        usable = iter(rows)
        first = index * CHUNK_CLIPS
        for position in range(first, min(first + CHUNK_CLIPS, len(self.plan))):
            split = str(self.plan.splits[position])
            clip_id, mp3_path = int(self.plan.clip_ids[position]), self.plan.mp3_paths[position]
            clip = {"clip_id": clip_id, "mp3_path": mp3_path, "split": split}
            if position - first in skipped:
                self.skipped.append({**clip, "reason": skipped[position - first]})
                continue
            if position - first in padded:
                self.padded.append({**clip, "seconds": padded[position - first]})
            label = self.plan.labels[position]
            self.writers[split].add(self.plan.clip_ids[position], next(usable), label)
            self.positives[split] += label

    def finish(self) -> dict[str, int]:
        """Close the shards (in staging) and return the clips written per split that has planned clips."""
        if self.next_chunk != self.num_chunks:
            raise RuntimeError(f"chunk {self.next_chunk} of {self.num_chunks} was never stored")
        return {name: writer.commit() for name, writer in self.writers.items()}
