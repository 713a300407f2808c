"""Teach your own tags to a trained FCN-4: a linear head (one logistic regression per tag) on its frozen embeddings.

    python train_head.py --mr_path ./data/my_mr --ckpt_file ./checkpoints/MusicTagger-best.ckpt --head_file head.npz
    python tag.py --model ./checkpoints/MusicTagger-best.ckpt --head ./head/head.npz music/

mr_path is a dataset preprocess.py made from your audio and annotations (its tags.txt lists your tags) with a
train and a val split (and optionally test). The head is fitted on train (k-fold cross-validated), its
per-tag thresholds chosen on val (max F1, guarded by threshold_min_positives and threshold_max_fpr: see
src.evaluation.thresholds), and it is scored on val and test; see src.heads.training.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from pathlib import Path

from src.core.file_names import TAGS_FILE
from src.entry import run_entry
from src.model_utils.config import Config

log = logging.getLogger("fcn4")


def run(config: Config) -> int:
    from src.core.runtime import setup_runtime
    from src.core.tag_list import read_tag_list
    from src.evaluation.thresholds import Guard
    from src.heads import training
    from src.heads.linear import check_head_target
    from src.model.loading import checkpoint_file, load_network

    began = time.perf_counter()
    head_file = check_head_target(config.head_file)  # before the work, not after it
    tags = read_tag_list(Path(config.mr_path) / TAGS_FILE)
    setup_runtime(config.device_target, config.device_id, config.seed, False, config.mode)
    ckpt = checkpoint_file(config.checkpoint_path, config.ckpt_file, config.model_name, config.prefix)
    network = load_network(ckpt)
    data = training.split_embeddings(network, config.mr_path, tags, config.eval_batch_size, config.num_parallel_workers)
    guard = Guard(config.threshold_min_positives, config.threshold_max_fpr)
    head, report = training.train_head(data, tags, config.head_folds, config.head_c, config.seed, guard)
    report["wall_seconds"] = round(time.perf_counter() - began, 1)
    info = training.head_info(ckpt, network.params.to_dict(), report, config.head_c, config.head_folds, config.seed)
    head = dataclasses.replace(head, info=info)
    head.save(head_file)
    for line in training.summary_lines(report):
        print(line)
    print(f"{len(tags)} tags, {head.embedding_size}-d embeddings, {report['wall_seconds']} s; saved {head_file}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: fit a linear head for your own tags on frozen embeddings")


if __name__ == "__main__":
    sys.exit(main())
