"""MTAT-format dataset -> MindRecord shards, at MTAT scale: parallel, bounded memory, resumable.

    plan (clips, splits, tags) -> workers compute chunks of clips into a durable store ->
    one writer appends stored chunks, in plan order, to the shards in staging -> publish

A killed run (SIGKILL included) rerun with the same settings recomputes only the chunks that
were not stored and publishes the same rows an uninterrupted run would. Memory does not grow
with the number of clips. Disk: the store holds a second copy of the features until the shards
are published (about 13.5 GB for all of MTAT), then it is removed.

Several hosts: each runs with preprocess_num_shards=P and its own preprocess_shard_id (every
P-th chunk); their `mr_path/preprocess_work/chunks/` folders are then gathered into one, where a
run without preprocess_shard_id computes whatever is still missing and writes the shards.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import time
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from src import features
from src.core.errors import UserError
from src.core.file_names import MANIFEST_FILE, NPY_DIR, REPORT_FILE, TAGS_FILE, dataset_files
from src.core.fileio import atomic_write_json
from src.core.tag_list import write_tag_list
from src.preprocess.manifest import read_manifest, settings_diff, write_manifest
from src.preprocess.plan import Plan, make_plan
from src.preprocess.report import padded_entry, skip_hints
from src.preprocess.specs import DatasetSpec, RunOptions
from src.preprocess.work_store import CHUNK_CLIPS, STORE_FORMAT, WorkStore, exclusive
from src.preprocess.worker import compute_chunk, init_worker
from src.preprocess.writer import ShardAssembler

log = logging.getLogger("fcn4")


def build(spec: DatasetSpec, options: RunOptions) -> dict:
    """Make (or finish, or confirm) the dataset in spec.mr_path; return the run's report.

    The report's "status" is "finished", "already_done" (nothing to do) or "part_done" (a
    multi-host part stored its chunks; a run without preprocess_shard_id assembles them).
    """
    plan = make_plan(spec)
    out = Path(spec.mr_path)
    with exclusive(out) as lock_fd:
        store = WorkStore(out)
        if not _resumable(store, plan, options.overwrite):
            report = _already_done(out, plan, options.overwrite)
            if report is not None:
                return report
            store.create(plan.fingerprint, plan.settings, len(plan))
        if store.committing():
            store.finish_commit()
            return {**_read_report(out), "status": "finished"}
        return _run(store, plan, spec, options, lock_fd)


def _resumable(store: WorkStore, plan: Plan, overwrite: bool) -> bool:
    """Whether mr_path holds unfinished work of these very settings; other work is refused or discarded."""
    recorded = store.recorded()
    if recorded is None:
        return False
    if (
        recorded.get("fingerprint") == plan.fingerprint
        and recorded.get("store_format") == STORE_FORMAT
        and recorded.get("chunk_clips") == CHUNK_CLIPS
    ):
        return True
    if overwrite:
        log.info("discarding unfinished work of other settings in %s (overwrite=True)", store.root)
        store.discard()
        return False
    diff = settings_diff(recorded.get("settings") or {}, plan.settings) or ["feature parameters or store format"]
    raise UserError(
        f"{store.root} holds unfinished work made with other settings ({'; '.join(diff)}); "
        f"rerun with those settings to finish it, or pass --overwrite True to discard it"
    )


def _already_done(out: Path, plan: Plan, overwrite: bool) -> dict | None:
    """The report of a finished dataset of these settings (nothing to do), else None to start work."""
    manifest = read_manifest(out)
    if overwrite:
        return None
    if manifest is None:
        if dataset_files(out):
            raise UserError(
                f"{out} holds MindRecord files but no {MANIFEST_FILE} (another tool, or an older "
                f"version?); pass --overwrite True to replace them, or choose another mr_path"
            )
        return None
    if "fingerprint" not in manifest:
        raise UserError(
            f"{out} holds a dataset made by an older preprocess.py or another tool (its "
            f"{MANIFEST_FILE} has no fingerprint); pass --overwrite True to replace it"
        )
    if manifest["fingerprint"] != plan.fingerprint:
        diff = settings_diff(manifest.get("config") or {}, plan.settings) or ["feature parameters"]
        raise UserError(
            f"{out} holds a dataset made with other settings ({'; '.join(diff)}); "
            f"pass --overwrite True to replace it, or choose another mr_path"
        )
    return {**_read_report(out), "status": "already_done"}


def _run(store: WorkStore, plan: Plan, spec: DatasetSpec, options: RunOptions, lock_fd: int) -> dict:
    """Compute the missing chunks of this part with a worker pool; assemble and publish unless a part."""
    chunks = [list(range(start, min(start + CHUNK_CLIPS, len(plan)))) for start in range(0, len(plan), CHUNK_CLIPS)]
    done = store.finished_chunks([plan.clip_ids[rows].tolist() for rows in chunks])
    part = options.shard_id
    mine = [i for i in range(len(chunks)) if part < 0 or i % options.num_shards == part]
    todo = [i for i in mine if i not in done]
    todo_clips = sum(len(chunks[i]) for i in todo)
    if len(todo) < len(mine):
        log.info(
            "resuming: %d of %d clips already computed in %s",
            sum(len(chunks[i]) for i in mine) - todo_clips,
            sum(len(chunks[i]) for i in mine),
            store.root,
        )
    if todo:
        _warm_up(assembling=part < 0)
    began = Stopwatch()
    pending = [(i, chunks[i]) for i in todo]
    assembler = _compute(store, plan, spec, options, pending, done, lock_fd) if todo else None
    if part >= 0:
        return {
            "status": "part_done",
            "part": part,
            "parts": options.num_shards,
            "work_dir": str(store.chunks),
            **began.figures(todo_clips),
        }
    assembler = assembler or ShardAssembler(store, plan, spec.num_consumer)
    _write_remaining(assembler, done)
    return _publish(store, plan, spec, assembler, todo_clips, began)


def _compute(
    store: WorkStore,
    plan: Plan,
    spec: DatasetSpec,
    options: RunOptions,
    todo: list[tuple[int, list[int]]],
    done: set[int],
    lock_fd: int,
) -> ShardAssembler | None:
    """Workers compute the todo chunks (index, plan rows); unless this is a part, the parent meanwhile
    appends finished chunks to the shards. Returns that assembler (None for a part)."""
    tasks = [
        (index, [(int(plan.clip_ids[r]), plan.mp3_paths[r], *plan.windows[r].tolist()) for r in rows])
        for index, rows in todo
    ]
    sizes = {index: len(rows) for index, rows in todo}
    workers = min(options.workers or os.cpu_count() or 1, len(todo))
    npy_root = str(options.npy_path or Path(spec.mr_path) / NPY_DIR) if options.keep_npy else ""
    initargs = (str(store.mr_path), spec.audio_path, npy_root, lock_fd, spec.follow_symlinks)
    assembler = None
    with get_context("fork").Pool(workers, initializer=init_worker, initargs=initargs) as pool:
        results = pool.imap_unordered(compute_chunk, tasks)
        if options.shard_id < 0:  # created after the fork: workers inherit no open shard file
            assembler = ShardAssembler(store, plan, spec.num_consumer)
            assembler.advance(done)
        with tqdm(total=sum(sizes.values()), desc=f"preprocess ({workers} workers)", unit="clip") as bar:
            for index in results:
                done.add(index)
                bar.update(sizes[index])
                if assembler is not None:
                    assembler.advance(done)
    return assembler


class Stopwatch:
    """Wall and CPU seconds since creation, CPU split into this process (the writer) and its joined workers."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = _cpu_seconds()

    def figures(self, clips: int) -> dict:
        """computed clips, seconds, clips/s and cpu_seconds {main, workers} for a report."""
        seconds = time.perf_counter() - self.wall
        main, workers = (now - then for now, then in zip(_cpu_seconds(), self.cpu, strict=True))
        return {
            "computed": clips,
            "seconds": round(seconds, 2),
            "clips_per_s": round(clips / seconds, 2) if clips else 0.0,
            "cpu_seconds": {"main": round(main, 2), "workers": round(workers, 2)},
        }


