"""Helpers of the preprocessing benchmarks: a large MTAT-format corpus made cheaply, and runs measured
for wall time and peak memory as real processes.

A corpus of N clips is made of a few real generated mp3 clips (29.1 s, 16 kHz mono, as MTAT),
each hard-linked under many MTAT-style names with its own clip_id: every row is decoded and
computed for real, without synthesising N clips.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from src import demo_data
from src.core.file_names import REPORT_FILE

ROOT = Path(__file__).resolve().parents[1]
BASE_CLIPS = 32


@contextmanager
def work_folder(path: str | None, prefix: str) -> Iterator[Path]:
    """The --work folder when given (kept), else a temporary one removed afterwards."""
    if path:
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def tiled_corpus(directory: Path, num_clips: int, base_clips: int = BASE_CLIPS) -> Path:
    """directory/mtat_N: an MTAT-format corpus of num_clips rows over hard links to base_clips real mp3s."""
    base = directory / f"base_{base_clips}"
    if not (base / demo_data.CSV_NAME).is_file():
        demo_data.generate_corpus(base, num_clips=base_clips, seed=0, workers=os.cpu_count() or 1)
    root = directory / f"mtat_{num_clips}"
    if (root / demo_data.CSV_NAME).is_file():
        return root
    with open(base / demo_data.CSV_NAME, newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter="\t"))
    tiled = []
    for i in range(num_clips):
        clip_id, *tags, mp3_path = rows[i % len(rows)]
        folder, name = mp3_path.split("/")
        target = f"{folder}/copy{i:05d}-{name}"
        (root / folder).mkdir(parents=True, exist_ok=True)
        os.link(base / mp3_path, root / target)
        tiled.append([str(i + 1), *tags, target])
    with open(root / demo_data.CSV_NAME, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerows([header, *tiled])
    return root


def run_measured(command: list[str], interval_s: float = 0.05) -> dict:
    """Run command from the repo root; wall seconds and peak memory (MiB) sampled every interval_s.

    peak_rss_mib: the main process. peak_worker_rss_mib: the largest child. peak_footprint_mib:
    the main process's RSS plus each child's unique memory (USS), so that the pages a forked
    worker shares with its parent are counted once. (A sum of PSS would drift with how many pages
    are still shared, e.g. jump when the workers exit, without any allocation.)
    """
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    main = psutil.Process(process.pid)
    peak = {"peak_rss_mib": 0.0, "peak_worker_rss_mib": 0.0, "peak_footprint_mib": 0.0}
    while process.poll() is None:
        try:
            rss = main.memory_info().rss / 2**20
            children = [child.memory_full_info() for child in main.children(recursive=True)]
        except psutil.Error:
            continue
        peak["peak_rss_mib"] = max(peak["peak_rss_mib"], rss)
        peak["peak_worker_rss_mib"] = max([peak["peak_worker_rss_mib"], *(c.rss / 2**20 for c in children)])
        peak["peak_footprint_mib"] = max(peak["peak_footprint_mib"], rss + sum(c.uss for c in children) / 2**20)
        time.sleep(interval_s)
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-3000:]}")
    return {"wall_s": time.perf_counter() - began, **peak, "stdout": stdout}


def run_toolkit(audio_path: Path, mr_path: Path, workers: int) -> dict:
    """preprocess.py on a corpus; adds the report's clips/s (pool start to published shards)."""
    result = run_measured(
        [
            sys.executable,
            "preprocess.py",
            "--audio_path",
            str(audio_path),
            "--mr_path",
            str(mr_path),
            "--preprocess_workers",
            str(workers),
            "--overwrite",
            "True",
        ]
    )
    report = json.loads((mr_path / REPORT_FILE).read_text())
    cpu = report["cpu_seconds"]
    return {
        **result,
        "clips_per_s": report["clips_per_s"],
        "clips": report["computed"],
        "cpu_ms_per_clip": (cpu["main"] + cpu["workers"]) / report["computed"] * 1000,
        "worker_cpu_ms_per_clip": cpu["workers"] / report["computed"] * 1000,
    }


def run_reference_style(audio_path: Path, out: Path) -> dict:
    """benchmarks/preprocess_reference_style.py on a corpus; adds its clips/s (first clip to committed shards)."""
    result = run_measured(
        [sys.executable, "benchmarks/preprocess_reference_style.py", "--audio_path", str(audio_path), "--out", str(out)]
    )
    return {**result, **json.loads(result["stdout"].strip().splitlines()[-1])}
