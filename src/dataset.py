"""MindRecord shards in the reference schema: writing them as a stream, reading them back.

Schema (as the model zoo): id int32, feature float32 [1, 96, 1366], label int32 [num_classes];
`num_consumer` shards per split named `<split>.mindrecord0..N-1`, indexed on id.

May import: core, features
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from src.core.errors import UserError, first_line
from src.core.file_names import shard_base, split_shards
from src.features import FEATURE_SHAPE

WRITE_CHUNK = 16
HEADER_LENGTH_BYTES = 8  # a MindRecord file starts with its JSON header's length, uint64 little-endian
MAX_HEADER_BYTES = 1 << 26


def mindrecord_schema(num_classes: int) -> dict:
    return {
        "id": {"type": "int32"},
        "feature": {"type": "float32", "shape": list(FEATURE_SHAPE)},
        "label": {"type": "int32", "shape": [num_classes]},
    }


def find_shards(mr_dir: str | Path, split: str) -> list[Path]:
    """All shard files of a split (sorted by shard index); UserError if there are none.

    MindSpore names N > 1 shards `<split>.mindrecord0..N-1` and a single shard `<split>.mindrecord`.
    """
    files = split_shards(mr_dir, split)
    if not files:
        raise UserError(
            f"no MindRecord shards for split '{split}' in {mr_dir} "
            f"(expected {shard_base(split)}0...; run preprocess.py first)"
        )
    return files


class SplitWriter:
    """Streams (id, feature, label) rows into one split's shards, memory bounded by WRITE_CHUNK rows.

    Shards are written under a hidden temp folder and moved into mr_dir only by commit(), so a
    crash never leaves a half-valid split behind.
    """

    def __init__(self, mr_dir: str | Path, split: str, num_shards: int, num_classes: int) -> None:
        from mindspore.mindrecord import FileWriter

        self.mr_dir = Path(mr_dir)
        self.split = split
        self.num_shards = num_shards
        self.tmp_dir = self.mr_dir / f".{split}.partial"
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir(parents=True)
        self.writer = FileWriter(str(self.tmp_dir / shard_base(split)), shard_num=num_shards, overwrite=True)
        self.writer.add_schema(mindrecord_schema(num_classes), f"fcn4_{split}")
        self.writer.add_index(["id"])
        self.rows: list[dict] = []
        self.count = 0

    def add(self, clip_id: int, feature: np.ndarray, label: np.ndarray) -> None:
        self.rows.append(
            {
                "id": int(clip_id),
                "feature": feature.astype(np.float32, copy=False),
                "label": label.astype(np.int32, copy=False),
            }
        )
        if len(self.rows) >= WRITE_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.writer.write_raw_data(self.rows)
            self.count += len(self.rows)
            self.rows = []

    def commit(self) -> int:
        """Finish the shards and move them (with their .db index files) into mr_dir."""
        self._flush()
        if self.count == 0:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            return 0
        self.writer.commit()
        for old in split_shards(self.mr_dir, self.split, with_indexes=True):
            old.unlink()
        for path in sorted(self.tmp_dir.iterdir()):
            os.replace(path, self.mr_dir / path.name)
        self.tmp_dir.rmdir()
        return self.count


def shard_problem(path: Path) -> str:
    """Why one shard file cannot be read, "" if none: its header and its size are checked on their own,
    since MindSpore opens every shard of a split at once and names none when one is damaged.

    The size check uses the layout of MindSpore 2.x: header_size bytes, then every page but the
    last padded to page_size, then the last page (a shard without rows is its header alone).
    """
    try:
        with open(path, "rb") as handle:
            length = int.from_bytes(handle.read(HEADER_LENGTH_BYTES), "little")
            size = os.fstat(handle.fileno()).st_size
            if not 0 < length <= min(size, MAX_HEADER_BYTES):
                return "no MindRecord header"
            header = json.loads(handle.read(length))
        pages = sorted(header["page"] or [], key=lambda page: page["page_id"])
        expected = (
            header["header_size"] + (len(pages) - 1) * header["page_size"] + pages[-1]["page_size"] if pages else 0
        )
        missing = [name for name in header["shard_addresses"] if not (path.parent / Path(name).name).is_file()]
    except OSError as exc:
        return first_line(exc)
    except (ValueError, KeyError, TypeError, IndexError):
        return "damaged MindRecord header"
    if size < expected:
        return f"truncated: {size} bytes, its header describes {expected}"
    if missing:
        return f"its split's shard {missing[0]} is missing"
    return ""


def _open_reader(files: list[Path]):
    """A FileReader over a split's shards; UserError naming the damaged shard if one is."""
    from mindspore.mindrecord import FileReader

    for path in files:
        problem = shard_problem(path)
        if problem:
            raise UserError(
                f"{path}: not a readable MindRecord file ({problem}); re-run preprocess.py with --overwrite True"
            )
    try:
        return FileReader([str(f) for f in files]) if len(files) > 1 else FileReader(str(files[0]))
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a usable MindRecord"
        names = ", ".join(path.name for path in files)
        raise UserError(f"{files[0].parent}: shards {names}: not a readable MindRecord ({first_line(exc)})") from None


def check_schema(files: list[Path], num_classes: int) -> None:
    """Refuse damaged shards, and shards made with another schema (fields, feature shape or class count)."""
    expected = mindrecord_schema(num_classes)
    reader = _open_reader(files)
    schema = reader.schema()
    reader.close()
    for field, spec in expected.items():
        got = schema.get(field)
        if got is None:
            raise UserError(f"{files[0]}: MindRecord has no '{field}' field; expected schema {expected}")
        if got.get("type") != spec["type"] or list(got.get("shape", [])) != spec.get("shape", []):
            raise UserError(
                f"{files[0]}: field '{field}' is {got}, expected {spec} (made with another schema or num_classes?)"
            )


def count_rows(files: list[Path]) -> int:
    """Rows over a split's shards; UserError naming a damaged shard."""
    reader = _open_reader(files)
    total = reader.len()
    reader.close()
    return total


def create_dataset(
    mr_dir: str | Path,
    split: str,
    batch_size: int,
    num_classes: int,
    training: bool,
    seed: int = 1,
    num_shards: int | None = None,
    shard_id: int | None = None,
    num_parallel_workers: int = 2,
    with_ids: bool = False,
):
    """MindDataset of (feature float32 (B,1,96,1366), label float32 (B,C)) batches, led by the
    clip ids int32 (B,) when with_ids.

    Training shuffles with `seed` (re-created per epoch by the trainer with seed + epoch, so a
    resumed epoch replays the same order) and drops the last partial batch, as the reference.
    With num_shards, shard shard_id gets every num_shards-th row of that one seeded order, so the
    shards are disjoint and step k of all shards together is step k of an unsharded run.
    """
    import mindspore as ms
    import mindspore.dataset as ds
    from mindspore.dataset import transforms

    files = find_shards(mr_dir, split)
    check_schema(files, num_classes)
    ds.config.set_seed(seed)
    columns = ["id", "feature", "label"] if with_ids else ["feature", "label"]
    data = ds.MindDataset(
        [str(f) for f in files],
        columns_list=columns,
        shuffle=training,
        num_shards=num_shards,
        shard_id=shard_id,
        num_parallel_workers=num_parallel_workers,
    )
    data = data.map(operations=transforms.TypeCast(ms.float32), input_columns="label")
    return data.batch(batch_size, drop_remainder=training)
