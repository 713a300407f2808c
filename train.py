"""Train FCN-4 with the model-zoo recipe (Adam, BCE, fixed loss scale 1024).

    python train.py --mr_path ./data/mindrecord --checkpoint_path ./checkpoints
"""

from __future__ import annotations

import logging
import sys

from src.annotations import read_tag_list

from src.entry import run_entry
from src.errors import UserError
from src.model_utils.config import save_config
from src.preprocessing import TAGS_FILE
from src.runtime import setup_runtime
from src.trainer import Trainer

log = logging.getLogger("fcn4")


def run(config) -> int:
    tags = read_tag_list(f"{config.mr_path}/{TAGS_FILE}")
    if len(tags) != config.num_classes:
        raise UserError(f"{config.mr_path}/{TAGS_FILE} lists {len(tags)} tags, num_classes={config.num_classes}")
    setup_runtime(config)
    trainer = Trainer(config, tags)
    save_config(config, config.checkpoint_path)
    trainer.start()
    state = trainer.fit()
    best = f"best val ROC-AUC {state.best_auc:.4f} at epoch {state.best_epoch}" if state.best_epoch else "no val split"
    log.info("done: %d epochs, %d steps, %s; checkpoints in %s", state.epoch, state.global_step, best,
             config.checkpoint_path)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: train on MindRecord shards")


if __name__ == "__main__":
    sys.exit(main())
