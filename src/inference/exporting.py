"""Export a loaded FCN-4 to MINDIR / ONNX / AIR / LITE, and prove the file computes what the checkpoint does.

The model takes log-mel features, or for input kind "waveform" raw 12 kHz samples: the log-mel front
end (src.model.frontend.LogMelFrontEnd) then runs inside the exported graph. It has two outputs: output 0 the
probabilities (what the 310 protocol reads), output 1 the embedding before the dense layer
(src.inference.with_embedding); both are checked.
The kinds and their input shapes are src.inference.backends.INPUT_SHAPES; the ONNX input is named
after its kind. The file is written under a temporary name, loaded back by its format's backend
(MindIR through MindSpore, ONNX through ONNX Runtime), run on a random batch of its input kind and
compared, output by output, with the MindSpore cell it was exported from; only a file within the format's tolerance is
moved to its final name. A format without a backend here (AIR, compiled for Ascend by ATC) is
exported unverified. Suffixes, tolerances and backends are src.inference.formats.EXPORT_FORMATS.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.core.errors import UserError
from src.core.fileio import check_writable_dir
from src.features import FEATURE_SHAPE, SAMPLE_RATE
from src.inference.backends import INPUT_SHAPES
from src.inference.formats import EXPORT_FORMATS

EMBEDDING_OUTPUT = "embedding"  # output 1; output 0 is OUTPUT_NAME

log = logging.getLogger("fcn4")

OUTPUT_NAME = "probabilities"
CHECK_SEED = 0
# Random log-mel input on the scale of the features (dB of a power mel spectrogram, top_db 80).
CHECK_MEAN_DB, CHECK_STD_DB = -30.0, 20.0
# Random waveform input like music at 12 kHz: a chord of CHECK_TONES tones (Hz range), noise, a slow swell.
CHECK_TONES, CHECK_TONE_HZ, CHECK_NOISE = 3, (60.0, 4000.0), 0.02
# mindspore.export and mindspore.onnx.export refuse any file name with another character (MindSpore 2.10,
# _checkparam.check_file_name_by_regular); the longest file name and path Linux file systems take.
MINDSPORE_FILE_NAME = re.compile(r"[0-9a-zA-Z@_\-.:/\\]+")
MAX_NAME_BYTES, MAX_PATH_BYTES = 255, 4095


@dataclass
class ExportReport:
    path: Path
    input_shape: tuple[int, ...]
    # Per output (probabilities, embedding): (max |exported - checkpoint|, max |checkpoint|) on the check batch;
    # None: not verified (a format without a backend here, AIR).
    differences: dict[str, tuple[float, float]] | None

    def describe(self) -> str:
        """`probabilities 3.3e-06, embedding 8.4e-05 (values up to 52)`: what export.py prints."""
        parts = [
            f"{name} {diff:.2g}" + (f" (values up to {scale:.3g})" if scale > 1 else "")
            for name, (diff, scale) in (self.differences or {}).items()
        ]
        return ", ".join(parts)


def relative_difference(diff: float, scale: float) -> float:
    """What a format's tolerance bounds: the difference relative to the output's largest value, or absolute
    below 1 (probabilities); float32 kernels that add in another order differ by a share of the values."""
    return diff / max(1.0, scale)


def check_export_target(file_name: str, file_format: str) -> Path:
    """The file export_model will write, refused in one line before any work when MindSpore would
    refuse its name (characters, a trailing separator, length) or its folder cannot be written."""
    if not file_name or file_name.endswith(("/", "\\")):
        raise UserError(f"file_name={file_name!r}: expected a file name without extension, not a folder")
    if MINDSPORE_FILE_NAME.fullmatch(file_name) is None:
        bad = "".join(sorted({c for c in file_name if MINDSPORE_FILE_NAME.fullmatch(c) is None}))
        raise UserError(
            f"file_name={file_name!r}: MindSpore's export accepts only letters, digits and @ _ - . : / \\ "
            f"in the path, not {bad!r}"
        )
    final, tmp = _export_paths(file_name, file_format)
    name_bytes, tmp_bytes = len(os.fsencode(final.name)), len(os.fsencode(tmp.name))
    if tmp_bytes > MAX_NAME_BYTES:
        raise UserError(
            f"file_name={file_name!r}: the file name is too long ({name_bytes} bytes with {final.suffix}; at most "
            f"{MAX_NAME_BYTES - tmp_bytes + name_bytes}, as it is first written under a longer temporary name)"
        )
    if len(os.fsencode(os.path.abspath(tmp))) > MAX_PATH_BYTES:
        raise UserError(f"file_name={file_name!r}: the path is too long (at most {MAX_PATH_BYTES} bytes)")
    if final.is_dir():
        raise UserError(f"file_name={file_name!r}: {final} is a folder")
    check_writable_dir(final.parent, "file_name")
    return final


def _export_paths(file_name: str, file_format: str) -> tuple[Path, Path]:
    """The exported file and the temporary name it is written under until checked."""
    final = Path(file_name + EXPORT_FORMATS[file_format].suffix)
    return final, final.with_name(f".{final.stem}.{os.getpid()}.partial{final.suffix}")


def export_model(
    network, file_name: str, file_format: str, batch_size: int, input_kind: str = "logmel", any_batch: bool = False
) -> ExportReport:
    """Write `file_name + suffix` from an inference-mode log-mel network; the model takes
    (batch_size, *INPUT_SHAPES[input_kind]) float32 (input kind "waveform": the front end is put before it), or
    with `any_batch` (ONNX) any number of inputs, checked on batch_size of them."""
    import mindspore as ms

    fmt = EXPORT_FORMATS[file_format]
    final, tmp = _export_paths(file_name, file_format)
    final.parent.mkdir(parents=True, exist_ok=True)
    network, input_shape = _exported_cell(network, input_kind)
    check = CHECK_BATCHES[input_kind](np.random.default_rng(CHECK_SEED), (batch_size, *input_shape))
    try:
        if file_format in ("ONNX", "LITE"):  # LITE: MindSpore Lite converts the ONNX export
            import mindspore.onnx

            mindspore.onnx.export(
                network,
                ms.Tensor(check),
                file_name=str(tmp.with_suffix(".onnx")),
                input_names=[input_kind],
                output_names=[OUTPUT_NAME, EMBEDDING_OUTPUT],
                dynamic_axes={input_kind: {0: "batch"}} if any_batch else None,
            )
            if file_format == "LITE":
                from src.inference.lite_app import convert_onnx

                convert_onnx(tmp.with_suffix(".onnx"), tmp)
        else:
            ms.export(network, ms.Tensor(check), file_name=str(tmp), file_format=file_format)
        diff = None if fmt.backend is None else _verify(network, tmp, file_format, check)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_suffix(".onnx").unlink(missing_ok=True)
    return ExportReport(final, check.shape, diff)


def _exported_cell(network, input_kind: str) -> tuple:
    """(the two-output cell to export, the shape of one of its inputs): the log-mel network, or for "waveform"
    the front end and the network, which must then take the front end's FEATURE_SHAPE features."""
    from src.inference.with_embedding import TagsAndEmbedding

    if input_kind == "logmel":
        cell = TagsAndEmbedding(network)
        cell.set_train(False)
        return cell, network.params.input_shape
    if network.params.input_shape != FEATURE_SHAPE:
        raise UserError(
            f"export_input={input_kind}: the log-mel front end makes features of shape {list(FEATURE_SHAPE)}, "
            f"this network takes {list(network.params.input_shape)}"
        )
    from src.model.frontend import LogMelFrontEnd

    cell = TagsAndEmbedding(network, LogMelFrontEnd())
    cell.set_train(False)
    return cell, INPUT_SHAPES[input_kind]


