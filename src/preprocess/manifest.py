"""The dataset manifest written beside the shards, and the check a training run makes against it.

`manifest.json` records how the dataset was made (settings, tag list in label order, split
sizes, per-tag positive counts, feature parameters, package versions), so that a run can refuse
features made with other settings than this toolkit's `features.feature_params()`. It is the
last file a preprocessing run writes: its presence marks a finished dataset.
"""

from __future__ import annotations

import json
import logging
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from src import features
from src.core.errors import UserError
from src.core.file_names import MANIFEST_FILE, WORK_DIR
from src.core.fileio import atomic_write_json

if TYPE_CHECKING:
    from src.preprocess.plan import Plan

log = logging.getLogger("fcn4")

FORMAT_VERSION = 1
PACKAGES = ("numpy", "librosa", "soundfile", "soxr", "scipy", "numba", "mindspore")


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that compute or store the features."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_manifest(
    path: str | Path,
    plan: Plan,
    written: dict[str, int],
    skipped: dict[str, int],
    positives: dict[str, list[int]],
    paths: dict[str, str],
) -> dict:
    """Write the manifest of a finished dataset atomically and return it.

    plan: the run's plan (its settings and fingerprint are recorded); written / skipped: clips per split;
    positives: per split, the number of written clips carrying each tag, in label order.
    """
    manifest = {
        "format_version": FORMAT_VERSION,
        "fingerprint": plan.fingerprint,
        "config": plan.settings,
        "paths": paths,
        "num_classes": len(plan.tags),
        "tags": plan.tags,
        "split_sizes": written,
        "planned": plan.planned,
        "skipped": skipped,
        "dropped_untagged": plan.dropped_untagged,
        "positives": positives,
        "features": features.feature_params(),
        "versions": package_versions(),
    }
    atomic_write_json(path, manifest)
    return manifest


def read_manifest(mr_path: str | Path) -> dict | None:
    """The manifest of the dataset in mr_path, None if it has none; UserError if it is unreadable."""
    path = Path(mr_path) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); re-run preprocess.py with --overwrite True") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{path}: expected a JSON object; re-run preprocess.py with --overwrite True")
    return manifest


def check_dataset(mr_path: str | Path, num_classes: int) -> None:
    """Refuse a dataset whose features or class count differ from this toolkit and config.

    A dataset without manifest (made by hand or by another tool) is accepted with a warning,
    since its features cannot be checked, unless preprocess.py left it unfinished.
    """
    manifest = read_manifest(mr_path)
    path = Path(mr_path) / MANIFEST_FILE
    if manifest is None and (Path(mr_path) / WORK_DIR).is_dir():
        raise UserError(
            f"{mr_path} holds an unfinished dataset ({Path(mr_path) / WORK_DIR} and no {MANIFEST_FILE}); "
            f"rerun the same preprocess.py command to finish it"
        )
    if manifest is None:
        log.warning("%s not found: cannot check that the features match this toolkit's settings", path)
        return
    expected = features.feature_params()
    made = manifest.get("features")
    if made != expected:
        made = made if isinstance(made, dict) else {}
        diff = [
            f"{key}={made.get(key)!r} (this toolkit: {expected.get(key)!r})"
            for key in sorted(set(expected) | set(made))
            if made.get(key) != expected.get(key)
        ]
        raise UserError(
            f"{path}: dataset features were made with other settings: {', '.join(diff)}; "
            f"re-run preprocess.py with --overwrite True"
        )
    if manifest.get("num_classes") != num_classes:
        raise UserError(
            f"{path}: dataset has num_classes={manifest.get('num_classes')}, config has num_classes={num_classes}"
        )


def settings_diff(old: dict, new: dict) -> list[str]:
    """`key: old -> new` for each setting that differs between two manifests or plans."""
    keys = sorted(set(old) | set(new))
    return [f"{key}: {old.get(key)!r} -> {new.get(key)!r}" for key in keys if old.get(key) != new.get(key)]
