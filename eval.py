"""Evaluate an FCN-4 checkpoint on a split: macro ROC-AUC, PR-AUC, the reference AUC, per tag.

    python eval.py --mr_path ./data/mindrecord --checkpoint_path ./checkpoints [--model_name NAME | --ckpt_file F]

The checkpoint is ckpt_file when set, else checkpoint_path/model_name, else checkpoint_path/PREFIX-best.ckpt.
With --save_scores True, the per-clip labels, scores and clip ids go beside the result (src.evaluation.saved_scores).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from src.core.errors import UserError
from src.core.file_names import TAGS_FILE, eval_result, scores_file
from src.core.fileio import atomic_write_json, check_writable_file
from src.core.runtime import setup_runtime
from src.core.tag_list import check_tag_count, read_tag_list
from src.entry import run_entry
from src.evaluation.confidence import bootstrap_intervals, interval_line
from src.evaluation.decisions import EvalDecisions
from src.evaluation.metrics import format_per_tag_table, require_scorable, summarize, summary_line
from src.evaluation.saved_scores import SplitScores, save
from src.evaluation.thresholds import Guard
from src.inference.predict import predict
from src.model.loading import checkpoint_file, load_checkpoint_network
from src.model_utils.config import Config
from src.training.selection import caveats

log = logging.getLogger("fcn4")


def run(config: Config) -> int:
    result = Path(config.result_file or Path(config.checkpoint_path) / eval_result(config.eval_split))
    check_writable_file(result, "result_file")  # before the work, not after an hour of it
    if config.save_scores:
        check_writable_file(scores_file(result), "save_scores")
    tags_file = Path(config.mr_path) / TAGS_FILE
    tags = read_tag_list(tags_file)
    setup_runtime(
        config.device_target,
        config.device_id,
        config.seed,
        config.mixed_precision,
        config.mode,
        cpu_cores=config.cpu_cores,
        deterministic=config.deterministic,
    )
    ckpt = checkpoint_file(config.checkpoint_path, config.ckpt_file, config.model_name, config.prefix)
    network, own_tags = load_checkpoint_network(ckpt)
    check_tag_count(tags, tags_file, ckpt, network.params.num_classes)
    if own_tags is not None and own_tags != tags:
        raise UserError(
            f"{tags_file} does not list the tags {ckpt} was trained with, in its order (its labels would be "
            f"scored against other tags); evaluate on the dataset the checkpoint was trained on"
        )
    decisions = EvalDecisions(config.checkpoint_path, ckpt, config.eval_split, config.overwrite)
    scores, labels, ids = predict(
        network,
        config.mr_path,
        config.eval_split,
        config.eval_batch_size,
        network.params.num_classes,
        config.num_parallel_workers,
        with_ids=True,
    )
    summary = summarize(labels, scores, tags)
    require_scorable(summary, f"split '{config.eval_split}' of {config.mr_path}")
    summary.update({"checkpoint": str(ckpt), "split": config.eval_split})
    if config.bootstrap_resamples:
        summary["bootstrap"] = bootstrap_intervals(labels, scores, config.bootstrap_resamples, config.bootstrap_seed)
    summary["caveats"] = caveats(ckpt, config.mr_path, config.eval_split, config.prefix)
    summary.update(
        decisions.evaluate(
            labels,
            scores,
            tags,
            config.threshold_rule,
            config.target_precision,
            config.mr_path,
            guard=Guard(config.threshold_min_positives, config.threshold_max_fpr),
        )
    )
    print(format_per_tag_table(summary))
    atomic_write_json(result, summary)
    saved = str(result)
    if config.save_scores:
        saved += f" and {save(scores_file(result), SplitScores(labels, scores, ids, tags))}"
    print(f"{config.eval_split}: {summary['num_samples']} clips, {summary_line(summary)}; saved {saved}")
    if "bootstrap" in summary:
        print(f"{config.eval_split}: {interval_line(summary['bootstrap'])}")
    for caveat in summary["caveats"]:
        print(f"warning: {caveat}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: evaluate a checkpoint")


if __name__ == "__main__":
    sys.exit(main())
