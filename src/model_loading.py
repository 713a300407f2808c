"""Rebuild the network a checkpoint was trained with, for eval, export, tagging and fine-tuning."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from src import checkpoint
from src.file_names import best_checkpoint
from src.musictagger import ModelParams, build_network, load_model_params

if TYPE_CHECKING:
    import mindspore.nn as nn

log = logging.getLogger("fcn4")


def checkpoint_file(
    checkpoint_path: str | Path, ckpt_file: str = "", model_name: str = "", prefix: str = "MusicTagger"
) -> Path:
    """The checkpoint a run asks for: ckpt_file (a path), else checkpoint_path/model_name, else
    checkpoint_path/PREFIX-best.ckpt (the model zoo picks checkpoint_path/model_name too)."""
    if ckpt_file:
        return Path(ckpt_file)
    return Path(checkpoint_path) / (model_name or best_checkpoint(prefix))


def load_network(path: Path, fallback: ModelParams | None = None) -> nn.Cell:
    """An inference-mode network with the checkpoint's weights.

    The shape comes from model_params.json beside the checkpoint when present (so a narrow
    or re-headed run is rebuilt as trained), else from `fallback` (default: the reference FCN-4).
    """
    params = load_model_params(path.parent) or fallback or ModelParams()
    network = build_network(params)
    checkpoint.load_into(network, path)
    network.set_train(False)
    log.info("loaded %s (channels %s, %d tags)", path, list(params.channels), params.num_classes)
    return network
