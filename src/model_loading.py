"""Rebuild the network a checkpoint was trained with, for eval, export and inference."""

from __future__ import annotations

import logging
from pathlib import Path

from src import checkpoint
from src.musictagger import ModelParams, MusicTaggerCNN, load_model_params

log = logging.getLogger("fcn4")


def checkpoint_file(config) -> Path:
    """config.ckpt_file, or the best checkpoint of config.checkpoint_path."""
    if config.ckpt_file:
        return Path(config.ckpt_file)
    return Path(config.checkpoint_path) / f"{config.prefix}-best.ckpt"


def load_network(config) -> tuple[MusicTaggerCNN, Path]:
    """An inference-mode network with the checkpoint's weights.

    The shape comes from model_params.json beside the checkpoint when present (so a narrow
    or re-headed run is rebuilt as trained), else from the config.
    """
    path = checkpoint_file(config)
    params = load_model_params(path.parent) or ModelParams.from_config(config)
    network = MusicTaggerCNN(params)
    checkpoint.load_into(network, path)
    network.set_train(False)
    log.info("loaded %s (channels %s, %d tags)", path, list(params.channels), params.num_classes)
    return network, path