def _feature_batch(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Log-mel-like dB values, `shape` float32."""
    return rng.normal(CHECK_MEAN_DB, CHECK_STD_DB, size=shape).astype(np.float32)


def _waveform_batch(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """(B, samples) float32 in [-1, 1]: per clip a chord of random tones plus noise, swelling and fading."""
    t = np.arange(shape[1]) / SAMPLE_RATE
    freqs = rng.uniform(*CHECK_TONE_HZ, size=(shape[0], CHECK_TONES, 1))
    chord = np.sin(2 * np.pi * freqs * t).mean(axis=1) + rng.normal(0.0, CHECK_NOISE, shape)
    swell = 0.5 + 0.5 * np.sin(2 * np.pi * t / t[-1])
    return (0.5 * chord * swell).astype(np.float32)


CHECK_BATCHES = {"logmel": _feature_batch, "waveform": _waveform_batch}  # input kind -> random batch of that input


def _verify(network, path: Path, file_format: str, batch: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per output (probabilities, embedding): (max |exported - network|, max |network|) on `batch`; UserError
    when the difference relative to the output's scale (relative_difference) exceeds the format's tolerance."""
    import mindspore as ms

    fmt = EXPORT_FORMATS[file_format]
    expected = [output.asnumpy() for output in network(ms.Tensor(batch))]
    backend = fmt.backend(path)
    try:
        got = backend.run(batch)
    finally:
        backend.close()
    differences = {}
    for name, mine, theirs in zip((OUTPUT_NAME, EMBEDDING_OUTPUT), got, expected, strict=True):
        if mine is None or mine.shape != theirs.shape:
            shape = None if mine is None else mine.shape
            raise UserError(f"exported {file_format} gives {name} of shape {shape}, the network {theirs.shape}")
        differences[name] = (float(np.abs(mine - theirs).max()), float(np.abs(theirs).max()))
        worst = relative_difference(*differences[name])
        if not worst <= fmt.tolerance:
            raise UserError(
                f"exported {file_format} differs from the checkpoint network by {worst:.3g} on its {name} "
                f"(tolerance {fmt.tolerance:g} of max(1, |value|)); nothing written"
            )
    return differences
