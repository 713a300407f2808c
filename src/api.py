"""The Python API: load a trained FCN-4, tag audio files or waveform arrays, score log-mel batches, evaluate.

    import fcn4                                    # the installed package; from a checkout: from src import api as fcn4
    model = fcn4.load_model("checkpoints/MusicTagger-best.ckpt")   # or an exported .mindir / .onnx
    result = model.tag("song.mp3", top_k=5)
    result.top                                     # [("guitar", 0.91), ("rock", 0.77), ...]
    result.taggram                                 # (windows, tags) probabilities, one row per 29.12 s window

It runs in whichever MindSpore execution mode the caller set (`mindspore.set_context(mode=...)`),
PyNative (MindSpore's default) or graph; it never sets the mode itself. Importing this module
imports no MindSpore and sets nothing up; `load_model` sets the device for .ckpt and .mindir
files only, and ONNX files run through ONNX Runtime without MindSpore. Everything here is built
on the command-line tools' own modules (src.inference, src.features, src.evaluation.metrics), so the API
tags exactly as tag.py does and scores exactly as eval.py does.

May import: core, features, model, evaluation, inference
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from src.core.errors import UserError
from src.features import CLIP_SECONDS
from src.inference.backends import Backend, predict_all, run_all
from src.inference.tag_report import top_tags
from src.inference.tagging import Track

AGGREGATES = ("mean", "max")


@dataclass(frozen=True, eq=False)
class TagResult:
    """The tags of one track. `tags` are the model's tag names in label order (C of them).

    taggram: (windows, C) float32 probabilities in [0, 1], one row per 29.12 s window.
    window_starts_s: (windows,) float64, each window's start in seconds from the track's start.
    duration_s: the track's length in seconds (after decoding / resampling to 12 kHz).
    aggregate: how the windows make the track's probabilities ("mean" or "max" over windows).
    top: the top_k (tag, probability) pairs by that aggregate, most probable first.
    path: the file tagged (None for a waveform array).
    """

    tags: list[str]
    taggram: np.ndarray
    window_starts_s: np.ndarray
    duration_s: float
    aggregate: str
    top: list[tuple[str, float]]
    path: Path | None = None

    @property
    def probabilities(self) -> dict[str, float]:
        """Every tag's track-level probability (the `aggregate` over windows), in label order."""
        return dict(zip(self.tags, map(float, self._track().aggregate(self.aggregate)), strict=True))

    @property
    def mean(self) -> np.ndarray:
        """(C,) float32: each tag's mean probability over the windows."""
        return self._track().aggregate("mean")

    @property
    def max(self) -> np.ndarray:
        """(C,) float32: each tag's highest probability in any window."""
        return self._track().aggregate("max")

    def _track(self) -> Track:
        return Track(self.path, self.duration_s, self.window_starts_s, scores=self.taggram)


@dataclass(frozen=True, eq=False)
class Embeddings:
    """The embeddings of one track (what the dense layer classifies; D = 2048 for the full-size FCN-4).

    windows: (windows, D) float32, one row per 29.12 s window, cut as Model.tag cuts them.
    mean: (D,) float32, their mean. window_starts_s: (windows,) seconds. duration_s, path: as in TagResult.
    """

    windows: np.ndarray
    mean: np.ndarray
    window_starts_s: np.ndarray
    duration_s: float
    path: Path | None = None


