"""Test ROC-AUC / PR-AUC on an MTAT-shaped corpus over several training seeds, for versions and recipes side by side.

    python -m benchmarks.accuracy --work /tmp/accuracy --run main=. --run 2d20d5a=../wt_2d20d5a
    python -m benchmarks.accuracy --work /tmp/acc --run ref=. --run cosine=.::--lr_schedule cosine

Each `--run LABEL=REPO[::TRAIN ARGS]` runs that checkout's own CLI as a new user would (the README): preprocess.py
--split mtat on the corpus of benchmarks/mtat_corpus.py, then per seed train.py (the issue's recipe: batch 16,
3 epochs, default lr, plus the run's extra arguments), then eval.py of THIS checkout on val (it chooses the
thresholds) and on test, so every version is scored by one scorer, with bootstrap intervals. Runs of one REPO
share its preprocessing. A version that refuses the corpus's unsafe annotation row (older ones aborted on it)
is given the corpus without that row, as a user would have done by hand, and the report says so.
Prints a per-seed table and mean / min / max per run; writes WORK/accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.mtat_corpus import (
    Corpus,
    make_corpus,
    with_shuffled_train_labels,
    without_short_clips,
    without_unsafe_rows,
)

ROOT = Path(__file__).resolve().parents[1]
ISSUE_RECIPE = ("--batch_size", "16", "--epoch_size", "3")  # the commands the drop was measured with

# The CI guard (tests/e2e/test_accuracy_guard.py): a small corpus of the same shape and a narrow FCN-4 that
# learns it in seconds. Its floor comes from `python -m benchmarks.accuracy --guard`: 8 seeds of this recipe,
# and 8 with the train labels shuffled against the clips (docs/accuracy.md, The CI accuracy guard).
GUARD_CORPUS = {"seeds": (0, 1), "clips_per_seed": 64, "short_clips": 3}
GUARD_RECIPE = (
    "--channels", "[1, 16, 32, 64, 128]", "--batch_size", "8", "--eval_batch_size", "16", "--epoch_size", "6",
    "--lr", "0.002",
)  # fmt: skip
GUARD_SEEDS = (1,)
GUARD_FLOOR = 0.83  # 5 seeds: mean 0.8960, sd 0.0152, min 0.8808; shuffled train labels: 0.45-0.48


@dataclass
class Run:
    """One row of the comparison: a checkout, the extra train.py arguments, and what it measured."""

    label: str
    repo: Path
    train_args: list[str]
    seeds: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_run(text: str) -> Run:
    """LABEL=REPO[::ARGS] -> Run; the error names the bad value."""
    label, sep, rest = text.partition("=")
    repo, _, args = rest.partition("::")
    if not sep or not label or not repo:
        raise argparse.ArgumentTypeError(f"--run {text!r}: expected LABEL=REPO[::TRAIN ARGS]")
    path = Path(repo).resolve()
    if not (path / "train.py").is_file():
        raise argparse.ArgumentTypeError(f"--run {text!r}: {path} holds no train.py")
    return Run(label, path, shlex.split(args))


def entry(repo: Path, script: str, *args: str) -> tuple[float, str]:
    """Run an entry point of `repo` (its wall time, its output); SystemExit with the tail of stderr on failure."""
    began = time.perf_counter()
    result = subprocess.run([sys.executable, script, *map(str, args)], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{repo.name}/{script} {' '.join(map(str, args))} failed:\n{result.stderr[-2500:]}")
    return time.perf_counter() - began, result.stdout


def preprocess(repo: Path, corpus: Corpus, mr: Path, notes: list[str]) -> float:
    """The version's preprocess.py --split mtat; retried without the unsafe row if the version aborts on it."""
    try:
        return entry(repo, "preprocess.py", "--audio_path", corpus.root, "--mr_path", mr, "--split", "mtat")[0]
    except RuntimeError as failure:
        if not corpus.unsafe:
            raise
        refusal = str(failure).splitlines()[-1]
    notes.append(f"refused the corpus ({refusal}); ran on it without the unsafe row, as by hand")
    safe_root = corpus.root.with_name(corpus.root.name + "_without_unsafe_row")
    if not safe_root.exists():  # made once, shared by every version that needs it
        without_unsafe_rows(corpus, safe_root)
    return entry(repo, "preprocess.py", "--audio_path", safe_root, "--mr_path", mr, "--split", "mtat")[0]


def train_and_score(run: Run, mr: Path, out: Path, seed: int, recipe: tuple[str, ...], scorer: Path) -> dict:
    """train.py with `seed` in the run's checkout, then this checkout's eval.py on val and test."""
    train_s, _ = entry(
        run.repo, "train.py", "--mr_path", mr, "--checkpoint_path", out, "--seed", seed, *recipe, *run.train_args
    )
    for split in ("val", "test"):
        entry(scorer, "eval.py", "--mr_path", mr, "--checkpoint_path", out, "--eval_split", split)
    test = json.loads((out / "eval_test.json").read_text())
    epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    best = max(epochs, key=lambda e: e.get("val_roc_auc") or -1.0)
    decisions = test.get("decisions", {})
    return {
        "seed": seed,
        "test_clips": test["num_samples"],
        "tags_scored": test["num_tags_scored"],
        "roc_auc": test["roc_auc"],
        "pr_auc": test["pr_auc"],
        "roc_auc_95": test.get("bootstrap", {}).get("roc_auc"),
        "pr_auc_95": test.get("bootstrap", {}).get("pr_auc"),
        "micro_f1": decisions.get("micro", {}).get("f1"),
        "macro_f1": decisions.get("macro", {}).get("f1"),
        "best_epoch": best["epoch"],
        "epochs_run": len(epochs),
        "val_roc_auc_per_epoch": [e.get("val_roc_auc") for e in epochs],
        "train_s": round(train_s, 1),
    }


