"""Train FCN-4 with the model-zoo recipe (Adam, BCE, fixed loss scale 1024).

    python train.py --mr_path ./data/mindrecord --checkpoint_path ./checkpoints
    msrun --worker_num=8 --local_worker_num=8 train.py ...   # data parallel, batch_size per device

The same script runs standalone or as one rank of a data-parallel job (msrun, rank table,
mpirun); it joins the job before copying any *_url inputs, so a slow copy cannot time out the
cluster's start.
"""

from __future__ import annotations

import logging
import sys

from src.cluster import distributed
from src.core.cli import EXIT_INTERRUPTED
from src.core.errors import UserError
from src.core.file_names import TAGS_FILE
from src.core.runtime import setup_runtime
from src.core.tag_list import read_tag_list
from src.dataset import find_shards
from src.entry import run_entry
from src.model_utils.config import Config
from src.model_utils.moxing_adapter import cloud_sync
from src.musictagger import ModelParams
from src.preprocess.manifest import check_dataset
from src.training.recipe_options import Schedule
from src.training.trainer import TrainOptions, train

log = logging.getLogger("fcn4")


def run(config: Config) -> int:
    setup_runtime(
        config.device_target,
        config.device_id,
        config.seed,
        config.mixed_precision,
        config.mode,
        config.memory_optimize_level,
        config.cpu_cores,
        config.deterministic,
        config.memory_pool_reserve,
    )
    world = distributed.setup(config.parallel_mode)
    options = config.pick(TrainOptions, model=config.pick(ModelParams), schedule=config.pick(Schedule))
    if options.recompute != "none" and config.mode != "graph":
        raise UserError(
            f"recompute={options.recompute!r} needs mode graph (PyNative would update BatchNorm's moving "
            f"statistics twice); use --mode graph or --recompute none"
        )
    try:
        with cloud_sync(config, world) as mirror:
            check_dataset(options.mr_path, options.model.num_classes)
            find_shards(options.mr_path, "train")  # no dataset at all is named as such, not by its tag list
            tags = read_tag_list(f"{options.mr_path}/{TAGS_FILE}")
            if len(tags) != options.model.num_classes:
                raise UserError(
                    f"{options.mr_path}/{TAGS_FILE} lists {len(tags)} tags, num_classes={options.model.num_classes}"
                )
            state = train(options, tags, world, mirror, config.to_dict())
    except KeyboardInterrupt:
        log.warning("interrupted; rerun the same command with --resume True to continue from the last checkpoint")
        return EXIT_INTERRUPTED
    best = f"best val ROC-AUC {state.best_auc:.4f} at epoch {state.best_epoch}" if state.best_epoch else "no val split"
    if state.stopped_early:
        best += f", stopped early (patience {options.schedule.patience})"
    log.info(
        "done: %d epochs, %d steps, %s; checkpoints in %s",
        state.epoch,
        state.global_step,
        best,
        options.checkpoint_path,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: train on MindRecord shards", cloud_sync=False)


if __name__ == "__main__":
    sys.exit(main())
