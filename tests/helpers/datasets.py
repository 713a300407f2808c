"""Small preprocessed corpora for the tests, and reading back what preprocess.py published."""

import json
from pathlib import Path

import numpy as np

from src import demo_data
from src.dataset import find_shards
from src.features import FEATURE_SHAPE
from src.preprocess.specs import DatasetSpec, SplitSpec
from tests.helpers.processes import run_script

RANDOM_SPLIT = ("--split", "random", "--split_seed", "5")


def make_corpus(
    root: Path, num_clips: int, seed: int = 3, inject_broken: bool = False, split_args: tuple = RANDOM_SPLIT
) -> Path:
    """A generated MTAT-format corpus in root/mtat preprocessed into root/mr (2 shards per split); returns root."""
    demo_data.generate_corpus(root / "mtat", num_clips=num_clips, seed=seed, inject_broken=inject_broken, workers=2)
    mtat, mr = str(root / "mtat"), str(root / "mr")
    result = run_script("preprocess.py", "--audio_path", mtat, "--mr_path", mr, "--num_consumer", "2", *split_args)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def format_spec(
    root: Path, info: Path, info_format: str, num_classes: int, track_windows: int = 1, **split
) -> DatasetSpec:
    """The DatasetSpec of an annotation file (or folder) `info` of info_format, audio in root, mr in root/mr; split
    random (train_ratio 0.5, seed 0) unless `split` says otherwise (method=..., lists=...)."""
    return DatasetSpec(
        audio_path=str(root),
        info_name="",
        info_path=str(info),
        info_format=info_format,
        mr_path=str(root / "mr"),
        num_classes=num_classes,
        split=SplitSpec(**{"method": "random", "train_ratio": 0.5, "seed": 0, **split}),
        top_tags_from="all",
        drop_untagged=False,
        num_consumer=1,
        track_windows=track_windows,
    )


def split_rows(mr, split) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(id, feature (1, 96, 1366) float32, label) of every row of a split, read over all its shards."""
    from mindspore.mindrecord import FileReader

    reader = FileReader(str(find_shards(mr, split)[0]))  # the first shard's header names them all
    rows = [(int(r["id"]), r["feature"].reshape(FEATURE_SHAPE), r["label"]) for r in reader.get_next()]
    reader.close()
    return rows


def dataset_content(mr) -> dict:
    """What a dataset holds: file names, tags, manifest (paths left out), and per split its rows
    (id, feature bytes, label bytes) sorted by id.

    Which shard file a row lands in is MindSpore's FileWriter's choice: it splits each batch over
    the shards with threads, and two uninterrupted runs can differ there, so rows are compared by
    split, not by shard file.
    """
    manifest = json.loads((mr / "manifest.json").read_text())
    assert manifest.pop("paths")["mr_path"] == str(mr)
    content = {
        "files": sorted(p.name for p in mr.iterdir()),
        "tags": (mr / "tags.txt").read_text(),
        "manifest": manifest,
    }
    for split, size in manifest["split_sizes"].items():
        content[split] = sorted((i, f.tobytes(), label.tobytes()) for i, f, label in split_rows(mr, split))
        assert len(content[split]) == size
    return content
