"""Turn an MTAT-format dataset (annotations_final.csv + mp3 folders) into MindRecord shards.

    python preprocess.py --audio_path ./data/mtat --mr_path ./data/mindrecord
    python preprocess.py --preprocess_mode 310 --mr_path ./data/mindrecord --result_path ./preprocess_Result
"""

from __future__ import annotations

import logging
import sys

from src.entry import run_entry

log = logging.getLogger("fcn4")


def run(config) -> int:
    if config.preprocess_mode == "310":
        return run_310(config)
    from src.preprocess.build import build, summary_line

    log.info(summary_line(build(config), config.mr_path))
    return 0


def run_310(config) -> int:
    """The Ascend 310 side: the eval_split's shards as fcn4_bs{B}_{i}.bin batches + label_ids.npy."""
    from src.inference.bin_protocol import dump_split

    report = dump_split(config.mr_path, config.eval_split, config.export_batch_size, config.num_classes,
                        config.result_path, config.num_parallel_workers)
    log.info("wrote %d %s clips as %d batches of %d (last padded with %d zero rows) to %s",
             report["clips"], config.eval_split, report["batches"], config.export_batch_size,
             report["padded_rows"], config.result_path)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: MTAT-format audio -> log-mel MindRecord shards")


if __name__ == "__main__":
    sys.exit(main())
