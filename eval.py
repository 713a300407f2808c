"""Evaluate an FCN-4 checkpoint on a split: macro ROC-AUC, PR-AUC, the reference AUC, per tag.

    python eval.py --mr_path ./data/mindrecord --checkpoint_path ./checkpoints [--ckpt_file F]
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from src.entry import run_entry
from src.errors import UserError
from src.fileio import atomic_write_json
from src.inference.tag_lookup import TAGS_FILE
from src.metrics import format_per_tag_table, summarize
from src.model_loading import load_network
from src.preprocess.annotations import read_tag_list
from src.runtime import setup_runtime
from src.trainer import predict

log = logging.getLogger("fcn4")


def run(config) -> int:
    tags = read_tag_list(Path(config.mr_path) / TAGS_FILE)
    setup_runtime(config)
    network, ckpt = load_network(config)
    if len(tags) != network.params.num_classes:
        raise UserError(f"{ckpt} predicts {network.params.num_classes} tags, "
                        f"{Path(config.mr_path) / TAGS_FILE} lists {len(tags)}")
    scores, labels = predict(network, config.mr_path, config.eval_split, config.eval_batch_size,
                             network.params.num_classes, config.num_parallel_workers)
    summary = summarize(labels, scores, tags)
    summary.update({"checkpoint": str(ckpt), "split": config.eval_split})
    print(format_per_tag_table(summary))
    result = Path(config.result_file or Path(config.checkpoint_path) / f"eval_{config.eval_split}.json")
    atomic_write_json(result, summary)
    print(f"{config.eval_split}: {summary['num_samples']} clips, ROC-AUC {summary['roc_auc']:.4f}, "
          f"PR-AUC {summary['pr_auc']:.4f}, reference AUC {summary['reference_auc']:.4f} "
          f"({summary['num_tags_scored']}/{summary['num_tags']} tags scorable); saved {result}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: evaluate a checkpoint")


if __name__ == "__main__":
    sys.exit(main())
