"""Peak memory of preprocessing vs the number of clips: preprocess.py and the reference-style
pipeline on 100 and 1,000 clips, measured in one run.

    python benchmarks/preprocess_memory.py [--small 100] [--large 1000] [--work DIR]

Target: preprocess.py's peak RSS for the large corpus is under 1.3x that for the small one
(memory does not grow with the dataset). The reference-style run holds every feature in memory
(524 KB per clip), so its peak grows with the clip count. Main RSS is the main process's peak;
the footprint adds each worker's unique memory (see preprocess_common.run_measured).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.preprocess_common import run_reference_style, run_toolkit, tiled_corpus, work_folder  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--work", help="folder for the corpora and outputs (default: a temporary one, removed)")
    args = parser.parse_args()
    with work_folder(args.work, "fcn4_prep_memory_") as work:
        results = {}
        for clips in (args.small, args.large):
            corpus = tiled_corpus(work, clips)
            results[clips] = {
                "preprocess.py": run_toolkit(corpus, work / f"mr_{clips}", 0),
                "reference-style": run_reference_style(corpus, work / f"ref_{clips}"),
            }
            shutil.rmtree(work / f"ref_{clips}")
        report(results, args.small, args.large)
    return 0


def report(results: dict, small: int, large: int) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"peak memory (MiB), {os.cpu_count()} cores, preprocess.py with one worker per core; load average {load}")
    print(f"{'pipeline':16s} {'clips':>6s} {'main RSS':>9s} {'worker RSS':>11s} {'footprint':>10s} {'clips/s':>8s}")
    for clips, runs in results.items():
        for name, run in runs.items():
            print(
                f"{name:16s} {clips:6d} {run['peak_rss_mib']:9.0f} {run['peak_worker_rss_mib']:11.0f} "
                f"{run['peak_footprint_mib']:10.0f} {run['clips_per_s']:8.1f}"
            )
    for name in results[small]:
        a, b = results[small][name], results[large][name]
        print(
            f"{name}: {large} vs {small} clips: peak RSS {b['peak_rss_mib'] / a['peak_rss_mib']:.2f}x, "
            f"peak footprint {b['peak_footprint_mib'] / a['peak_footprint_mib']:.2f}x"
            + (" (target < 1.3x)" if name == "preprocess.py" else "")
        )


if __name__ == "__main__":
    sys.exit(main())