def _cpu_seconds() -> tuple[float, float]:
    """User + system CPU seconds of this process and of its children that have been waited for."""
    return tuple(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def _warm_up(assembling: bool) -> None:
    """Pay one-time costs before forking the workers and starting the clock.

    librosa's JIT warm-up (seconds) is then inherited by every worker; MindSpore's import (2-5 s
    of CPU) would otherwise run in the parent while the workers need the cores.
    """
    if assembling:
        importlib.import_module("mindspore.mindrecord")
    features.warm_up()


def _write_remaining(assembler: ShardAssembler, done: set[int]) -> None:
    """Append the chunks still waiting (all of them when resuming a run killed while writing)."""
    left = assembler.num_chunks - assembler.next_chunk
    if left:
        with tqdm(total=left, desc="writing shards", unit="chunk") as bar:
            assembler.advance(done, bar)


def _publish(
    store: WorkStore, plan: Plan, spec: DatasetSpec, assembler: ShardAssembler, computed: int, began: Stopwatch
) -> dict:
    """Close the shards, stage tags, report and manifest, then move them all into mr_path."""
    out = Path(spec.mr_path)
    written = assembler.finish()
    report = {
        "status": "finished",
        "written": written,
        "skipped": assembler.skipped + plan.refused,
        "padded": padded_entry(assembler.padded),
        "dropped_untagged": plan.dropped_untagged,
        **began.figures(computed),
    }
    if not any(written.values()):
        atomic_write_json(out / REPORT_FILE, report)
        first = assembler.skipped[0]
        hints = "".join(f"; {hint}" for hint in skip_hints(assembler.skipped, len(plan), spec.audio_path))
        raise UserError(
            f"no usable clip in {spec.audio_path}: all {len(plan)} were skipped (first: "
            f"{first['mp3_path']}: {first['reason']}; see {out / REPORT_FILE}){hints}"
        )
    write_tag_list(store.staging / TAGS_FILE, plan.tags)
    atomic_write_json(store.staging / REPORT_FILE, report)
    skipped = {name: sum(entry["split"] == name for entry in assembler.skipped) for name in written}
    positives = {name: counts.tolist() for name, counts in assembler.positives.items()}
    paths = {"audio_path": str(spec.audio_path), "mr_path": str(spec.mr_path)}
    write_manifest(store.staging / MANIFEST_FILE, plan, written, skipped, positives, paths)
    shards = sorted(
        p.name
        for p in store.staging.iterdir()
        if p.name not in (TAGS_FILE, REPORT_FILE, MANIFEST_FILE) and not p.name.startswith(".")
    )
    store.begin_commit([*shards, TAGS_FILE, REPORT_FILE, MANIFEST_FILE])
    store.finish_commit()
    return report


def _read_report(out: Path) -> dict:
    """The report of the dataset published in out (a stand-in if it was removed by hand)."""
    try:
        return json.loads((out / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"written": {}, "skipped": [], "computed": 0, "seconds": 0.0, "clips_per_s": 0.0}
