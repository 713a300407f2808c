"""Evaluate an FCN-4 checkpoint on a split: macro ROC-AUC, PR-AUC, the reference AUC, per tag.

    python eval.py --mr_path ./data/mindrecord --checkpoint_path ./checkpoints [--ckpt_file F]
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from src.entry import run_entry
from src.errors import UserError
from src.file_names import TAGS_FILE, eval_result
from src.fileio import atomic_write_json
from src.inference.predict import predict
from src.metrics import format_per_tag_table, summarize
from src.model_loading import checkpoint_file, load_network
from src.musictagger import ModelParams
from src.runtime import setup_runtime
from src.tag_list import read_tag_list

log = logging.getLogger("fcn4")


def run(config) -> int:
    tags = read_tag_list(Path(config.mr_path) / TAGS_FILE)
    setup_runtime(config.device_target, config.device_id, config.seed, config.mixed_precision)
    ckpt = checkpoint_file(config.checkpoint_path, config.ckpt_file, config.model_name, config.prefix)
    network = load_network(ckpt, ModelParams.from_config(config))
    if len(tags) != network.params.num_classes:
        raise UserError(f"{ckpt} predicts {network.params.num_classes} tags, "
                        f"{Path(config.mr_path) / TAGS_FILE} lists {len(tags)}")
    scores, labels = predict(network, config.mr_path, config.eval_split, config.eval_batch_size,
                             network.params.num_classes, config.num_parallel_workers)
    summary = summarize(labels, scores, tags)
    summary.update({"checkpoint": str(ckpt), "split": config.eval_split})
    print(format_per_tag_table(summary))
    result = Path(config.result_file or Path(config.checkpoint_path) / eval_result(config.eval_split))
    atomic_write_json(result, summary)
    print(f"{config.eval_split}: {summary['num_samples']} clips, ROC-AUC {summary['roc_auc']:.4f}, "
          f"PR-AUC {summary['pr_auc']:.4f}, reference AUC {summary['reference_auc']:.4f} "
          f"({summary['num_tags_scored']}/{summary['num_tags']} tags scorable); saved {result}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: evaluate a checkpoint")


if __name__ == "__main__":
    sys.exit(main())
