"""Rebuild the network a checkpoint was trained with, for eval, export, tagging and fine-tuning.

A checkpoint's shape comes from the run info it carries, else from model_params.json beside it,
else from its weights (exact for channels and classes; pools only for the reference widths), so
a checkpoint moved away from its run folder is never rebuilt with guessed pools.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from src.core.errors import UserError
from src.core.file_names import MODEL_PARAMS_FILE, best_checkpoint
from src.model import checkpoint
from src.model.pretrained import ZOO_TAGS, is_zoo, resolve
from src.musictagger import ModelParams, build_network, load_model_params

if TYPE_CHECKING:
    import mindspore.nn as nn

log = logging.getLogger("fcn4")

REFERENCE = ModelParams()  # the published FCN-4: its widths imply its pools


def checkpoint_file(
    checkpoint_path: str | Path, ckpt_file: str = "", model_name: str = "", prefix: str = "MusicTagger"
) -> Path:
    """The checkpoint a run asks for: ckpt_file (a path, or `zoo`: the model zoo's trained FCN-4, downloaded
    once), else checkpoint_path/model_name, else checkpoint_path/PREFIX-best.ckpt (the model zoo picks
    checkpoint_path/model_name too)."""
    if ckpt_file:
        return resolve(ckpt_file)
    return Path(checkpoint_path) / (model_name or best_checkpoint(prefix))


def load_network(path: str | Path) -> nn.Cell:
    """An inference-mode network with the checkpoint's weights, shaped as `checkpoint_model_params` says
    (never from the config: a guessed shape rebuilt moved checkpoints wrongly)."""
    return load_checkpoint_network(path)[0]


def load_checkpoint_network(path: str | Path) -> tuple[nn.Cell, list[str] | None]:
    """An inference-mode network with the checkpoint's weights, and the tag names the checkpoint records
    (the reference's 50 for the model zoo's; None for another saved without run info)."""
    path = Path(path)
    params = checkpoint.read(path)
    info = checkpoint.run_info(params, path)
    model = checkpoint_model_params(path, params, info)
    network = build_network(model)
    checkpoint.load_into(network, path, params)
    network.set_train(False)
    log.info("loaded %s (channels %s, %d tags)", path, list(model.channels), model.num_classes)
    tags = None if info is None else _recorded_tags(info, path, model.num_classes)
    return network, _zoo_tags(path, model.num_classes) if tags is None else tags


def checkpoint_model_params(path: Path, params: dict, info: dict | None) -> ModelParams:
    """The network a checkpoint holds: its run info (`info`), else model_params.json beside it, else its weights."""
    if info is None:
        return load_model_params(path.parent) or _params_from_weights(path, params)
    try:
        recorded = ModelParams.from_dict(info.get("model"))
    except (UserError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"checkpoint {path}: the network shape it records is not valid ({exc})") from None
    _warn_if_other_params(path, recorded)
    return recorded


def _warn_if_other_params(path: Path, recorded: ModelParams) -> None:
    """One warning when model_params.json beside the checkpoint describes another network (the checkpoint wins)."""
    beside = path.parent / MODEL_PARAMS_FILE
    try:
        saved = load_model_params(path.parent)
    except UserError as exc:
        log.warning("%s; using the network shape %s records", exc, path)
        return
    if saved is not None and saved != recorded:
        log.warning(
            "%s describes %s, but %s records %s; using the checkpoint's",
            beside,
            saved.to_dict(),
            path,
            recorded.to_dict(),
        )


def _params_from_weights(path: Path, params: dict) -> ModelParams:
    """The shape of a checkpoint without run info or model_params.json (older runs, the model zoo's):
    channels and classes from its weights; the pools only when the widths are the reference FCN-4's."""
    convs = [checkpoint.parameter_shape(params, f"conv{i}.weight", path) for i in range(1, 5)]
    dense = checkpoint.parameter_shape(params, "dense.weight", path)
    if any(len(shape) != 4 for shape in convs) or len(dense) != 2:
        raise UserError(f"checkpoint {path}: conv/dense weights of shapes {[*convs, dense]} are not an FCN-4's")
    channels = (convs[0][1], *(shape[0] for shape in convs))
    if channels != REFERENCE.channels:
        raise UserError(
            f"checkpoint {path} records no network shape and {path.parent / MODEL_PARAMS_FILE} is missing; its "
            f"channels {list(channels)} are not the reference FCN-4's, so its pools cannot be known: put the "
            f"run's {MODEL_PARAMS_FILE} beside it"
        )
    log.info(
        "%s records no network shape and has no %s beside it; its widths are the reference FCN-4's, so it is "
        "built with the reference pools %s",
        path,
        MODEL_PARAMS_FILE,
        [list(p) for p in REFERENCE.pools],
    )
    return ModelParams(channels=channels, num_classes=dense[0], kernel_size=convs[0][2])


def _zoo_tags(path: Path, num_classes: int) -> list[str] | None:
    """The reference tag names for the cached model zoo checkpoint (which records none), else None."""
    if not is_zoo(path):
        return None
    if num_classes != len(ZOO_TAGS):
        raise UserError(f"checkpoint {path}: predicts {num_classes} tags, the model zoo's FCN-4 {len(ZOO_TAGS)}")
    return list(ZOO_TAGS)


def _recorded_tags(info: dict, path: Path, num_classes: int) -> list[str] | None:
    """The tag names in a checkpoint's run info (None when it has none), checked to name each output once."""
    tags = info.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(t, str) and t and "\n" not in t for t in tags):
        raise UserError(f"checkpoint {path}: the tag list it records is not a list of tag names")
    if len(set(tags)) != len(tags):
        raise UserError(f"checkpoint {path}: the tag list it records names a tag twice")
    if len(tags) != num_classes:
        raise UserError(f"checkpoint {path}: the tag list it records names {len(tags)} tags, it predicts {num_classes}")
    return tags
