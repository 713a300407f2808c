"""Export an FCN-4 checkpoint to MINDIR (default), ONNX or AIR with input [B, 1, 96, 1366].

    python export.py --ckpt_file ./checkpoints/MusicTagger-best.ckpt --file_name fcn-4 --file_format MINDIR
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from src.entry import run_entry
from src.errors import UserError
from src.model_loading import load_network
from src.runtime import setup_runtime

log = logging.getLogger("fcn4")

SUFFIX = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}


def run(config) -> int:
    import mindspore as ms

    device = setup_runtime(config)
    if config.file_format == "AIR" and device != "Ascend":
        raise UserError(f"file_format=AIR can only be produced on Ascend (this run uses {device}); use MINDIR")
    network, ckpt = load_network(config)
    dummy = ms.Tensor(np.zeros((config.export_batch_size, *network.params.input_shape), np.float32))
    ms.export(network, dummy, file_name=config.file_name, file_format=config.file_format)
    path = Path(config.file_name + SUFFIX[config.file_format])
    log.info("exported %s -> %s (%.1f MiB, input %s)", ckpt, path, path.stat().st_size / 2**20,
             list(dummy.shape))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: export a checkpoint")


if __name__ == "__main__":
    sys.exit(main())