class Model:
    """A loaded FCN-4 (from `load_model`): its tag names and what it predicts.

    tags: the C tag names, label 0 first. input_kind: "logmel" (features (1, 96, 1366)) or "waveform"
    (an export with the log-mel front end inside: (349440,) samples at 12 kHz). kind: the runtime's file kind,
    "checkpoint", "MindIR", "ONNX" or "MindSpore Lite".
    """

    def __init__(self, backend: Backend, tags: list[str]) -> None:
        self.backend = backend
        self.tags = list(tags)

    @property
    def kind(self) -> str:
        return self.backend.kind

    @property
    def input_kind(self) -> str:
        return self.backend.input_kind

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One model input without the batch: (1, 96, 1366) log-mel, or (349440,) samples for a waveform model."""
        return self.backend.input_shape

    def __repr__(self) -> str:
        return f"Model({self.backend.describe()})"

    def close(self) -> None:
        """Release the runtime (a MindSpore Lite model's app process); the model cannot be used afterwards."""
        self.backend.close()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def predict(self, inputs: Any, batch_size: int = 8) -> np.ndarray:
        """Probabilities for a batch of model inputs: (N, *input_shape) float32 -> (N, C) float32 in [0, 1].

        For a log-mel model the inputs are log-mel features (N, 1, 96, 1366) in dB, as src.features.log_mel
        computes them (what preprocess.py stores); a single (1, 96, 1366) input is taken as N = 1. Scored
        `batch_size` at a time (an exported model's own fixed batch wins; its last batch is padded).
        """
        inputs = np.asarray(inputs, dtype=np.float32)
        if inputs.shape == self.input_shape:
            inputs = inputs[np.newaxis]
        if inputs.shape[1:] != self.input_shape:
            raise UserError(
                f"predict expects inputs of shape (N, {', '.join(map(str, self.input_shape))}) for this "
                f"{self.input_kind} model, got {inputs.shape}"
            )
        _check_positive("batch_size", batch_size)
        return predict_all(self.backend, np.ascontiguousarray(inputs), batch_size)

    def tag(
        self,
        audio: str | os.PathLike | np.ndarray,
        sample_rate: int | None = None,
        top_k: int = 5,
        hop_seconds: float = CLIP_SECONDS,
        aggregate: str = "mean",
        batch_size: int = 8,
    ) -> TagResult:
        """Tag one track: an audio file (mp3, wav, flac, ogg; any sample rate and length) or a waveform array.

        audio: a path, or samples as a (samples,) or (channels, samples) array in [-1, 1] at `sample_rate` Hz
        (required for an array; resampled to 12 kHz as files are). Tracks up to 29.12 s are one window (zero
        padded, the training features); longer ones are windows every `hop_seconds` s plus one ending at the
        track's end. `aggregate` ("mean" or "max" over windows) ranks the `top_k` tags, as tag.py does.
        """
        from src.inference.tagging import waveform_track

        _check_positive("top_k", top_k)
        _check_positive("hop_seconds", hop_seconds)
        _check_positive("batch_size", batch_size)
        if aggregate not in AGGREGATES:
            raise UserError(f"aggregate={aggregate!r}: expected one of {list(AGGREGATES)}")
        path = Path(audio) if isinstance(audio, str | os.PathLike) else None
        track = waveform_track(_samples(audio, sample_rate), hop_seconds, self.input_kind, path)
        track.scores = predict_all(self.backend, track.inputs, batch_size).astype(np.float32)
        return TagResult(
            tags=self.tags,
            taggram=track.scores,
            window_starts_s=track.starts_s,
            duration_s=track.duration_s,
            aggregate=aggregate,
            top=top_tags(track, self.tags, top_k, aggregate),
            path=path,
        )

    def embed(
        self,
        audio: str | os.PathLike | np.ndarray,
        sample_rate: int | None = None,
        hop_seconds: float = CLIP_SECONDS,
        batch_size: int = 8,
    ) -> Embeddings:
        """The embeddings of one track (a file or a waveform array, as for `tag`), per window and their mean.

        Raises UserError for an export made before exports carried the embedding (one output).
        """
        from src.inference.backends import require_embeddings
        from src.inference.tagging import waveform_track

        require_embeddings(self.backend, "embed")
        _check_positive("hop_seconds", hop_seconds)
        _check_positive("batch_size", batch_size)
        path = Path(audio) if isinstance(audio, str | os.PathLike) else None
        track = waveform_track(_samples(audio, sample_rate), hop_seconds, self.input_kind, path)
        windows = run_all(self.backend, track.inputs, batch_size)[1]
        return Embeddings(windows, windows.mean(axis=0), track.starts_s, track.duration_s, path)


def load_model(
    path: str | os.PathLike, device: str = "auto", tags_file: str | os.PathLike = "", backend: str = "auto"
) -> Model:
    """Load a checkpoint (.ckpt, as train.py writes), an export (.mindir, .onnx, .mslite), or "zoo" (the model
    zoo's trained FCN-4, downloaded once and verified; src.model.pretrained).

    backend: for a checkpoint, "auto" (the fastest exact runtime installed: on a CPU MindSpore Lite, else ONNX
    Runtime, into which the checkpoint is compiled once, checked and cached; on Ascend or GPU MindSpore), or
    "lite", "onnx", "mindspore"; an export runs on its own format's runtime. device: "auto" (Ascend, else GPU,
    else CPU), "Ascend", "GPU" or "CPU" for what MindSpore runs. Tag names: the checkpoint's own, else
    `tags_file`, else FILE.tags.txt (export.py's) or tags.txt beside the model. Raises src.core.errors.UserError
    (one line) for a file that is not an FCN-4 model of these kinds. `Model.close()` ends a Lite model's app.
    """
    from src.core.tag_list import resolve_tags
    from src.inference.runtimes import open_runtime
    from src.model.pretrained import resolve

    path = resolve(path)  # `zoo`: the model zoo's trained FCN-4, downloaded once into the cache folder
    loaded, _ = open_runtime(path, backend, device)  # mode None: the caller's execution mode is kept
    try:
        tags = resolve_tags(path, loaded.num_classes, tags_file, own=loaded.own_tags)
    except Exception:
        loaded.close()
        raise
    return Model(loaded, tags)


def export(
    checkpoint: str | os.PathLike, file_name: str | os.PathLike, file_format: str = "fastest", batch_size: int = 1
) -> Path:
    """Export a checkpoint (or "zoo") to `file_name` + the format's suffix, checked against it, as export.py does;
    returns the file. file_format: "fastest" (the fastest format this machine runs: LITE when the Lite tools
    are built, else ONNX when onnxruntime is installed, else MINDIR), or MINDIR, ONNX, LITE. Raises UserError."""
    from src.core.runtime import use_device
    from src.inference.exporting import export_model
    from src.inference.runtimes import fastest_format
    from src.model.loading import load_checkpoint_network
    from src.model.pretrained import resolve

    _check_positive("batch_size", batch_size)
    file_format = fastest_format() if file_format == "fastest" else file_format
    if file_format not in ("MINDIR", "ONNX", "LITE"):
        raise UserError(f"file_format={file_format!r}: expected fastest, MINDIR, ONNX or LITE")
    use_device("CPU" if file_format == "LITE" else "auto")
    network, _ = load_checkpoint_network(resolve(checkpoint))
    return export_model(network, str(file_name), file_format, batch_size).path


def log_mel_features(audio: str | os.PathLike | np.ndarray, sample_rate: int | None = None) -> np.ndarray:
    """The training features of one clip: (1, 96, 1366) float32 log-mel in dB, as preprocess.py computes them.

    audio: a file, or a (samples,) / (channels, samples) array at `sample_rate` Hz; decoded / resampled to
    12 kHz and fixed to 29.12 s (zero-padded at the end, or centre-cropped as the reference does).
    """
    from src.features import fix_length, log_mel

    return log_mel(fix_length(_samples(audio, sample_rate)))


def evaluate(labels: Any, scores: Any, tags: list[str]) -> dict[str, Any]:
    """The metrics eval.py reports, for any predictions: labels (N, C) of 0/1 and scores (N, C) probabilities.

    Returns eval.py's JSON summary: macro `roc_auc` and `pr_auc` (exact; scikit-learn's values) over the
    `num_tags_scored` tags that have positives and negatives (None when none has), the model zoo's histogram
    `reference_auc`, `num_samples`, `num_tags`, and `per_tag` ({tag, positives, roc_auc, pr_auc} in the order
    of `tags`). ValueError for shapes that do not match; see src.evaluation.metrics.summarize.
    """
    from src.evaluation.metrics import summarize

    return summarize(labels, scores, list(tags))


def _samples(audio: str | os.PathLike | np.ndarray, sample_rate: int | None) -> np.ndarray:
    """Mono float32 samples at 12 kHz, (samples,), of a file (decoded as preprocessing does) or an array."""
    from src.features import AudioError, load_audio, to_model_rate

    try:
        if isinstance(audio, str | os.PathLike):
            return load_audio(audio)
        if sample_rate is None:
            raise UserError("for a waveform array, pass sample_rate, its sampling rate in Hz")
        return to_model_rate(audio, sample_rate)
    except (AudioError, ValueError) as exc:
        raise UserError(str(exc)) from None


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise UserError(f"{name}={value!r}: must be > 0")
