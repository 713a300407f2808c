"""eval.py's bootstrap intervals on a split the size of MTAT's test split: one resample at a time through
src.evaluation.metrics.summarize vs src.evaluation.confidence (resamples stacked as columns, handed over in score
order), side by side.

    python benchmarks/bootstrap_intervals.py [--clips 5329] [--tags 50] [--resamples 100]

Both score the same resamples (the same seed) with the same metric functions; the script prints the
wall time of each, the ratio, and the largest difference between their interval bounds. Labels and
scores are synthetic (tag frequencies from 1% to 20%, scores that separate the classes moderately).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from src.evaluation.confidence import LEVEL, bootstrap_intervals  # noqa: E402 - after the path set-up
from src.evaluation.metrics import summarize  # noqa: E402


def one_by_one(labels: np.ndarray, scores: np.ndarray, resamples: int, seed: int) -> dict:
    """The straightforward bootstrap: draw the same resamples, score each with summarize, take percentiles."""
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(labels), size=(resamples, len(labels)))
    names = [str(i) for i in range(labels.shape[1])]
    figures = [summarize(labels[rows], scores[rows], names) for rows in drawn]
    tail = (1 - LEVEL) / 2 * 100
    return {
        metric: list(np.percentile([f[metric] for f in figures if f[metric] is not None], [tail, 100 - tail]))
        for metric in ("roc_auc", "pr_auc")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=5329, help="clips in the split (MTAT test: 5329)")
    parser.add_argument("--tags", type=int, default=50)
    parser.add_argument("--resamples", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    labels = (rng.random((args.clips, args.tags)) < np.linspace(0.01, 0.2, args.tags)).astype(np.int64)
    scores = np.clip(0.3 * labels + rng.random(labels.shape), 0.0, 1.0).astype(np.float32)

    began = time.perf_counter()
    plain = one_by_one(labels, scores, args.resamples, seed=1)
    plain_s = time.perf_counter() - began
    began = time.perf_counter()
    stacked = bootstrap_intervals(labels, scores, args.resamples, seed=1)
    stacked_s = time.perf_counter() - began

    difference = max(abs(a - b) for m in ("roc_auc", "pr_auc") for a, b in zip(plain[m], stacked[m], strict=True))
    print(f"{args.clips} clips x {args.tags} tags, {args.resamples} resamples")
    for name, seconds in (("one by one (summarize per resample)", plain_s), ("src.evaluation.confidence", stacked_s)):
        print(f"  {name:<36} {seconds:7.2f} s  ({seconds / args.resamples * 1000:.1f} ms per resample)")
    print(f"  ratio {plain_s / stacked_s:.2f}x; largest difference between the interval bounds {difference:.2e}")
    print(f"  ROC-AUC {stacked['roc_auc'][0]:.4f}-{stacked['roc_auc'][1]:.4f}, "
          f"PR-AUC {stacked['pr_auc'][0]:.4f}-{stacked['pr_auc'][1]:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
