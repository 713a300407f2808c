"""What a preprocessing run is asked to do, as explicit values: preprocess.py builds these from the config.

DatasetSpec and its SplitSpec define the output (they make the plan's settings and fingerprint);
RunOptions only say how a run works, so changing them never invalidates a dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from src.core.errors import UserError

MAX_MINDRECORD_SHARDS = 1000


@dataclass(frozen=True)
class SplitSpec:
    """How clips are split (config keys split, train_ratio, split_seed, train_list/val_list/test_list).

    method: random, mtat, file or annotations (the split the annotation files define: msd_lastfm's gt
    files); train_ratio and seed: split=random only; lists: split=file only, split name -> its list file
    (see splits.read_split_list), "" for a split without one.
    """

    method: str
    train_ratio: float
    seed: int
    lists: dict[str, str] = field(default_factory=dict)

    def file_lists(self) -> dict[str, str]:
        """The split files of split=file, splits without one left out; UserError when there is no train list."""
        lists = {name: path for name, path in self.lists.items() if path}
        if "train" not in lists:
            raise UserError("split=file needs train_list (and usually val_list, test_list): files of mp3_paths")
        return lists


@dataclass(frozen=True)
class DatasetSpec:
    """What to make: the annotation file (info_path, else audio_path/info_name, read as info_format), the
    dataset folder mr_path, the num_classes most frequent tags (counted over all clips, or over train
    when top_tags_from="train"), whether clips with none of them are dropped, the split,
    num_consumer shards per split, whether clip paths may leave audio_path through symlinks, and the
    windows cut from each full track (track_windows, see windows.py)."""

    audio_path: str
    info_name: str
    info_format: str
    mr_path: str
    num_classes: int
    split: SplitSpec
    top_tags_from: str
    drop_untagged: bool
    num_consumer: int
    info_path: str = ""
    follow_symlinks: bool = False
    track_windows: int = 1

    @property
    def csv_path(self) -> Path:
        """The annotation file: info_path when given, else audio_path/info_name."""
        return Path(self.info_path) if self.info_path else Path(self.audio_path) / self.info_name

    def __post_init__(self) -> None:
        if not 1 <= self.num_consumer <= MAX_MINDRECORD_SHARDS:
            raise UserError(
                f"num_consumer={self.num_consumer}: MindRecord needs 1 to {MAX_MINDRECORD_SHARDS} shard files per split"
            )


@dataclass(frozen=True)
class RunOptions:
    """How a run works, not what it makes.

    workers: processes computing features, 0 for one per core; overwrite: replace a finished dataset
    or discard unfinished work of other settings; keep_npy: also write per-clip .npy files into
    npy_path ("" for mr_path/npy); num_shards, shard_id: this host's part of a multi-host run
    (preprocess_num_shards, preprocess_shard_id; -1 computes what is missing and writes the shards).
    """

    workers: int
    overwrite: bool
    keep_npy: bool
    npy_path: str
    num_shards: int
    shard_id: int

    def __post_init__(self) -> None:
        """UserError naming the config key of a worker count or multi-host part out of range."""
        if self.workers < 0:
            raise UserError(f"preprocess_workers={self.workers}: expected 0 (one per core) or more")
        if self.num_shards < 1:
            raise UserError(f"preprocess_num_shards={self.num_shards}: expected 1 or more hosts")
        if not -1 <= self.shard_id < self.num_shards:
            raise UserError(
                f"preprocess_shard_id={self.shard_id}: expected -1 (all, then assemble) or 0..{self.num_shards - 1}"
            )
