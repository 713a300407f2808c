"""Start a training run from another run's checkpoint, also for a new tag set.

The convolutional body (conv1..4, bn1..4 with their moving statistics) is what transfers; the
classifier only when it predicts this run's tags. A checkpoint trained on other tags (another
width, other names or order) keeps its body, and the run's freshly initialised classifier (seeded
by `seed`, as any new network) learns the new tags.
"""

from __future__ import annotations

import logging
from pathlib import Path

from src.core.errors import UserError
from src.model import checkpoint
from src.model.pretrained import ZOO_TAGS, is_zoo

log = logging.getLogger("fcn4")

CLASSIFIER_PREFIX = "dense."  # the parameters of FCN-4's classifier: dense.weight (C, 2048), dense.bias (C,)


def load_pretrained(network, path: str | Path, tags: list[str], known_tags: list[str] | None = None) -> str:
    """Load the body of checkpoint `path` into `network` (and its classifier when it predicts `tags`,
    in that order); returns one line saying what was loaded and what was re-initialised.

    known_tags: the tag names of a checkpoint that records none (default: the reference's 50 for the cached
    model zoo checkpoint); a checkpoint without names, and none known, keeps a classifier of the right width.

    UserError naming both shapes when a body parameter differs (other channels or kernel size).
    """
    import mindspore as ms

    params = checkpoint.read(path)
    info = checkpoint.run_info(params, path)
    if known_tags is None and is_zoo(path):
        known_tags = ZOO_TAGS
    source_tags = known_tags if info is None else info.get("tags")
    body = [p for p in network.get_parameters() if not p.name.startswith(CLASSIFIER_PREFIX)]
    head = [p for p in network.get_parameters() if p.name.startswith(CLASSIFIER_PREFIX)]
    for param in body:
        got = checkpoint.parameter_shape(params, param.name, path)
        if got != tuple(param.shape):
            raise UserError(
                f"pre_trained: checkpoint {path} has '{param.name}' of shape {got}, this run's network has "
                f"{tuple(param.shape)}; fine-tuning needs the same channels (only the classifier may differ)"
            )
    head_fits = all(_shape(params, p.name) == tuple(p.shape) for p in head)
    same_tags = source_tags is None or list(source_tags) == list(tags)
    loaded = body + head if head_fits and same_tags else body
    for param in loaded:
        param.set_data(ms.Tensor(params[param.name].asnumpy()))
    return _describe(len(tags), _shape(params, head[0].name), head_fits, same_tags, source_tags is None)


def _shape(params: dict, name: str) -> tuple[int, ...] | None:
    value = params.get(name)
    return tuple(value.shape) if hasattr(value, "shape") else None


def _describe(num_tags: int, source_head: tuple | None, head_fits: bool, same_tags: bool, unnamed: bool) -> str:
    """The log line of load_pretrained."""
    body = "conv1..4 and bn1..4 (weights and moving statistics)"
    if head_fits and same_tags:
        whose = "the checkpoint names no tags, taken as this run's" if unnamed else "the same tags"
        return f"loaded {body} and the classifier ({num_tags} tags; {whose})"
    source = f"{source_head[0]} outputs in the checkpoint" if source_head else "no classifier in the checkpoint"
    why = "other tags" if head_fits else source
    return f"loaded {body}; the classifier is re-initialised for this run's {num_tags} tags ({why})"
