"""Export a loaded FCN-4 to MINDIR / ONNX / AIR, and prove the file computes what the checkpoint does.

The file is written under a temporary name, loaded back by its format's backend (MindIR
through MindSpore, ONNX through ONNX Runtime), run on a random log-mel-like batch and compared
with the network; only a file within the format's tolerance is moved to its final name. A format
without a backend here (AIR, compiled for Ascend by ATC) is exported unverified. Suffixes,
tolerances and backends are src.inference.formats.EXPORT_FORMATS.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.errors import UserError
from src.fileio import check_writable_dir
from src.inference.formats import EXPORT_FORMATS

log = logging.getLogger("fcn4")

INPUT_NAME, OUTPUT_NAME = "logmel", "probabilities"
# Random input on the scale of the features (dB of a power mel spectrogram, top_db 80).
CHECK_MEAN_DB, CHECK_STD_DB, CHECK_SEED = -30.0, 20.0, 0
# mindspore.export and mindspore.onnx.export refuse any file name with another character (MindSpore 2.10,
# _checkparam.check_file_name_by_regular); the longest file name and path Linux file systems take.
MINDSPORE_FILE_NAME = re.compile(r"[0-9a-zA-Z@_\-.:/\\]+")
MAX_NAME_BYTES, MAX_PATH_BYTES = 255, 4095


@dataclass
class ExportReport:
    path: Path
    input_shape: tuple[int, ...]
    max_abs_diff: float | None  # None: not verified (a format without a backend here, AIR)


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


def export_model(network, file_name: str, file_format: str, batch_size: int) -> ExportReport:
    """Write `file_name + suffix` from an inference-mode network with input (batch_size, 1, 96, 1366)."""
    import mindspore as ms

    fmt = EXPORT_FORMATS[file_format]
    final, tmp = _export_paths(file_name, file_format)
    final.parent.mkdir(parents=True, exist_ok=True)
    check = _check_batch((batch_size, *network.params.input_shape))
    try:
        if file_format == "ONNX":
            import mindspore.onnx

            mindspore.onnx.export(
                network, ms.Tensor(check), file_name=str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME]
            )
        else:
            ms.export(network, ms.Tensor(check), file_name=str(tmp), file_format=file_format)
        diff = None if fmt.backend is None else _verify(network, tmp, file_format, check)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportReport(final, check.shape, diff)


def _check_batch(shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(CHECK_SEED)
    return rng.normal(CHECK_MEAN_DB, CHECK_STD_DB, size=shape).astype(np.float32)


def _verify(network, path: Path, file_format: str, batch: np.ndarray) -> float:
    """Max abs difference of the exported model's outputs from the network's on `batch`."""
    import mindspore as ms

    fmt = EXPORT_FORMATS[file_format]
    expected = network(ms.Tensor(batch)).asnumpy()
    got = fmt.backend(path).predict(batch)
    if got.shape != expected.shape:
        raise UserError(f"exported {file_format} gives outputs of shape {got.shape}, the network {expected.shape}")
    diff = float(np.abs(got - expected).max())
    if not diff <= fmt.tolerance:
        raise UserError(
            f"exported {file_format} differs from the checkpoint network by {diff:.3g} "
            f"(tolerance {fmt.tolerance:g}); nothing written"
        )
    return diff
