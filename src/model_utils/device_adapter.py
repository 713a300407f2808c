"""Pick the id source: ModelArts' environment when enable_modelarts, the local one otherwise."""

from __future__ import annotations

from src.model_utils import local_adapter, moxing_adapter


def adapter(config):
    return moxing_adapter if config.enable_modelarts else local_adapter
