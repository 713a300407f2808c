"""An MTAT-shaped corpus for the accuracy benchmark and its CI guard, made with the demo generator.

MTAT's shape: folders `0`-`f` of mp3 clips with `annotations_final.csv` beside them, split by folder
(`--split mtat`: `0`-`b` train, `c` val, `d`-`f` test). The clips are the union of several generator seeds
(more distinct clips than one seed's design cycle), and the corpus carries MTAT's real defects: the three
empty mp3s of the official archive, a truncated, an undecodable and a missing file (src/demo_data.py
BROKEN_PATHS), an annotation row whose path leaves the dataset root, and clips shorter than 1 s. The short
clips lie in train and val folders only, so that every version of the toolkit scores the same test clips.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src import demo_data
from src.core.fileio import atomic_write_bytes
from src.preprocess.annotations import read_annotations

UNSAFE_PATH = "../outside_the_dataset/escaped-0-29.mp3"
SHORT_SECONDS = (0.3, 0.5, 0.7, 0.9)  # cycled over the short clips
MTAT_TRAIN_FOLDERS = frozenset("0123456789ab")  # --split mtat: these train, c val, d-f test
SHORT_FOLDERS = frozenset("0123456789abc")  # train and val; never test


@dataclass(frozen=True)
class Corpus:
    """Where the corpus is, and what it holds (for the report)."""

    root: Path
    clips: int
    short: list[str]
    broken: list[str]
    unsafe: list[str]

    def describe(self) -> str:
        return (
            f"{self.clips} clips, {len(self.short)} shorter than 1 s, {len(self.broken)} broken files, "
            f"{len(self.unsafe)} unsafe path row(s)"
        )


def make_corpus(
    root: Path,
    seeds: tuple[int, ...] = (0, 1, 2, 3),
    clips_per_seed: int = 75,
    short_clips: int = 6,
    unsafe_row: bool = True,
    workers: int = os.cpu_count() or 1,
) -> Corpus:
    """Write the corpus into `root` (which must not exist); the same arguments give the same bytes."""
    root.mkdir(parents=True)
    paths, factors, jobs = [], [], []
    for seed in seeds:
        seed_paths = demo_data.clip_paths(clips_per_seed, seed)
        seed_factors = demo_data.design_factors(clips_per_seed, seed)
        for index, (path, clip_factors) in enumerate(zip(seed_paths, seed_factors, strict=True)):
            jobs.append(demo_data.ClipJob(root / path, clip_factors, seed, index, 29.1))
        paths += seed_paths
        factors += seed_factors
    if len(set(paths)) != len(paths):
        raise ValueError(f"clip paths of seeds {seeds} collide; choose other seeds")
    short = _shorten(jobs, short_clips)
    demo_data.write_clips(jobs, workers)
    extra = demo_data.design_factors(clips_per_seed + 1, seeds[0] + 1000)[-1]
    demo_data.write_broken_files(root, extra, seeds[0])
    unsafe = [UNSAFE_PATH] if unsafe_row else []
    rows = paths + list(demo_data.BROKEN_PATHS) + unsafe
    labels = demo_data.label_matrix(factors + [extra] * (len(rows) - len(paths)))
    ids = list(range(2, 2 + 3 * len(rows), 3))  # increasing with gaps, like MTAT's clip ids
    atomic_write_bytes(root / demo_data.CSV_NAME, demo_data.annotations_csv(ids, labels, rows))
    return Corpus(root, len(paths), short, list(demo_data.BROKEN_PATHS), unsafe)


def without_rows(corpus: Corpus, root: Path, paths: list[str]) -> Corpus:
    """The same corpus at `root` (hard links, no copy) minus the annotation rows of `paths`."""
    lines = (corpus.root / demo_data.CSV_NAME).read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if not any(f'"{path}"'.encode() in line for path in paths)]
    _linked_copy(corpus.root, root, b"".join(kept))
    return Corpus(
        root,
        corpus.clips - len(set(paths) & set(corpus.short)),
        [p for p in corpus.short if p not in paths],
        [p for p in corpus.broken if p not in paths],
        [p for p in corpus.unsafe if p not in paths],
    )


def without_unsafe_rows(corpus: Corpus, root: Path) -> Corpus:
    """The corpus minus its unsafe rows, for versions that abort on one (as a user would remove it by hand)."""
    return without_rows(corpus, root, corpus.unsafe)


def without_short_clips(corpus: Corpus, root: Path) -> Corpus:
    """The corpus minus every row whose audio decodes to under 1 s (the short clips and the truncated file):
    what versions before d472c69 skipped as "too short" and later ones pad (the mechanism test)."""
    return without_rows(corpus, root, [*corpus.short, demo_data.TRUNCATED_PATH])


def with_shuffled_train_labels(corpus: Corpus, root: Path, seed: int = 0) -> Corpus:
    """The same clips at `root` (hard links) with the label rows of the train folders permuted among them:
    a deliberately broken training set (val and test keep their true labels), which a guard must catch."""
    annotations = read_annotations(corpus.root / demo_data.CSV_NAME)
    rows = annotations.mp3_paths
    train = [k for k, path in enumerate(rows) if path.split("/", 1)[0] in MTAT_TRAIN_FOLDERS]
    labels = annotations.tag_matrix.copy()
    labels[train] = annotations.tag_matrix[np.random.default_rng(seed).permutation(train)]
    _linked_copy(corpus.root, root, demo_data.annotations_csv(annotations.clip_ids.tolist(), labels, rows))
    return Corpus(root, corpus.clips, corpus.short, corpus.broken, corpus.unsafe)


def _linked_copy(source_root: Path, root: Path, csv_bytes: bytes) -> None:
    """Every audio file of source_root hard-linked into root, beside a new annotations_final.csv."""
    for source in source_root.rglob("*"):
        target = root / source.relative_to(source_root)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif source.name != demo_data.CSV_NAME:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)
    atomic_write_bytes(root / demo_data.CSV_NAME, csv_bytes)


def _shorten(jobs: list[demo_data.ClipJob], count: int) -> list[str]:
    """Give `count` clips of train/val folders, drawn at random (a fixed stream), a length under 1 s; their paths."""
    candidates = [k for k, job in enumerate(jobs) if job.path.parent.name in SHORT_FOLDERS]
    if count > len(candidates):
        raise ValueError(f"short_clips={count} exceeds the {len(candidates)} clips of train and val folders")
    chosen = sorted(np.random.default_rng(len(jobs)).choice(candidates, size=count, replace=False).tolist())
    for n, k in enumerate(chosen):
        job = jobs[k]
        jobs[k] = demo_data.ClipJob(job.path, job.factors, job.seed, job.index, SHORT_SECONDS[n % len(SHORT_SECONDS)])
    return [f"{jobs[k].path.parent.name}/{jobs[k].path.name}" for k in chosen]