def guard_corpus(work: Path) -> Corpus:
    """The CI guard's corpus, in work/mtat."""
    return make_corpus(work / "mtat", **GUARD_CORPUS)


def guard_runs(corpus: Corpus, work: Path, seeds: tuple[int, ...]) -> list[dict]:
    """The CI guard's runs of this checkout on `corpus`: preprocess.py once, then train.py + eval.py per seed."""
    run = Run("guard", ROOT, [])
    preprocess(ROOT, corpus, work / "mr", run.notes)
    return [train_and_score(run, work / "mr", work / f"seed{seed}", seed, GUARD_RECIPE, ROOT) for seed in seeds]


def spread(values: list[float]) -> str:
    """mean [min, max] with 4 decimals."""
    return f"{statistics.fmean(values):.4f} [{min(values):.4f}, {max(values):.4f}]"


def report(runs: list[Run], corpus: Corpus) -> str:
    """The per-seed table and the per-run summary table, in markdown."""
    lines = [f"corpus: {corpus.describe()}", "", "| run | seed | test ROC-AUC [95%] | PR-AUC | best epoch | train s |"]
    lines.append("|---|---|---|---|---|---|")
    for run in runs:
        for s in run.seeds:
            interval = "[{:.4f}, {:.4f}]".format(*s["roc_auc_95"]) if s["roc_auc_95"] else ""
            lines.append(
                f"| {run.label} | {s['seed']} | {s['roc_auc']:.4f} {interval} | {s['pr_auc']:.4f} | "
                f"{s['best_epoch']}/{s['epochs_run']} | {s['train_s']} |"
            )
    lines += ["", "| run | seeds | test ROC-AUC mean [min, max] | PR-AUC mean [min, max] | notes |"]
    lines.append("|---|---|---|---|---|")
    for run in runs:
        roc, pr = [s["roc_auc"] for s in run.seeds], [s["pr_auc"] for s in run.seeds]
        lines.append(f"| {run.label} | {len(roc)} | {spread(roc)} | {spread(pr)} | {'; '.join(run.notes)} |")
    return "\n".join(lines)


def measure_guard(work: Path, seeds: int) -> None:
    """The guard recipe over `seeds` seeds, as is and with shuffled train labels: the spread its floor comes from."""
    true = guard_corpus(work)
    for shuffled in (False, True):
        began = time.perf_counter()
        corpus = with_shuffled_train_labels(true, work / "mtat_shuffled") if shuffled else true
        runs = guard_runs(corpus, work / ("shuffled" if shuffled else "true"), tuple(range(1, seeds + 1)))
        roc = [r["roc_auc"] for r in runs]
        print(
            f"guard, train labels {'shuffled' if shuffled else 'true'}: test ROC-AUC {spread(roc)}, "
            f"sd {statistics.stdev(roc):.4f} over {seeds} seeds ({time.perf_counter() - began:.0f} s): "
            + ", ".join(f"{v:.4f}" for v in roc),
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="new folder for corpus, datasets and runs")
    parser.add_argument("--run", type=parse_run, action="append", default=[], help="LABEL=REPO[::TRAIN ARGS]")
    parser.add_argument("--guard", type=int, default=0, help="measure the CI guard's spread over this many seeds")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="training seeds (train.py --seed)")
    parser.add_argument("--corpus_seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="generator seeds")
    parser.add_argument("--clips_per_seed", type=int, default=75)
    parser.add_argument(
        "--without_short_clips", action="store_true", help="drop rows of clips under 1 s (and the truncated one)"
    )
    parser.add_argument("--recipe", default=" ".join(ISSUE_RECIPE), help="train.py arguments of every run")
    args = parser.parse_args(argv)
    if args.work.exists():
        parser.error(f"--work {args.work} exists; give a new folder")
    if args.guard:
        measure_guard(args.work, args.guard)
        return 0
    if not args.run:
        parser.error("give at least one --run LABEL=REPO (or --guard N)")
    began = time.perf_counter()
    corpus = make_corpus(args.work / "mtat", tuple(args.corpus_seeds), args.clips_per_seed)
    if args.without_short_clips:
        corpus = without_short_clips(corpus, args.work / "mtat_without_short_clips")
    print(f"corpus: {corpus.describe()} ({time.perf_counter() - began:.0f} s)", flush=True)
    datasets: dict[Path, Path] = {}
    for run in args.run:
        if run.repo not in datasets:
            datasets[run.repo] = args.work / f"mr_{len(datasets)}"
            seconds = preprocess(run.repo, corpus, datasets[run.repo], run.notes)
            print(f"{run.label}: preprocess {seconds:.0f} s", flush=True)
        for seed in args.seeds:
            out = args.work / "runs" / run.label / f"seed{seed}"
            result = train_and_score(run, datasets[run.repo], out, seed, tuple(shlex.split(args.recipe)), ROOT)
            run.seeds.append(result)
            print(f"{run.label} seed {seed}: {json.dumps(result)}", flush=True)
    text = report(args.run, corpus)
    print(text)
    print(f"total {time.perf_counter() - began:.0f} s")
    results = [{"label": r.label, "repo": str(r.repo), "train_args": r.train_args, "notes": r.notes, "seeds": r.seeds}
               for r in args.run]  # fmt: skip
    (args.work / "accuracy.json").write_text(json.dumps({"recipe": args.recipe, "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
