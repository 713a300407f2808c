"""What train.py checks in its run folder (checkpoint_path) before it writes anything, and what it clears there.

A folder holds a run when it has a train_state.json, a metrics.jsonl or a checkpoint of the run's
prefix. A new run there would replace them, so it needs --resume True (continue the run, which must
use the same batch_size, seed and data) or --overwrite True (start over); a fine-tuning source in
the folder must never be one of the names the run writes or rotates.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from src.cluster import distributed
from src.cluster.distributed import World
from src.core.errors import UserError
from src.core.file_names import (
    CHECKPOINT_SUFFIX,
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_PARAMS_FILE,
    STATE_FILE,
    TAGS_FILE,
    THRESHOLDS_SUFFIX,
    best_checkpoint,
    is_step_checkpoint,
)
from src.core.tag_list import write_tag_list
from src.dataset import find_shards
from src.model.checkpoint import TrainState
from src.model_utils.config import save_config
from src.musictagger import ModelParams, load_model_params
from src.preprocess.manifest import read_manifest

log = logging.getLogger("fcn4")

# `.NAME.PID.tmp` (fileio.atomic_path) and `.NAME.PID.ckpt` (checkpoint.save, before its rename)
# trained_with keys recorded only when not 1 (their absence means 1)
_ONE_UNLESS_RECORDED = ("grad_accumulation",)
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.\d+\.(tmp|ckpt)")


def resume_point(folder: Path, world: World) -> TrainState | None:
    """The state of the run in folder to continue (the same on every rank), None when there is none."""
    previous = TrainState.load(folder)
    found = previous is not None and bool(previous.checkpoint)
    distributed.check_same(
        world,
        previous.global_step if found else -1,
        f"the last checkpoint's global step in {folder}",
        "every rank must see the same checkpoint_path (shared storage, or train_url)",
    )
    if not found:
        log.info("resume: no earlier run in %s, starting afresh", folder)
    return previous if found else None


def trained_with(batch_size: int, seed: int, mr_path: str | Path, grad_accumulation: int = 1) -> dict:
    """The settings that fix the order of an epoch's batches and what a step is: a resume with others would
    skip other clips. grad_accumulation is recorded only when > 1, so runs without it record what they always did."""
    settings = {"batch_size": batch_size, "seed": seed, "data": data_fingerprint(mr_path)}
    return settings | ({"grad_accumulation": grad_accumulation} if grad_accumulation > 1 else {})


def data_fingerprint(mr_path: str | Path) -> str:
    """The dataset manifest's fingerprint; for a dataset without one, a digest of its train shards' names and sizes."""
    manifest = read_manifest(mr_path)
    if manifest and manifest.get("fingerprint"):
        return str(manifest["fingerprint"])
    digest = hashlib.sha256()
    for shard in find_shards(mr_path, "train"):
        digest.update(f"{shard.name}:{shard.stat().st_size}\n".encode())
    return f"shards-{digest.hexdigest()}"


def check_resume(recorded: dict, wanted: dict, folder: Path) -> None:
    """UserError naming every setting of `wanted` that differs from the run's `recorded` ones."""
    if not recorded:
        log.warning(
            "resume: %s/%s does not record batch_size, seed and data (an older run): cannot check that they match",
            folder,
            STATE_FILE,
        )
        return
    keys = list(wanted) + [key for key in _ONE_UNLESS_RECORDED if key in recorded and key not in wanted]
    differ = [key for key in keys if _setting(recorded, key) != _setting(wanted, key)]
    if differ:
        raise UserError(
            f"resume: checkpoint_path {folder} was trained with {_settings(recorded, differ)}; this run asks for "
            f"{_settings(wanted, differ)}; resume with the same values, or start a new run in another checkpoint_path"
        )


def _setting(values: dict, key: str):
    return values.get(key, 1 if key in _ONE_UNLESS_RECORDED else None)


def _settings(values: dict, keys: list[str]) -> str:
    return ", ".join(f"{key}={str(_setting(values, key))[:16]}" for key in keys)


