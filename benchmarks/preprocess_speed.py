"""Preprocessing throughput: the floor (decode+resample+mel alone), preprocess.py with 1 and 2
workers, and the reference-style serial pipeline, on the same clips, measured in one run.

    python benchmarks/preprocess_speed.py [--clips 240] [--repeats 1] [--work DIR]

Targets: 1 worker >= 80% of the floor; 2 workers >= 1.7x one worker (on a 2-core machine).
The floor is `features.extract` called serially in this process with one BLAS thread, as a
worker does. preprocess.py's clips/s runs from the start of its worker pool to published shards
(MindRecord writing and commit included; interpreter start-up and librosa warm-up excluded);
the reference-style run's from its first clip to its committed shards. With --repeats R every
measurement runs R times, interleaved, and the best is kept (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.preprocess_common import run_reference_style, run_toolkit, tiled_corpus, work_folder  # noqa: E402
from src import demo_data, features  # noqa: E402
from src.preprocess.annotations import read_annotations  # noqa: E402


def floor_rate(corpus: Path) -> dict:
    """Clips/s and CPU ms per clip of decode + resample + log-mel alone, serially, one BLAS thread."""
    from threadpoolctl import threadpool_limits

    paths = [corpus / p for p in read_annotations(corpus / demo_data.CSV_NAME).mp3_paths]
    with threadpool_limits(limits=1):
        features.warm_up()
        began, cpu = time.perf_counter(), time.process_time()
        for path in paths:
            features.extract(path)
        return {
            "clips_per_s": len(paths) / (time.perf_counter() - began),
            "cpu_ms_per_clip": (time.process_time() - cpu) / len(paths) * 1000,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--work", help="folder for the corpus and outputs (default: a temporary one, removed)")
    args = parser.parse_args()
    with work_folder(args.work, "fcn4_prep_speed_") as work:
        corpus = tiled_corpus(work, args.clips)
        best: dict[str, dict] = {}
        for _ in range(args.repeats):
            runs = {
                "floor": floor_rate(corpus),
                "1 worker": run_toolkit(corpus, work / "w1", 1),
                "2 workers": run_toolkit(corpus, work / "w2", 2),
                "reference-style serial": run_reference_style(corpus, work / "ref"),
            }
            for name, run in runs.items():
                if name not in best or run["clips_per_s"] > best[name]["clips_per_s"]:
                    best[name] = run
        report(best, args.clips, args.repeats)
    return 0


def report(best: dict[str, dict], clips: int, repeats: int) -> None:
    floor = best["floor"]["clips_per_s"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{clips} clips (29.1 s, 16 kHz mono mp3), {os.cpu_count()} cores, best of {repeats}; load average {load}")
    print(
        f"{'run':24s} {'clips/s':>8s} {'vs floor':>9s} {'CPU ms/clip':>12s} {'main RSS MiB':>13s} "
        f"{'footprint MiB':>14s}"
    )
    for name, run in best.items():
        rss = f"{run['peak_rss_mib']:13.0f} {run['peak_footprint_mib']:14.0f}" if "peak_rss_mib" in run else ""
        print(
            f"{name:24s} {run['clips_per_s']:8.2f} {run['clips_per_s'] / floor:9.0%} "
            f"{run['cpu_ms_per_clip']:12.1f} {rss}"
        )
    one, two, ref = best["1 worker"], best["2 workers"], best["reference-style serial"]
    print(f"1 worker / floor: {one['clips_per_s'] / floor:.2f} (target >= 0.80)")
    print(
        f"2 workers / 1 worker: {two['clips_per_s'] / one['clips_per_s']:.2f}x measured (target >= 1.7x on 2 cores); "
        f"CPU-time bound on 2 idle cores: {2 * one['worker_cpu_ms_per_clip'] / two['cpu_ms_per_clip']:.2f}x "
        f"(2 x one worker's CPU ms/clip / all processes' CPU ms/clip with 2 workers)"
    )
    print(
        f"2 workers vs reference-style: throughput {two['clips_per_s'] / ref['clips_per_s']:.2f}x, "
        f"peak RSS {two['peak_rss_mib'] / ref['peak_rss_mib']:.2f}x, "
        f"peak footprint (workers included) {two['peak_footprint_mib'] / ref['peak_footprint_mib']:.2f}x"
    )


if __name__ == "__main__":
    sys.exit(main())
