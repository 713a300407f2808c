"""Turn an annotated audio dataset (MTAT: annotations_final.csv + mp3 folders; or info_format path_tags,
mtg_jamendo, msd_lastfm) into MindRecord shards.

python preprocess.py --audio_path ./data/mtat --mr_path ./data/mindrecord
python preprocess.py --preprocess_mode 310 --mr_path ./data/mindrecord --result_path ./preprocess_Result
"""

from __future__ import annotations

import logging
import sys

from src.core.fileio import check_writable_dir
from src.entry import run_entry
from src.model_utils.config import Config
from src.preprocess.specs import DatasetSpec, RunOptions, SplitSpec

log = logging.getLogger("fcn4")


def run(config: Config) -> int:
    """Build (or finish, or confirm) the dataset in mr_path, or write the 310 .bin files; the edge where
    the config becomes explicit values."""
    if config.preprocess_mode == "310":
        check_writable_dir(config.result_path, "result_path")
        return run_310(config)
    check_writable_dir(config.mr_path, "mr_path")  # before reading any audio, not after an hour of it
    from src.preprocess.build import build
    from src.preprocess.report import skip_hints, summary_line

    report = build(dataset_spec(config), run_options(config))
    log.info(summary_line(report, config.mr_path))
    if report["status"] == "finished":
        total = sum(report["written"].values()) + len(report["skipped"])
        for hint in skip_hints(report["skipped"], total, config.audio_path):
            log.warning(hint)
    return 0


def dataset_spec(config: Config) -> DatasetSpec:
    """What the dataset holds: every setting that defines the output (and its fingerprint)."""
    split = SplitSpec(
        method=config.split,
        train_ratio=config.train_ratio,
        seed=config.split_seed,
        lists={"train": config.train_list, "val": config.val_list, "test": config.test_list},
    )
    return DatasetSpec(
        audio_path=config.audio_path,
        info_name=config.info_name,
        info_path=config.info_path,
        info_format=config.info_format,
        mr_path=config.mr_path,
        num_classes=config.num_classes,
        split=split,
        top_tags_from=config.top_tags_from,
        drop_untagged=config.drop_untagged,
        num_consumer=config.num_consumer,
        follow_symlinks=config.follow_symlinks,
        track_windows=config.track_windows,
    )


def run_options(config: Config) -> RunOptions:
    """How this run works: workers, overwrite, per-clip .npy files, this host's part."""
    return RunOptions(
        workers=config.preprocess_workers,
        overwrite=config.overwrite,
        keep_npy=config.keep_npy,
        npy_path=config.npy_path,
        num_shards=config.preprocess_num_shards,
        shard_id=config.preprocess_shard_id,
    )


def run_310(config: Config) -> int:
    """The Ascend 310 side: the eval_split's shards as fcn4_bs{B}_{i}.bin batches + label_ids.npy, into a
    result_path that holds nothing else (never mr_path, checkpoint_path or a folder above them); the batches
    hold the model's input, export_input: log-mel features, or the clips' samples decoded from the dataset's audio."""
    from src.inference.bin_protocol import dump_split

    report = dump_split(
        config.mr_path,
        config.eval_split,
        config.export_batch_size,
        config.num_classes,
        config.result_path,
        config.num_parallel_workers,
        keep={"checkpoint_path": config.checkpoint_path},
        input_kind=config.export_input,
        info_path=config.info_path,
    )
    log.info(
        "wrote %d %s clips (%s input) as %d batches of %d (last padded with %d zero rows) to %s",
        report["clips"],
        config.eval_split,
        config.export_input,
        report["batches"],
        config.export_batch_size,
        report["padded_rows"],
        config.result_path,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: MTAT-format audio -> log-mel MindRecord shards")


if __name__ == "__main__":
    sys.exit(main())
