"""Full FCN-4 on CPU: train and inference samples/s with the toolkit's oneDNN cap vs without it.

    python benchmarks/cpu_onednn.py [--batch_size 8] [--steps 3]

Each setting runs in its own process (oneDNN reads ONEDNN_MAX_CPU_ISA once), one after the
other in this run, so the ratio compares like with like on a noisy shared machine. On CPUs
without AVX-512 both settings pick the same kernels and the ratio is ~1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"with cap (toolkit default)": None, "without cap (ONEDNN_MAX_CPU_ISA=ALL)": "ALL"}


def child(batch_size: int, steps: int) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import fcn4_rates
    from src.core.runtime import setup_runtime

    setup_runtime("CPU")
    print(json.dumps(fcn4_rates(batch_size, steps)))


def measure(isa: str | None, batch_size: int, steps: int) -> dict:
    """One child process with ONEDNN_MAX_CPU_ISA unset (toolkit default) or set to `isa`."""
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    if isa:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--batch_size", str(batch_size), "--steps", str(steps)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_flags() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "AVX-512" if "avx512f" in text else "no AVX-512"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="alternate the two settings this many times")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.batch_size, args.steps)
        return 0
    runs = {name: [] for name in SETTINGS}
    for _ in range(args.repeats):
        for name, isa in SETTINGS.items():
            runs[name].append(measure(isa, args.batch_size, args.steps))
    results = {
        name: {key: statistics.median(r[key] for r in rates) for key in rates[0]} for name, rates in runs.items()
    }
    print(
        f"full FCN-4, batch {args.batch_size}, {args.steps} timed steps, median of {args.repeats} alternating "
        f"runs, CPU: {cpu_flags()}, {os.cpu_count()} cores"
    )
    print(f"{'setting':40s} {'train samples/s':>16s} {'infer samples/s':>16s}")
    for name, rates in results.items():
        print(f"{name:40s} {rates['train_samples_s']:16.3f} {rates['infer_samples_s']:16.3f}")
    fixed, raw = results.values()
    print(
        f"ratio with/without cap: train {fixed['train_samples_s'] / raw['train_samples_s']:.2f}x, "
        f"infer {fixed['infer_samples_s'] / raw['infer_samples_s']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
