"""MindRecord read throughput vs what full-FCN-4 training consumes, measured in one run.

    python benchmarks/input_pipeline.py [--clips 256] [--batch_size 8]

The input pipeline must outrun training so that it is never the bottleneck: ratio > 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import fcn4_rates  # noqa: E402
from src.core.runtime import setup_runtime  # noqa: E402
from src.dataset import SplitWriter, create_dataset  # noqa: E402
from src.features import FEATURE_SHAPE  # noqa: E402
from src.musictagger import ModelParams  # noqa: E402

NUM_CLASSES = ModelParams().num_classes
CLIP_BYTES = int(np.prod(FEATURE_SHAPE)) * np.dtype(np.float32).itemsize


def write_shards(directory: Path, clips: int) -> None:
    rng = np.random.default_rng(0)
    writer = SplitWriter(directory, "train", 4, NUM_CLASSES)
    for i in range(clips):
        writer.add(
            i, rng.normal(size=FEATURE_SHAPE).astype(np.float32), (rng.random(NUM_CLASSES) > 0.8).astype(np.int32)
        )
    writer.commit()


def read_rate(directory: Path, batch_size: int, workers: int) -> float:
    data = create_dataset(directory, "train", batch_size, NUM_CLASSES, training=True, num_parallel_workers=workers)
    began = time.perf_counter()
    count = 0
    for feature, _ in data.create_tuple_iterator(num_epochs=1):
        count += feature.shape[0]
    return count / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    setup_runtime("CPU")
    with tempfile.TemporaryDirectory() as tmp:
        write_shards(Path(tmp), args.clips)
        read = read_rate(Path(tmp), args.batch_size, args.workers)
    train = fcn4_rates(args.batch_size, steps=2)["train_samples_s"]
    print(
        f"MindRecord read ({args.clips} clips, batch {args.batch_size}, {args.workers} workers): "
        f"{read:.1f} samples/s ({read * CLIP_BYTES / 2**20:.0f} MiB/s)"
    )
    print(f"full FCN-4 training consumes: {train:.2f} samples/s")
    print(f"ratio read/consume: {read / train:.0f}x (input pipeline is {'not ' if read > train else ''}the bottleneck)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
