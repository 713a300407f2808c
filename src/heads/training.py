"""train_head.py's workflow: frozen embeddings of a dataset's splits -> cross-validated fit on train ->
held-out scores and per-tag thresholds on val -> (test scores when the dataset has a test split) -> a LinearHead.

A figure chosen on a split is not reported as a result on it: the thresholds are picked on val, so
F1 at those thresholds is reported on test only (val's is recorded as `f1_chosen_on_val`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.core.file_names import split_shards
from src.evaluation.metrics import summarize
from src.evaluation.thresholds import Guard, choose_guarded, decide, describe_choice, precision_recall_f1
from src.heads import fit
from src.heads.linear import LinearHead

log = logging.getLogger("fcn4")

FIT_SPLIT, THRESHOLD_SPLIT, TEST_SPLIT = "train", "val", "test"


def split_embeddings(network, mr_path: str, tags: list[str], batch_size: int, workers: int) -> dict[str, tuple]:
    """{split: ((N, D) embeddings, (N, C) labels)} for train, val and (when present) test; UserError when
    train or val has no shards."""
    from src.inference.predict import predict

    found = {}
    for split in (FIT_SPLIT, THRESHOLD_SPLIT, TEST_SPLIT):
        if not split_shards(mr_path, split):
            if split != TEST_SPLIT:
                raise UserError(
                    f"mr_path {mr_path} has no {split} split; the head is fitted on train and its thresholds "
                    f"chosen on val (preprocess.py with split random, or split file with train_list and val_list)"
                )
            continue
        began = time.perf_counter()
        found[split] = predict(network, mr_path, split, batch_size, len(tags), workers, embeddings=True)
        log.info("%s: %d clip embeddings in %.1f s", split, len(found[split][0]), time.perf_counter() - began)
    return found


def train_head(
    data: dict[str, tuple], tags: list[str], folds: int, c: float, seed: int, guard: Guard
) -> tuple[LinearHead, dict]:
    """The head fitted on data's train split and its report: cross-validation on train, ROC-AUC/PR-AUC on
    val (and test), thresholds (max F1 on val, guarded: src.evaluation.thresholds.choose_guarded) and how each was
    chosen, F1 at them on test."""
    train_x, train_y = data[FIT_SPLIT]
    if len(train_x) < folds:
        raise UserError(f"head_folds={folds}: the train split has only {len(train_x)} clips")
    began = time.perf_counter()
    report: dict = {"cross_validation": fit.cross_validate(train_x, train_y, tags, folds, c, seed)}
    weights, bias = fit.fit(train_x, train_y, c, seed)
    scores = {split: fit.probabilities(x, weights, bias) for split, (x, _) in data.items() if split != FIT_SPLIT}
    val_y = data[THRESHOLD_SPLIT][1]
    choice = choose_guarded(val_y, scores[THRESHOLD_SPLIT], "f1", 0.0, guard)
    chosen = choice.thresholds
    for split, split_scores in scores.items():
        report[split] = _scores(summarize(data[split][1], split_scores, tags))
    if TEST_SPLIT in scores:
        report[TEST_SPLIT].update(f1_at_thresholds(data[TEST_SPLIT][1], scores[TEST_SPLIT], chosen, tags))
    report["f1_chosen_on_val"] = f1_at_thresholds(val_y, scores[THRESHOLD_SPLIT], chosen, tags)["macro_f1"]
    thresholds = np.array([np.nan if t is None else t for t in chosen])  # NaN: never a yes (no positive on val)
    report.update(
        {
            "threshold_min_positives": guard.min_positives,
            "threshold_max_fpr": guard.max_fpr,
            "pooled_threshold": choice.pooled,
            "overall_threshold": choice.overall,
            "threshold_sources": choice.sources,
            "threshold_positives": choice.positives,
            "threshold_fprs": choice.fprs,
        }
    )
    report["fit_seconds"] = round(time.perf_counter() - began, 2)
    report["clips"] = {split: len(x) for split, (x, _) in data.items()}
    return LinearHead(weights, bias, thresholds, list(tags)), report


def _scores(summary: dict) -> dict:
    return {key: summary[key] for key in ("num_samples", "num_tags_scored", "roc_auc", "pr_auc")}


def f1_at_thresholds(labels: np.ndarray, scores: np.ndarray, thresholds: list[float | None], tags: list[str]) -> dict:
    """Micro F1 and macro F1 (over tags with a positive) of the decisions at `thresholds`
    (src/evaluation/thresholds.py)."""
    found = precision_recall_f1(labels, decide(scores, thresholds), tags)
    return {"micro_f1": found["micro"]["f1"], "macro_f1": found["macro"]["f1"]}


def summary_lines(report: dict) -> list[str]:
    """One line per figure a user reads: cross-validation, val, test."""
    cv = report["cross_validation"]
    lines = [
        f"train ({report['clips'][FIT_SPLIT]} clips), {cv['folds']}-fold cross-validation: ROC-AUC "
        f"{_fmt(cv['roc_auc'])} +- {_fmt(cv['roc_auc_std'])}, PR-AUC {_fmt(cv['pr_auc'])} +- {_fmt(cv['pr_auc_std'])}"
    ]
    for split in (THRESHOLD_SPLIT, TEST_SPLIT):
        if split in report:
            scores = report[split]
            line = (
                f"{split} ({scores['num_samples']} clips): ROC-AUC {_fmt(scores['roc_auc'])}, "
                f"PR-AUC {_fmt(scores['pr_auc'])}"
            )
            if "micro_f1" in scores:
                line += f", F1 at the val thresholds micro {_fmt(scores['micro_f1'])} macro {_fmt(scores['macro_f1'])}"
            lines.append(line)
    guard = Guard(report["threshold_min_positives"], report["threshold_max_fpr"])
    how = describe_choice(guard, report["threshold_sources"], report["pooled_threshold"], report["overall_threshold"])
    lines.append(f"thresholds: max F1 on val, {how}")
    return lines


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def head_info(checkpoint: Path, network_params: dict, report: dict, c: float, folds: int, seed: int) -> dict:
    """The sidecar's contents beside the arrays: what the head was trained from, how, and how it scored."""
    return {
        "checkpoint": str(checkpoint),
        "network": network_params,
        "embedding_size": network_params["channels"][-1],
        "head_c": c,
        "head_folds": folds,
        "seed": seed,
        "threshold_rule": "max F1 on val",
        **report,
    }
