"""Yes/no thresholds chosen on val with the guard (src.evaluation.thresholds.choose_guarded) against the unguarded
per-tag choice of earlier versions, judged on test: micro and macro precision, recall and F1 side by side, for several
min_positives (the config key threshold_min_positives) at one max_fpr (threshold_max_fpr).

    python benchmarks/thresholds.py RUN [RUN ...] [--min_positives 2 3 5 8 10] [--max_fpr 0.4] [--rule f1]

A RUN is a folder holding eval_val.scores.npz and eval_test.scores.npz (eval.py --eval_split val|test
--save_scores True writes them into checkpoint_path), or a pair VAL.npz,TEST.npz. Each run is printed,
then the mean over the runs. Beside the guard, rows show what each of its choices is worth: `weak rule
alone` (min_positives 0), `no weak rule` (max_fpr 1), and `rare: all-tags pool` (the rare tags get the
threshold pooled over every tag, as the weak ones do, instead of the one pooled over the rare tags).
`yes/clip` is the mean number of tags a test clip is given; `replaced` the tags whose own threshold the
guard replaced, and the threshold(s) they got.

compare_thresholds is the same comparison for one pair of splits, importable:
    from benchmarks.thresholds import compare_thresholds
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from src.core.cli import run_command  # noqa: E402 - after the path set-up
from src.core.errors import UserError  # noqa: E402
from src.core.file_names import eval_result, scores_file  # noqa: E402
from src.evaluation.saved_scores import SplitScores, load  # noqa: E402
from src.evaluation.thresholds import (  # noqa: E402
    PER_TAG,
    POOLED,
    RULES,
    UNGUARDED,
    Choice,
    Guard,
    choose_guarded,
    decide,
    pooled_threshold,
    precision_recall_f1,
)
from src.model_utils.config import get_config  # noqa: E402

MIN_POSITIVES = (2, 3, 5, 8, 10)
ALTERNATIVES = ("no weak rule", "rare: all-tags pool")


def default_max_fpr() -> float:
    """threshold_max_fpr of default_config.yaml."""
    return get_config([]).threshold_max_fpr


def compare_thresholds(
    val_labels: np.ndarray,
    val_scores: np.ndarray,
    test_labels: np.ndarray,
    test_scores: np.ndarray,
    tags: list[str],
    min_positives: tuple[int, ...] = MIN_POSITIVES,
    max_fpr: float | None = None,
    rule: str = "f1",
    target_precision: float = 0.8,
) -> dict:
    """Test figures of thresholds chosen on val: {"unguarded": F, "guarded": {m: F per min_positives m, at
    max_fpr (default: threshold_max_fpr's)}, "weak_rule_alone": F, "max_fpr", "val_clips", "test_clips",
    "val_positives": {"min", "median", "max"} over the tags}, where F is {"micro" and "macro": {precision,
    recall, f1}, "num_tags_macro", "yes_per_clip" (the mean number of tags a test clip is given),
    "replaced" (tags whose own threshold the guard replaced), "pooled_threshold", "overall_threshold"}."""
    fpr = default_max_fpr() if max_fpr is None else max_fpr
    found = _variants(
        val_labels, val_scores, test_labels, test_scores, tags, min_positives, fpr, rule, target_precision
    )
    positives = np.asarray(val_labels).sum(axis=0)
    return {
        "max_fpr": fpr,
        "val_clips": int(len(val_labels)),
        "test_clips": int(len(test_labels)),
        "val_positives": {
            "min": int(positives.min()),
            "median": float(np.median(positives)),
            "max": int(positives.max()),
        },
        "unguarded": found["unguarded"],
        "weak_rule_alone": found["weak rule alone"],
        "guarded": {m: found[m]["guarded"] for m in min_positives},
    }


def _variants(val_labels, val_scores, test_labels, test_scores, tags, min_positives, max_fpr, rule, target) -> dict:
    """{"unguarded": F, "weak rule alone": F, m: {"guarded": F, each of ALTERNATIVES: F}} (compare_thresholds's F)."""
    everything = pooled_threshold(val_labels, val_scores, rule, target)

    def judged(guard: Guard, rare_to_everything: bool = False) -> dict:
        choice = choose_guarded(val_labels, val_scores, rule, target, guard)
        if rare_to_everything:  # the alternative pool: the rare tags get what the weak ones get
            thresholds = [
                everything if s == POOLED else t for s, t in zip(choice.sources, choice.thresholds, strict=True)
            ]
            pooled = everything if POOLED in choice.sources else None
            choice = dataclasses.replace(choice, thresholds=thresholds, pooled=pooled)
        return _judge(test_labels, test_scores, tags, choice)

    found = {"unguarded": judged(UNGUARDED), "weak rule alone": judged(Guard(0, max_fpr))}
    for m in min_positives:
        found[m] = {
            "guarded": judged(Guard(m, max_fpr)),
            "no weak rule": judged(Guard(m, 1.0)),
            "rare: all-tags pool": judged(Guard(m, max_fpr), rare_to_everything=True),
        }
    return found


def _judge(labels, scores, tags, choice: Choice) -> dict:
    decided = decide(scores, choice.thresholds)
    block = precision_recall_f1(labels, decided, tags)
    return {
        "micro": block["micro"],
        "macro": block["macro"],
        "num_tags_macro": block["num_tags_macro"],
        "yes_per_clip": float(decided.sum(axis=1).mean()),
        "replaced": sum(source != PER_TAG for source in choice.sources),
        "pooled_threshold": choice.pooled,
        "overall_threshold": choice.overall,
    }


def _runs(specs: list[str]) -> list[tuple[str, SplitScores, SplitScores]]:
    """(name, val, test) per RUN argument: a folder with eval.py's default names, or VAL.npz,TEST.npz."""
    found = []
    for spec in specs:
        if "," in spec:
            val_path, test_path = (Path(p) for p in spec.split(",", 1))
        else:
            val_path, test_path = (scores_file(Path(spec) / eval_result(split)) for split in ("val", "test"))
        val, test = load(val_path), load(test_path)
        if val.tags != test.tags:
            raise UserError(f"{val_path} and {test_path} are scores of different tags")
        found.append((spec, val, test))
    return found


def _row(name: str, figures: dict, base: dict | None) -> str:
    cells = []
    for average in ("micro", "macro"):
        block = figures[average]
        delta = "" if base is None else _delta(block["f1"], base[average]["f1"])
        cells.append(" ".join([*(_cell(block[k]) for k in ("precision", "recall", "f1")), f"{delta:>6}"]))
    at = " / ".join(_cell(figures[k]) for k in ("pooled_threshold", "overall_threshold"))
    replaced = "" if base is None else f"{figures['replaced']:>4.1f} at {at}"
    return f"  {name:<22} {cells[0]} | {cells[1]} | {figures['yes_per_clip']:>8.2f} | {replaced}"


def _cell(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _delta(value: float | None, base: float | None) -> str:
    return "n/a" if value is None or base is None else f"{value - base:+.3f}"


def _mean(figures: list[dict]) -> dict:
    """Field-wise mean of several runs' F (None where any run has None)."""

    def mean(values):
        return None if any(v is None for v in values) else float(np.mean(values))

    merged = {avg: {k: mean([f[avg][k] for f in figures]) for k in figures[0][avg]} for avg in ("micro", "macro")}
    for key in ("replaced", "yes_per_clip", "pooled_threshold", "overall_threshold"):
        merged[key] = mean([f[key] for f in figures])
    return merged


def _print(title: str, found: dict, min_positives: tuple[int, ...]) -> None:
    print(title)
    header = "  P     R     F1    dF1"
    print(f"  {'test figures':<22} {'micro' + header} | {'macro' + header} | yes/clip | replaced at pooled / all-tags")
    print(_row("unguarded (per tag)", found["unguarded"], None))
    print(_row("weak rule alone", found["weak rule alone"], found["unguarded"]))
    for m in min_positives:
        print(_row(f"min_positives {m}", found[m]["guarded"], found["unguarded"]))
        for variant in ALTERNATIVES:
            print(_row(f"  {variant}", found[m][variant], found["unguarded"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="folders with eval_val/test.scores.npz, or VAL.npz,TEST.npz pairs")
    parser.add_argument("--min_positives", type=int, nargs="+", default=list(MIN_POSITIVES))
    parser.add_argument("--max_fpr", type=float, default=None, help="default: threshold_max_fpr's default")
    parser.add_argument("--rule", choices=RULES, default="f1")
    parser.add_argument("--target_precision", type=float, default=0.8)
    args = parser.parse_args(argv)
    guards, fpr = tuple(args.min_positives), default_max_fpr() if args.max_fpr is None else args.max_fpr
    every = []
    for name, val, test in _runs(args.runs):
        found = _variants(val.labels, val.scores, test.labels, test.scores, val.tags, guards, fpr, args.rule,
                          args.target_precision)  # fmt: skip
        positives = val.labels.sum(axis=0)
        _print(
            f"{name}: val {len(val.labels)} clips, test {len(test.labels)} ({test.labels.sum(axis=1).mean():.2f} true "
            f"tags per clip), {len(val.tags)} tags; val positives per tag {positives.min()}-{positives.max()} "
            f"(median {np.median(positives):g}); max_fpr {fpr:g}",
            found,
            guards,
        )
        every.append(found)
    if len(every) > 1:
        mean = {key: _mean([f[key] for f in every]) for key in ("unguarded", "weak rule alone")}
        mean.update({m: {v: _mean([f[m][v] for f in every]) for v in ("guarded", *ALTERNATIVES)} for m in guards})
        _print(f"mean over the {len(every)} runs", mean, guards)
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
