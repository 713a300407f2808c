"""Helpers of the export / 310 / tagging tests: real checkpoints of a given shape, tag lists, audio files.

Weights are random, but every BatchNorm gets random statistics and affine terms, so that an
export that mishandles BatchNorm (folding, inference mode) shows up in the outputs.
"""

from pathlib import Path

import numpy as np
import soundfile as sf

from src.core.tag_list import write_tag_list
from src.features import FEATURE_SHAPE
from src.model import checkpoint
from src.musictagger import ModelParams, MusicTaggerCNN

NARROW_CHANNELS = (1, 4, 8, 8, 16)  # the FCN-4 topology at a width that trains in seconds


def random_network(channels, num_classes: int = 50, seed: int = 0) -> MusicTaggerCNN:
    """An inference-mode FCN-4 with random weights and random BatchNorm statistics (MindSpore set up)."""
    import mindspore as ms

    ms.set_seed(seed)
    network = MusicTaggerCNN(ModelParams(channels=tuple(channels), num_classes=num_classes))
    rng = np.random.default_rng(seed)
    for param in network.get_parameters():
        name, shape = param.name, param.shape
        if name.endswith("moving_mean") or name.endswith("beta"):
            param.set_data(ms.Tensor(rng.normal(0.0, 0.3, shape).astype(np.float32)))
        elif name.endswith("moving_variance") or name.endswith("gamma"):
            param.set_data(ms.Tensor(rng.uniform(0.5, 2.0, shape).astype(np.float32)))
    network.set_train(False)
    return network


def save_checkpoint(network: MusicTaggerCNN, folder: Path, with_params: bool = True) -> Path:
    """folder/MusicTagger-best.ckpt (+ model_params.json unless with_params is False)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = checkpoint.save(network, folder / "MusicTagger-best.ckpt")
    if with_params:
        network.params.save(folder)
    return path


def write_tags(path: Path, count: int) -> list[str]:
    tags = [f"tag {i}" for i in range(count)]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_tag_list(path, tags)
    return tags


def feature_batch(size: int, seed: int) -> np.ndarray:
    """(size, 1, 96, 1366) float32 on the scale of real log-mel features (dB)."""
    return np.random.default_rng(seed).normal(-30.0, 20.0, size=(size, *FEATURE_SHAPE)).astype(np.float32)


def write_tone(path: Path, seconds: float, sample_rate: int, channels: int = 1, seed: int = 0) -> Path:
    """A noisy chord of `seconds` at `sample_rate` in the format of path's suffix (wav, flac, ogg, mp3)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    freqs = rng.uniform(110.0, 880.0, 3)
    mono = sum(np.sin(2 * np.pi * f * t) for f in freqs) / 4 + rng.normal(0.0, 0.02, t.size)
    mono *= 0.5 + 0.5 * np.sin(2 * np.pi * t / max(seconds, 1.0))  # loudness changes over time
    data = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data.astype(np.float32), sample_rate)
    return path
