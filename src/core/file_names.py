"""The on-disk contract: every file name a dataset folder and a run folder hold, defined once.

A dataset folder (`mr_path`, written by preprocess.py) and a run folder (`checkpoint_path`,
written by train.py) are interfaces: eval, export, resume, tagging and users' own scripts read
them, so their names live here and every other module imports them.

    mr_path/                                 checkpoint_path/
      train.mindrecord0..N-1 (+ .db)           PREFIX-EPOCH_STEP.ckpt   every save_step / epoch end
      val.mindrecord0..N-1, test...            PREFIX-best.ckpt         best validation ROC-AUC
      tags.txt         label 0 first           train_state.json         where --resume goes on
      manifest.json    written last            metrics.jsonl            one line per epoch
      preprocess_report.json                   config.yaml              the resolved config
      preprocess_work/ (while unfinished)      model_params.json        the network's shape
        chunks/  gathered by multi-host runs   tags.txt                 the run's tag list
                                               eval_SPLIT.json          eval.py's result
                                               eval_SPLIT.scores.npz    its per-clip scores (save_scores)
                                               CKPT.thresholds.json     per-tag thresholds (eval.py on val)
                                               .train.lock              held while train.py runs
"""

from __future__ import annotations

import re
from pathlib import Path

SPLITS = ("train", "val", "test")

# ---- dataset folder (mr_path)
TAGS_FILE = "tags.txt"
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "preprocess_report.json"
WORK_DIR = "preprocess_work"
WORK_CHUNKS_DIR = "chunks"  # inside WORK_DIR; multi-host runs gather these folders
PREPROCESS_LOCK = ".preprocess.lock"
NPY_DIR = "npy"
SHARD_SUFFIX = ".mindrecord"
SHARD_INDEX_SUFFIX = ".db"

# ---- run folder (checkpoint_path)
CONFIG_FILE = "config.yaml"
MODEL_PARAMS_FILE = "model_params.json"
STATE_FILE = "train_state.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_SUFFIX = ".ckpt"
TRAIN_LOCK = ".train.lock"  # held by the train.py writing the folder; names its pid and host
THRESHOLDS_SUFFIX = ".thresholds.json"  # CKPT.thresholds.json: a checkpoint's per-tag thresholds
SCORES_SUFFIX = ".scores.npz"  # RESULT.scores.npz beside eval.py's RESULT.json: per-clip labels and scores

# ---- beside an exported model
TAGS_SIDECAR_SUFFIX = ".tags.txt"

_SHARD = re.compile(r"(?P<split>\w+)\.mindrecord(?P<index>\d*)(?P<db>\.db)?")


def shard_base(split: str) -> str:
    """The name MindSpore's FileWriter is given for a split; it appends 0..N-1 when N > 1."""
    return f"{split}{SHARD_SUFFIX}"


def parse_shard(name: str) -> tuple[str, int, bool] | None:
    """(split, shard index, is the .db index file) for a shard file name of a known split, else None.

    MindSpore names N > 1 shards `<split>.mindrecord0..N-1` and a single shard `<split>.mindrecord`.
    """
    match = _SHARD.fullmatch(name)
    if match is None or match["split"] not in SPLITS:
        return None
    return match["split"], int(match["index"] or 0), bool(match["db"])


def split_shards(folder: str | Path, split: str, with_indexes: bool = False) -> list[Path]:
    """The shard files of one split in folder, by shard index (and their .db index files if asked)."""
    shards = []
    for path in Path(folder).glob(shard_base(split) + "*"):
        parsed = parse_shard(path.name)
        if parsed is not None and parsed[0] == split and (with_indexes or not parsed[2]):
            shards.append((parsed[1], parsed[2], path))
    return [path for *_, path in sorted(shards)]


def dataset_files(folder: str | Path) -> list[Path]:
    """Every shard and shard index file of every split in folder (a dataset's MindRecord files)."""
    return sorted(path for path in Path(folder).glob(f"*{SHARD_SUFFIX}*") if parse_shard(path.name) is not None)


def step_checkpoint(prefix: str, epoch: int, step: int) -> str:
    """`PREFIX-EPOCH_STEP.ckpt` (1-based epoch, as MindSpore's ModelCheckpoint names it)."""
    return f"{prefix}-{epoch}_{step}{CHECKPOINT_SUFFIX}"


def best_checkpoint(prefix: str) -> str:
    """`PREFIX-best.ckpt`: the epoch with the best validation ROC-AUC."""
    return f"{prefix}-best{CHECKPOINT_SUFFIX}"


def is_step_checkpoint(name: str, prefix: str) -> bool:
    """Whether name is exactly `PREFIX-EPOCH_STEP.ckpt` of this prefix (not of `PREFIX-ft`, say)."""
    return re.fullmatch(rf"{re.escape(prefix)}-\d+_\d+{re.escape(CHECKPOINT_SUFFIX)}", name) is not None


def eval_result(split: str) -> str:
    """eval.py's JSON result for a split, inside the run folder."""
    return f"eval_{split}.json"


def scores_file(result: str | Path) -> Path:
    """`RESULT.scores.npz` beside eval.py's JSON result `RESULT.json` (eval_SPLIT.scores.npz by default): the
    per-clip labels, scores and clip ids eval.py --save_scores True writes (src.evaluation.saved_scores)."""
    result = Path(result)
    return result.with_name(result.stem + SCORES_SUFFIX)


def thresholds_file(folder: str | Path, checkpoint: str | Path) -> Path:
    """`folder/CKPT.thresholds.json`: the per-tag thresholds eval.py chose on val for checkpoint CKPT.ckpt."""
    return Path(folder) / f"{Path(checkpoint).stem}{THRESHOLDS_SUFFIX}"
