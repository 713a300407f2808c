"""Which runtime scores a model (MindSpore Lite, ONNX Runtime or MindSpore), and by default the fastest exact one.

An exported file runs on its format's runtime. A checkpoint (`zoo` included) can run on all three: on a
CPU, `auto` compiles it once into the fastest installed format (MindSpore Lite when the ascend310_infer
tools are built, else ONNX when onnxruntime is installed) and caches the file, verified against the
checkpoint within the format's tolerance (src.inference.exporting), under the cache folder
(src.model.pretrained.cache_dir) by the checkpoint's sha256; on Ascend or GPU the checkpoint runs on the
device through MindSpore. RUNTIMES is ordered fastest first as measured on CPU (benchmarks/tag_throughput.py).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from src.core.errors import UserError
from src.core.file_names import CHECKPOINT_SUFFIX, TAGS_SIDECAR_SUFFIX
from src.core.fileio import check_writable_dir, file_sha256
from src.inference import lite_app
from src.inference.backends import Backend
from src.inference.formats import EXPORT_FORMATS, backend_class, open_backend

log = logging.getLogger("fcn4")

AUTO = "auto"
COMPILED_DIR = "compiled"  # under the cache folder
COMPILE_VERSION = 1  # part of every compiled file's name: a change in how files are compiled invalidates the old ones
CHECK_BATCH = 2  # inputs a compiled file is checked on against the checkpoint


@dataclass(frozen=True)
class Runtime:
    """One runtime. `file_format` is the EXPORT_FORMATS key a checkpoint is compiled into (None: the checkpoint
    itself runs); `installed` says whether it can run here; `how` how to get it when it cannot."""

    label: str
    file_format: str | None
    installed: Callable[[], bool]
    how: str


def _module_installed(name: str) -> Callable[[], bool]:
    return lambda: importlib.util.find_spec(name) is not None


RUNTIMES: dict[str, Runtime] = {
    "lite": Runtime("MindSpore Lite", "LITE", lite_app.tools_built, f"run `{lite_app.GET_TOOLS}`"),
    "onnx": Runtime("ONNX Runtime", "ONNX", _module_installed("onnxruntime"), "pip install -r requirements.txt"),
    "mindspore": Runtime("MindSpore", None, _module_installed("mindspore"), "pip install -r requirements.txt"),
}
BACKEND_CHOICES = (AUTO, *RUNTIMES)


def runtime_of_file(path: Path) -> str:
    """The RUNTIMES key that runs an exported file or a checkpoint as it is."""
    suffix = path.suffix.lower()
    if suffix == CHECKPOINT_SUFFIX:
        return "mindspore"
    return next(
        (name for name, runtime in RUNTIMES.items() if runtime.file_format and suffix == _suffix(runtime)),
        "mindspore",  # MindIR
    )


def open_runtime(
    path: str | os.PathLike,
    backend: str = AUTO,
    device_target: str = "auto",
    mode: str | None = None,
) -> tuple[Backend, str]:
    """(the loaded model, one line saying which runtime runs it and why) for a checkpoint or an exported file.

    backend: AUTO or a RUNTIMES key; a checkpoint compiled for a runtime takes any batch. UserError for a runtime
    that is not installed or cannot run this file.
    """
    path = Path(path)
    backend_class(path)  # an unknown suffix is refused before anything is loaded
    if backend not in BACKEND_CHOICES:
        raise UserError(f"--backend {backend}: expected one of {', '.join(BACKEND_CHOICES)}")
    own = runtime_of_file(path)
    if path.suffix.lower() != CHECKPOINT_SUFFIX:
        if backend not in (AUTO, own):
            raise UserError(
                f"--backend {backend}: {path} runs on {RUNTIMES[own].label} only; give its checkpoint to run "
                f"it on {RUNTIMES[backend].label}"
            )
        return open_backend(path, device_target, mode), f"{RUNTIMES[own].label} ({path.suffix} file)"
    if not RUNTIMES["mindspore"].installed():
        raise UserError(
            f"{path}: checkpoints need MindSpore, which is not installed here; export the model to ONNX "
            f"(export.py --file_format ONNX) and tag with that"
        )
    candidates, why = _candidates(backend, device_target)
    for name, later in zip(candidates, candidates[1:], strict=False):
        try:
            return _open_checkpoint(path, RUNTIMES[name], device_target, mode), f"{RUNTIMES[name].label} ({why})"
        except UserError as exc:
            log.warning("%s cannot run %s (%s); trying %s", RUNTIMES[name].label, path, exc, RUNTIMES[later].label)
    last = RUNTIMES[candidates[-1]]
    return _open_checkpoint(path, last, device_target, mode), f"{last.label} ({why})"


def _candidates(backend: str, device_target: str) -> tuple[list[str], str]:
    """(the RUNTIMES keys to try for a checkpoint, in order, why the first was chosen, in words): `backend`
    alone when named; on a CPU every runtime installed, fastest first; on an accelerator MindSpore."""
    if backend != AUTO:
        runtime = RUNTIMES[backend]
        if not runtime.installed():
            raise UserError(f"--backend {backend}: {runtime.label} is not installed here; {runtime.how}")
        return [backend], "--backend"
    from src.core.runtime import resolve_device

    device = "CPU" if device_target == "CPU" else resolve_device(device_target)  # CPU: MindSpore stays unloaded
    if device != "CPU":
        return ["mindspore"], f"on {device}"
    installed = [name for name, runtime in RUNTIMES.items() if runtime.installed()]
    return installed, "the fastest exact runtime installed; --backend to choose another"


def _open_checkpoint(path: Path, runtime: Runtime, device_target: str, mode: str | None) -> Backend:
    """The checkpoint loaded on `runtime`: itself on MindSpore, else its compiled file."""
    if runtime.file_format is None:
        return open_backend(path, device_target, mode)
    compiled = compile_checkpoint(path, runtime.file_format)
    loaded = open_backend(compiled)
    loaded.own_tags = _compiled_tags(compiled)
    log.info("compiled from %s once, cached as %s", path, compiled)
    return loaded


def fastest_format() -> str:
    """The EXPORT_FORMATS key of the fastest runtime installed here (MINDIR when only MindSpore is)."""
    return next((runtime.file_format for runtime in RUNTIMES.values() if runtime.installed()), None) or "MINDIR"


def compile_checkpoint(checkpoint: Path, file_format: str, batch_size: int = CHECK_BATCH) -> Path:
    """The checkpoint exported to `file_format` in the cache folder, for any batch (ONNX: a dynamic batch axis;
    Lite resizes its input): made and checked on `batch_size` inputs the first time, then reused. Named by the
    checkpoint's sha256, so a changed checkpoint is compiled again."""
    from src.model.pretrained import CACHE_VARIABLE, cache_dir

    stem = f"{file_sha256(checkpoint)[:16]}-v{COMPILE_VERSION}"
    target = cache_dir() / COMPILED_DIR / (stem + EXPORT_FORMATS[file_format].suffix)
    if target.is_file():
        return target  # MindSpore stays unloaded
    check_writable_dir(target.parent, f"the compiled-model cache (${CACHE_VARIABLE}, or --backend mindspore)")
    log.info("compiling %s to %s once (checked against the checkpoint, then cached)", checkpoint, file_format)
    from src.core.runtime import use_device
    from src.core.tag_list import write_tag_list
    from src.inference.exporting import export_model
    from src.model.loading import load_checkpoint_network

    use_device("CPU")
    network, own_tags = load_checkpoint_network(checkpoint)
    if own_tags is not None:
        write_tag_list(target.with_name(stem + TAGS_SIDECAR_SUFFIX), own_tags)
    report = export_model(network, str(target.with_suffix("")), file_format, batch_size, any_batch=True)
    log.info("compiled %s (max |compiled - checkpoint| %s)", report.path, report.describe())
    return report.path


def _compiled_tags(compiled: Path) -> list[str] | None:
    """The tag names the compiled checkpoint recorded (written beside the compiled file), else None."""
    from src.core.tag_list import read_tag_list

    sidecar = compiled.with_name(compiled.stem + TAGS_SIDECAR_SUFFIX)
    return read_tag_list(sidecar) if sidecar.is_file() else None


def _suffix(runtime: Runtime) -> str:
    return EXPORT_FORMATS[runtime.file_format].suffix
