"""Teaching a trained FCN-4 a new tag set, three ways side by side in one run: a linear head on its frozen
embeddings (train_head.py), fine-tuning the whole network with a new classifier (train.py --pre_trained
True), and training the same network from scratch; wall time, held-out test ROC-AUC/PR-AUC and micro/macro
F1 at the thresholds chosen on val, for each.

    python -m benchmarks.own_tags --source demo_run/checkpoints/MusicTagger-best.ckpt --work /tmp/own_tags

The new task is a demo corpus of another seed (clips the source never saw) with its own top `num_classes`
tags, split by folder into train/val/test (src/demo_data.py DEMO_SPLIT); the two training runs use the same
data, seed, epochs and settings (configs/demo.yaml's recipe) and differ only in --pre_trained. `work` must
not exist: everything is written there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ["--batch_size", "8", "--eval_batch_size", "8", "--save_step", "1000"]


def run(*command: str) -> float:
    """Run an entry point of the repository; its wall time in seconds (stops the benchmark if it fails)."""
    began = time.perf_counter()
    result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - began


def make_task(work: Path, num_clips: int, seed: int, num_classes: int) -> Path:
    """The new task's dataset folder: a demo corpus of `seed`, its top num_classes tags, the demo's split."""
    corpus, mr = work / "mtat", work / "mr"
    run("-m", "src.demo_data", "--out", str(corpus), "--num_clips", str(num_clips), "--seed", str(seed),
        "--split_lists")  # fmt: skip
    lists = [
        arg for split in ("train", "val", "test") for arg in (f"--{split}_list", str(corpus / f"{split}_list.txt"))
    ]
    run("preprocess.py", "--audio_path", str(corpus), "--mr_path", str(mr), "--num_classes", str(num_classes),
        "--split", "file", *lists, "--num_consumer", "1")  # fmt: skip
    return mr


def train_and_score(mr: Path, out: Path, num_classes: int, epochs: int, extra: list[str]) -> dict:
    """Train (wall time), then choose thresholds on val and score test with eval.py."""
    common = ["--mr_path", str(mr), "--checkpoint_path", str(out), "--num_classes", str(num_classes)]
    seconds = run("train.py", *common, *RECIPE, "--epoch_size", str(epochs), *extra)
    for split in ("val", "test"):
        run("eval.py", *common, "--eval_batch_size", "8", "--eval_split", split)
    test = json.loads((out / "eval_test.json").read_text())
    best_val = max(json.loads(line)["val_roc_auc"] for line in (out / "metrics.jsonl").read_text().splitlines())
    return {
        "train_s": round(seconds, 1),
        "best_val_roc_auc": best_val,
        "test_roc_auc": round(test["roc_auc"], 4),
        "test_pr_auc": round(test["pr_auc"], 4),
        "test_micro_f1": test["decisions"]["micro"]["f1"],
        "test_macro_f1": test["decisions"]["macro"]["f1"],
    }


def head_and_score(mr: Path, source: Path, out: Path) -> dict:
    """Fit the linear head (wall time, embeddings included); train_head.py scores test at the val thresholds."""
    head_file = out / "head.npz"
    seconds = run("train_head.py", "--mr_path", str(mr), "--ckpt_file", str(source), "--head_file", str(head_file),
                  "--eval_batch_size", "8")  # fmt: skip
    report = json.loads(head_file.with_suffix(".json").read_text())
    return {
        "train_s": round(seconds, 1),
        "best_val_roc_auc": round(report["val"]["roc_auc"], 4),
        "test_roc_auc": round(report["test"]["roc_auc"], 4),
        "test_pr_auc": round(report["test"]["pr_auc"], 4),
        "test_micro_f1": round(report["test"]["micro_f1"], 5),
        "test_macro_f1": round(report["test"]["macro_f1"], 5),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="checkpoint to fine-tune from (e.g. the demo's best)")
    parser.add_argument("--work", required=True, help="folder for the corpus, dataset and runs (must not exist)")
    parser.add_argument("--num_clips", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (the demo's is 0)")
    parser.add_argument("--num_classes", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.001, help="learning rate from scratch (the demo's)")
    parser.add_argument("--fine_tune_lr", type=float, default=0.001, help="learning rate of the fine-tune")
    args = parser.parse_args(argv)
    work = Path(args.work)
    if work.exists():
        sys.exit(f"--work {work} exists; choose a new folder")
    mr = make_task(work, args.num_clips, args.seed, args.num_classes)
    tags = (mr / "tags.txt").read_text().split("\n")[: args.num_classes]
    print(f"task: {args.num_clips} clips of seed {args.seed}, {args.num_classes} tags: {', '.join(tags)}")
    source = ["--pre_trained", "True", "--pre_trained_ckpt", str(Path(args.source).resolve())]
    source += ["--lr", str(args.fine_tune_lr)]
    results = {
        "linear head": head_and_score(mr, Path(args.source).resolve(), work / "head"),
        "fine-tune": train_and_score(mr, work / "fine_tune", args.num_classes, args.epochs, source),
        "from scratch": train_and_score(mr, work / "scratch", args.num_classes, args.epochs, ["--lr", str(args.lr)]),
    }
    print(f"{'method':<14}" + "".join(f"{key:>18}" for key in results["from scratch"]))
    for method, figures in results.items():
        print(f"{method:<14}" + "".join(f"{value:>18}" for value in figures.values()))
    scratch = results["from scratch"]
    for method in ("linear head", "fine-tune"):
        print(
            f"{method} / from scratch: test ROC-AUC {results[method]['test_roc_auc'] / scratch['test_roc_auc']:.3f}x, "
            f"wall time {results[method]['train_s'] / scratch['train_s']:.3f}x"
        )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
