"""The model file formats in one table: what export.py can write, and which backend opens which file.

`EXPORT_FORMATS` is read by export.py (its choices, the devices that can produce a format),
src.inference.exporting (suffix, tolerance, the backend that loads the file back to check it)
and `open_backend` (tag.py takes a checkpoint or any format that loads back here); a test
holds default_config.yaml's `file_format` choices to its keys. Adding a format is one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from src.core.errors import UserError
from src.core.file_names import CHECKPOINT_SUFFIX
from src.inference.backends import Backend, CheckpointBackend, MindIRBackend, OnnxBackend
from src.inference.lite_app import LiteAppBackend

ANY_DEVICE = ("Ascend", "GPU", "CPU")


@dataclass(frozen=True)
class ExportFormat:
    """One export format. `backend` and `tolerance` are None for a file MindSpore cannot load back here."""

    suffix: str
    tolerance: float | None  # max |exported - checkpoint| / max(1, |checkpoint|) per output (exporting._verify)
    backend: type[Backend] | None  # loads the file back: the export check, tag.py, serve.py, the API
    devices: tuple[str, ...]  # device targets that can produce it


# MindIR runs the same kernels (0 difference on CPU); ONNX Runtime's own conv kernels differ in
# float32 rounding order (~1e-6 seen), as do MindSpore Lite's (LITE: the ONNX export converted by Lite's
# converter, run by the 310 app built against Lite; src.inference.lite_app): on the full-size network
# 3.3e-6 to 7.0e-6 on the probabilities, 8.4e-5 to 1.5e-4 on the embedding, whose values reach ~50 (at
# most 2.9e-6 of them). The tolerance bounds the difference relative to max(1, |value|), so it means the
# same for probabilities in [0, 1] and for embeddings of any scale. LITE is made and checked on CPU, as the
# Lite 2.0 wheel runs on CPU only. AIR is compiled for Ascend by ATC, so it is exported unverified.
EXPORT_FORMATS: dict[str, ExportFormat] = {
    "MINDIR": ExportFormat(".mindir", 1e-5, MindIRBackend, ANY_DEVICE),
    "ONNX": ExportFormat(".onnx", 1e-4, OnnxBackend, ANY_DEVICE),
    "AIR": ExportFormat(".air", None, None, ("Ascend",)),
    "LITE": ExportFormat(".mslite", 1e-4, LiteAppBackend, ("CPU",)),
}

MODEL_SUFFIXES: dict[str, type[Backend]] = {
    CHECKPOINT_SUFFIX: CheckpointBackend,
    **{fmt.suffix: fmt.backend for fmt in EXPORT_FORMATS.values() if fmt.backend is not None},
}


def check_export_device(file_format: str, device: str) -> None:
    """UserError, naming the formats that can be produced here, when `device` cannot produce `file_format`."""
    producers = EXPORT_FORMATS[file_format].devices
    if device not in producers:
        possible = " or ".join(name for name, fmt in EXPORT_FORMATS.items() if device in fmt.devices)
        raise UserError(
            f"file_format={file_format} can only be produced on {' or '.join(producers)} "
            f"(this run uses {device}); use {possible}"
        )


def backend_class(path: str | Path) -> type[Backend]:
    """The backend that opens `path`, from its suffix; UserError for anything else."""
    backend = MODEL_SUFFIXES.get(Path(path).suffix.lower())
    if backend is None:
        raise UserError(f"{path}: unknown model type; expected one of {sorted(MODEL_SUFFIXES)}")
    return backend


def open_backend(path: str | Path, device_target: str = "auto", mode: str | None = None) -> Backend:
    """The loaded model behind a .ckpt, .mindir or .onnx file. For the MindSpore formats the device is set
    (device_target) and, when `mode` ("graph" or "pynative") is given, the execution mode; mode None leaves
    the mode the caller set (MindSpore's default: PyNative). ONNX never imports MindSpore."""
    path = Path(path)
    backend = backend_class(path)
    if backend.needs_mindspore:
        try:
            import mindspore  # noqa: F401 - only to fail early with a clear message
        except ImportError:
            raise UserError(
                f"{path}: {backend.kind} models need MindSpore, which is not installed here; "
                f"export the model to ONNX (export.py --file_format ONNX) and tag with that"
            ) from None
        from src.core.runtime import set_mode, use_device

        use_device(device_target)
        if mode is not None:
            set_mode(mode)
    return backend(path)
