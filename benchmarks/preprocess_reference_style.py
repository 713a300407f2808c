"""The reference's preprocessing pipeline, for comparison: serial, per-clip .npy, everything in memory.

    python benchmarks/preprocess_reference_style.py --audio_path DIR --out DIR

As the model zoo's pre_process_data.py: one process loads each clip, computes its log-mel and
saves a .npy; then all .npy files are loaded into one list and written to MindRecord (4 shards)
in one call. Features are computed by the toolkit's `features.extract` (the reference's maths)
with one BLAS thread, like a toolkit worker, so that the comparison is about the pipeline.
Prints one JSON line: clips, seconds (first clip to committed shards), clips_per_s, cpu_ms_per_clip.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src import demo_data, features  # noqa: E402
from src.core.file_names import NPY_DIR, shard_base  # noqa: E402
from src.dataset import mindrecord_schema  # noqa: E402
from src.preprocess.annotations import read_annotations  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio_path", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--num_shards", type=int, default=4)
    args = parser.parse_args()
    from mindspore.mindrecord import FileWriter

    root, out = Path(args.audio_path), Path(args.out)
    (out / NPY_DIR).mkdir(parents=True, exist_ok=True)
    annotations = read_annotations(root / demo_data.CSV_NAME)
    labels = annotations.tag_matrix[:, :50].astype(np.int32)
    threadpool_limits(limits=1)
    features.warm_up()
    began, cpu = time.perf_counter(), time.process_time()
    npy_files = []
    for mp3_path in annotations.mp3_paths:
        npy_files.append(out / NPY_DIR / (mp3_path.replace("/", "_") + ".npy"))
        np.save(npy_files[-1], features.extract(root / mp3_path))
    data = [
        {"id": int(clip_id), "feature": np.load(path), "label": label}
        for clip_id, path, label in zip(annotations.clip_ids, npy_files, labels, strict=True)
    ]
    writer = FileWriter(str(out / shard_base("train")), shard_num=args.num_shards, overwrite=True)
    writer.add_schema(mindrecord_schema(50), "reference_style")
    writer.add_index(["id"])
    writer.write_raw_data(data)
    writer.commit()
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "clips": len(data),
                "seconds": seconds,
                "clips_per_s": len(data) / seconds,
                "cpu_ms_per_clip": (time.process_time() - cpu) / len(data) * 1000,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
