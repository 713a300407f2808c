"""FCN-4 music auto-tagger (MusicTaggerCNN).

Choi, Fazekas and Sandler, "Automatic tagging using deep convolutional neural networks",
ISMIR 2016 (arXiv:1606.00298). Same topology as the MindSpore model-zoo recipe, so its
checkpoints load: parameter names and shapes match the reference network.

MODELS is the one table of architectures: a run folder's model_params.json names its `arch`,
and build_network() builds it, for training and for every loader alike.

May import: core, features
"""

from __future__ import annotations

import json
import operator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import mindspore.nn as nn
import mindspore.ops as ops

from src.core.errors import UserError
from src.core.file_names import MODEL_PARAMS_FILE
from src.core.fileio import atomic_write_json
from src.features import N_FRAMES, N_MELS

DEFAULT_ARCH = "fcn4"


@dataclass(frozen=True)
class ModelParams:
    """The small set of numbers that defines one network: its architecture (a key of MODELS) and shape.

    Kept apart from the global config so that eval/export rebuild exactly the network a
    checkpoint was trained with (it is saved next to the checkpoints).
    """

    arch: str = DEFAULT_ARCH
    channels: tuple[int, ...] = (1, 128, 384, 768, 2048)
    pools: tuple[tuple[int, int], ...] = ((2, 4), (4, 5), (3, 8))
    num_classes: int = 50
    n_mels: int = N_MELS
    n_frames: int = N_FRAMES
    kernel_size: int = 3

    def __post_init__(self) -> None:
        _check_arch(self.arch)
        channels = list(self.channels)
        if len(channels) != 5:
            raise UserError(f"channels={channels}: FCN-4 needs 5 entries (input + 4 blocks)")
        object.__setattr__(self, "channels", _sizes("channels", channels, channels))
        if self.channels[0] != 1:
            raise UserError(f"channels={channels}: the first entry (input channels) must be 1, one log-mel spectrogram")
        pools = [list(p) if isinstance(p, list | tuple) else p for p in self.pools]
        if len(pools) != 3 or any(not isinstance(p, list) or len(p) != 2 for p in pools):
            raise UserError(f"pools={pools}: FCN-4 needs 3 [freq, time] pairs")
        object.__setattr__(self, "pools", tuple(_sizes("pools", pool, pools) for pool in pools))
        _check_feature_map(self.pools, self.n_mels, self.n_frames)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.channels[0], self.n_mels, self.n_frames)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["channels"] = list(self.channels)
        data["pools"] = [list(p) for p in self.pools]
        return data

    def save(self, directory: str | Path) -> Path:
        return atomic_write_json(Path(directory) / MODEL_PARAMS_FILE, self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> ModelParams:
        """Params from a saved dict; a file written before `arch` existed is an FCN-4."""
        known = {field.name for field in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def load_model_params(directory: str | Path) -> ModelParams | None:
    """The params saved by a training run in `directory`, or None if it saved none."""
    path = Path(directory) / MODEL_PARAMS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        arch = data.get("arch", DEFAULT_ARCH)
    except (ValueError, AttributeError) as exc:
        raise UserError(f"{path}: not a valid model parameter file ({exc})") from None
    _check_arch(arch, f"{path}: ")
    try:
        return ModelParams.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path}: not a valid model parameter file ({exc})") from None


class MusicTaggerCNN(nn.Cell):
    """FCN-4: four Conv(3x3, same, no bias) -> BatchNorm -> ReLU blocks, max pooling after
    the first three, a global max over frequency and time, then Dense + sigmoid.

    Parameter names (conv1..4, bn1..4, dense) are the model-zoo ones so its checkpoints load.
    Inputs: (N, 1, n_mels, n_frames) float32 log-mel spectrograms (src/features.py FEATURE_SHAPE by default).
    Outputs: (N, num_classes) float32 per-tag probabilities; `embed` gives the (N, channels[4]) vector before them.
    """

    def __init__(self, params: ModelParams | None = None) -> None:
        super().__init__()
        params = params or ModelParams()
        self.params = params
        c, k = params.channels, params.kernel_size
        self.conv1 = nn.Conv2d(c[0], c[1], k, pad_mode="same", has_bias=False)
        self.conv2 = nn.Conv2d(c[1], c[2], k, pad_mode="same", has_bias=False)
        self.conv3 = nn.Conv2d(c[2], c[3], k, pad_mode="same", has_bias=False)
        self.conv4 = nn.Conv2d(c[3], c[4], k, pad_mode="same", has_bias=False)
        self.bn1 = nn.BatchNorm2d(c[1])
        self.bn2 = nn.BatchNorm2d(c[2])
        self.bn3 = nn.BatchNorm2d(c[3])
        self.bn4 = nn.BatchNorm2d(c[4])
        self.pool1 = nn.MaxPool2d(kernel_size=params.pools[0], stride=params.pools[0])
        self.pool2 = nn.MaxPool2d(kernel_size=params.pools[1], stride=params.pools[1])
        self.pool3 = nn.MaxPool2d(kernel_size=params.pools[2], stride=params.pools[2])
        self.relu = nn.ReLU()
        self.reduce_max = ops.ReduceMax(keep_dims=False)
        self.dense = nn.Dense(c[4], params.num_classes)
        self.sigmoid = nn.Sigmoid()

    def construct(self, x):
        return self.classify(self.embed(x))

    def classify(self, embedding):
        """Per-tag probabilities of embeddings: (N, channels[4]) -> (N, num_classes) float32."""
        return self.sigmoid(self.dense(embedding))

    def embed(self, x):
        """The embedding the dense layer classifies: (N, 1, n_mels, n_frames) -> (N, channels[4]) float32,
        the global max over frequency and time of block 4 (2048-d for the reference widths).

        Blocks 1-3 pool before the ReLU: max and ReLU commute exactly (outputs and gradients alike), and the
        ReLU then runs on the 8x-24x smaller pooled map, so training keeps no full-size ReLU output for backward."""
        x = self.relu(self.pool1(self.bn1(self.conv1(x))))
        x = self.relu(self.pool2(self.bn2(self.conv2(x))))
        x = self.relu(self.pool3(self.bn3(self.conv3(x))))
        x = self.relu(self.bn4(self.conv4(x)))
        return self.reduce_max(x, (2, 3))

    def recompute_blocks(self, blocks: tuple[int, ...]) -> None:
        """Recompute the conv, BatchNorm and pooling of `blocks` (1-based) in the backward pass instead of
        keeping their outputs; parameters and outputs unchanged in graph mode only (PyNative updates BatchNorm's
        moving statistics again when it recomputes). The shared ReLU is kept."""
        for block in blocks:
            for name in (f"conv{block}", f"bn{block}", f"pool{block}"):
                if hasattr(self, name):
                    getattr(self, name).recompute()


MODELS: dict[str, type[nn.Cell]] = {DEFAULT_ARCH: MusicTaggerCNN}


def build_network(params: ModelParams) -> nn.Cell:
    """The untrained network `params` describe (its arch looked up in MODELS)."""
    return MODELS[params.arch](params)


def _sizes(key: str, values: list, shown: list) -> tuple[int, ...]:
    """`values` as ints, each a whole number >= 1; UserError naming `key` = `shown` otherwise."""
    try:
        sizes = tuple(operator.index(v) for v in values)
    except TypeError:
        raise UserError(f"{key}={shown}: every entry must be a whole number") from None
    if min(sizes) < 1:
        raise UserError(f"{key}={shown}: every entry must be >= 1 (got {min(sizes)})")
    return sizes


def _check_feature_map(pools: tuple[tuple[int, int], ...], n_mels: int, n_frames: int) -> None:
    """UserError when a max pool (kernel = stride, so floor division) empties the feature map before block 4."""
    height, width = n_mels, n_frames
    for index, (pool_f, pool_t) in enumerate(pools):
        pooled = (height // pool_f, width // pool_t)
        if min(pooled) < 1:
            raise UserError(
                f"pools={[list(p) for p in pools]}: pool {index + 1} {[pool_f, pool_t]} shrinks the "
                f"{height}x{width} feature map to {pooled[0]}x{pooled[1]} (input {n_mels}x{n_frames}); "
                f"every pooled size must stay >= 1"
            )
        height, width = pooled


def _check_arch(arch: str, where: str = "") -> None:
    if arch not in MODELS:
        raise UserError(f"{where}arch={arch!r} is not a known model architecture; known: {sorted(MODELS)}")


def count_trainable_parameters(network: nn.Cell) -> int:
    return sum(int(p.size) for p in network.trainable_params())