def run_files(folder: Path, prefix: str) -> list[Path]:
    """The files of a run in folder that a new run of this prefix would replace: state, metrics, PREFIX checkpoints
    and the thresholds eval.py chose for them."""
    if not folder.is_dir():
        return []
    found = [path for path in folder.iterdir() if path.name in (STATE_FILE, METRICS_FILE) or _of_run(path.name, prefix)]
    return sorted(found, key=lambda path: (path.suffix == CHECKPOINT_SUFFIX, path.name))  # state and metrics first


def _of_run(name: str, prefix: str) -> bool:
    """A PREFIX checkpoint, or its CKPT.thresholds.json."""
    if name.endswith(THRESHOLDS_SUFFIX):
        name = name[: -len(THRESHOLDS_SUFFIX)] + CHECKPOINT_SUFFIX
    return name == best_checkpoint(prefix) or is_step_checkpoint(name, prefix)


def check_same_model(folder: Path, params: ModelParams) -> None:
    """UserError if the run in folder was trained with another network shape than params."""
    saved = load_model_params(folder)
    if saved is not None and saved != params:
        raise UserError(
            f"resume: {folder} was trained with {saved.to_dict()}, this config asks for {params.to_dict()}; "
            f"use the same channels/pools/num_classes or another checkpoint_path"
        )


def check_new_run(folder: Path, prefix: str, overwrite: bool, resume: bool) -> list[Path]:
    """The old run's files a new run in folder replaces (none when it holds no run); UserError unless overwrite.

    resume: the run asked to continue but the folder has no resume point (train_state.json).
    """
    old = run_files(folder, prefix)
    if old and not overwrite:
        names = ", ".join(path.name for path in old[:3]) + (f" and {len(old) - 3} more" if len(old) > 3 else "")
        holds = f"has no {STATE_FILE} to resume from, but holds" if resume else "already holds a run"
        continue_it = "" if resume else "add --resume True to continue it, "
        raise UserError(
            f"checkpoint_path {folder} {holds} ({names}); {continue_it}--overwrite True to start over (replacing "
            f"its checkpoints, state and metrics), or choose another checkpoint_path"
        )
    return old


def check_source_survives(source: Path, folder: Path, prefix: str) -> None:
    """UserError if the run would replace or rotate away the checkpoint it fine-tunes from."""
    real = source.resolve()
    ours = real.name == best_checkpoint(prefix) or is_step_checkpoint(real.name, prefix)
    if ours and real.parent == folder.resolve():
        raise UserError(
            f"pre_trained: the source checkpoint {source} would be replaced by this run's own {prefix} checkpoints "
            f"in {folder}; fine-tune into another checkpoint_path"
        )


def clear(folder: Path, prefix: str, replaced: list[Path]) -> None:
    """Delete the files check_new_run allowed to replace and the temporaries of interrupted saves; only
    while holding the folder's lock, when no other train.py can be writing them."""
    for old in replaced:
        old.unlink()
    if replaced:
        log.info("overwrite: removed the older run's %d files from %s", len(replaced), folder)
    _remove_stale_temporaries(folder, prefix)


def record(folder: Path, run_config: dict, params: ModelParams, tags: list[str]) -> list[Path]:
    """Write what makes the run self-describing: config.yaml, model_params.json, tags.txt; the paths written."""
    write_tag_list(folder / TAGS_FILE, tags)
    return [save_config(run_config, folder), params.save(folder), folder / TAGS_FILE]


def _remove_stale_temporaries(folder: Path, prefix: str) -> None:
    """Delete the temporary files interrupted saves of this run's files left (a checkpoint's are hundreds of MB)."""
    ours = {STATE_FILE, CONFIG_FILE, MODEL_PARAMS_FILE, TAGS_FILE, best_checkpoint(prefix)}
    stale = []
    for path in folder.glob(".*"):
        match = _TEMPORARY.fullmatch(path.name)
        if match and path.is_file() and (match["name"] in ours or is_step_checkpoint(match["name"], prefix)):
            stale.append((path, path.stat().st_size))
    for path, _ in stale:
        path.unlink()
    if stale:
        freed = sum(size for _, size in stale)
        log.info("removed %d temporary files of interrupted saves from %s (%.1f MB)", len(stale), folder, freed / 1e6)
