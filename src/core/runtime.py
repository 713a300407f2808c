"""Process-wide MindSpore setup for an entry point: device, execution mode, seeds, CPU fixes.

setup_runtime is called once at the start of main(), never at import, so tests can import every
module. Library code (the Python API, model loading for tag.py) calls only use_device and runs in
whichever mode its caller set: graph or PyNative, MindSpore's default.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from src.core.errors import UserError
from src.model_utils.device_adapter import get_device_id

ONEDNN_ISA_VAR = "ONEDNN_MAX_CPU_ISA"
ONEDNN_SAFE_ISA = "AVX2"
DEVICE_PREFERENCE = ("Ascend", "GPU")
# The `mode` config key's choices -> the MindSpore context constant's name.
MODES = {"graph": "GRAPH_MODE", "pynative": "PYNATIVE_MODE"}
# The `memory_optimize_level` config key's choices (mindspore.runtime.set_memory's optimize_level).
MEMORY_OPTIMIZE_LEVELS = ("O0", "O1")
MEMINFO, OVERCOMMIT_SETTING = "/proc/meminfo", "/proc/sys/vm/overcommit_memory"

log = logging.getLogger("fcn4")


def apply_onednn_fix() -> str:
    """Cap oneDNN at AVX2 unless the user chose an ISA.

    On AVX-512 CPUs MindSpore's CPU Conv2d otherwise picks a oneDNN kernel ~130x slower for
    FCN-4. oneDNN reads the variable at its first primitive, so this must run before any op.
    """
    os.environ.setdefault(ONEDNN_ISA_VAR, ONEDNN_SAFE_ISA)
    return os.environ[ONEDNN_ISA_VAR]


def available_devices() -> list[str]:
    """Devices this MindSpore build can drive on this host, best first; CPU always last.

    MindSpore logs a multi-line warning for every plugin it cannot load while probing; an
    absent GPU is the expected answer here, so the probe runs with those warnings muted.
    """
    import mindspore.device_context as device_context
    from mindspore import log as ms_log

    found = []
    mute = _MindSporeFilter(lambda record: record.levelno >= logging.ERROR)
    ms_log._get_logger().addFilter(mute)
    try:
        for name in DEVICE_PREFERENCE:
            with contextlib.suppress(RuntimeError, OSError):
                if getattr(device_context, name.lower()).is_available():
                    found.append(name)
    finally:
        ms_log._get_logger().removeFilter(mute)
    return found + ["CPU"]


def resolve_device(requested: str) -> str:
    """The device to use for `requested` ('auto' picks the best available one)."""
    devices = available_devices()
    if requested == "auto":
        return devices[0]
    if requested not in devices:
        raise UserError(
            f"device_target={requested!r} is not usable with this MindSpore build/host; available: {devices}"
        )
    return requested


class _MindSporeFilter(logging.Filter):
    """Keeps the MindSpore log records for which `keep(record)` is true."""

    def __init__(self, keep) -> None:
        super().__init__()
        self.keep = keep

    def filter(self, record: logging.LogRecord) -> bool:
        return self.keep(record)


def filter_mindspore_log() -> None:
    """MindSpore's logger (reached through mindspore.log, which has no public handle) loses the
    deprecation warning its own nn.Adam triggers on every run; the log format is src.core.cli's."""
    from mindspore import log as ms_log

    ms_log._get_logger().addFilter(
        _MindSporeFilter(lambda record: "'FusedSparseAdam' is deprecated" not in record.getMessage())
    )


def use_device(device_target: str = "auto", device_id: int = 0, mixed_precision: bool = False) -> str:
    """Pick and set the device (with the CPU oneDNN cap); returns its name. Leaves the execution mode and
    the seed alone, so library code (the Python API, tag.py's loaders) can call it in either mode.

    device_id is the caller's choice; a launcher's DEVICE_ID wins. mixed_precision is refused on CPU.
    """
    import mindspore as ms

    device = resolve_device(device_target)
    if device == "CPU":
        isa = apply_onednn_fix()
        log.info("device CPU (oneDNN capped at %s=%s)", ONEDNN_ISA_VAR, isa)
        if mixed_precision:
            raise UserError("mixed_precision=True needs device_target Ascend or GPU; CPU has no fast float16 conv")
    device_id = get_device_id(device_id) if device != "CPU" else None
    if device_id is not None:
        log.info("device %s:%d", device, device_id)
    ms.set_device(device, device_id)
    return device


def set_mode(mode: str) -> None:
    """Set MindSpore's execution mode: "graph" (GRAPH_MODE, compiled) or "pynative" (PYNATIVE_MODE, op by op)."""
    import mindspore as ms

    if mode not in MODES:
        raise UserError(f"mode={mode!r}: expected one of {list(MODES)}")
    ms.set_context(mode=getattr(ms, MODES[mode]))


def current_mode() -> str:
    """The execution mode MindSpore is in now ("graph" or "pynative"; PyNative is MindSpore's default)."""
    import mindspore as ms

    return next(name for name, constant in MODES.items() if getattr(ms, constant) == ms.get_context("mode"))


def setup_runtime(
    device_target: str = "auto",
    device_id: int = 0,
    seed: int = 1,
    mixed_precision: bool = False,
    mode: str = "graph",
    memory_optimize_level: str | None = None,
    cpu_cores: int = 0,
    deterministic: bool = False,
    memory_pool_reserve: bool = False,
) -> str:
    """An entry point's process-wide set-up: the CPU cores it may use (pin_cpu_cores), device (use_device),
    execution mode (graph by default, as the reference), seed, deterministic kernels if asked and, when given,
    MindSpore's memory optimize level (with memory_pool_reserve on CPU, the pool's address space reserved at
    start: set_memory); returns the device name used."""
    import mindspore as ms

    pin_cpu_cores(cpu_cores)
    device = use_device(device_target, device_id, mixed_precision)
    set_mode(mode)
    ms.set_seed(seed)
    if deterministic:
        ms.set_deterministic(True)  # Ascend/GPU kernels; MindSpore's CPU kernels are deterministic already
    if memory_optimize_level is not None:
        set_memory(memory_optimize_level, pool_reserve_gib() if memory_pool_reserve and device == "CPU" else 0)
    return device


def pin_cpu_cores(count: int) -> None:
    """Let this process use only its first `count` usable cores (0: all of them), before MindSpore's first op.

    MindSpore's CPU kernels split their work by the number of usable cores, so the same run gives other
    last bits on a machine with another core count; the same cpu_cores on both makes them agree
    (docs/accuracy.md, Reproducibility)."""
    if count == 0:
        return
    usable = sorted(os.sched_getaffinity(0))
    if count > len(usable):
        raise UserError(f"cpu_cores={count}: this process may use only {len(usable)} cores")
    os.sched_setaffinity(0, usable[:count])
    log.info("CPU pinned to %d of %d usable cores (cpu_cores)", count, len(usable))


def set_memory(level: str, reserve_gib: int = 0) -> None:
    """MindSpore's memory settings for every graph compiled after this: the optimize level, "O0" (MindSpore's
    default, speed first) or "O1" (memory first: more reuse of buffers between the graph's tensors), and, unless
    `reserve_gib` is 0, the pool's first block: that much address space, of which only the pages used count.

    MindSpore's pool otherwise grows in 2 GB blocks, and a compiled step's buffers then land elsewhere in each
    of the first steps, touching new pages every time (full FCN-4, batch 32: 9.33, 10.57, then 11.82 GiB of
    peak RSS over three steps; with the space reserved, 9.35 GiB from the first step on)."""
    import mindspore as ms

    if level not in MEMORY_OPTIMIZE_LEVELS:
        raise UserError(f"memory_optimize_level={level!r}: expected one of {list(MEMORY_OPTIMIZE_LEVELS)}")
    if reserve_gib:
        ms.runtime.set_memory(init_size=f"{reserve_gib}GB", optimize_level=level)
    else:
        ms.runtime.set_memory(optimize_level=level)


def pool_reserve_gib() -> int:
    """Whole GiB of address space for MindSpore's CPU pool to reserve: the machine's memory less 1 GiB, or 0 (the
    pool grows as MindSpore does by default) where the kernel never overcommits (vm.overcommit_memory = 2), as an
    address-space reservation there would be refused."""
    try:
        if Path(OVERCOMMIT_SETTING).read_text().strip() == "2":
            return 0
        total_kib = next(
            int(line.split()[1]) for line in Path(MEMINFO).read_text().splitlines() if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration, ValueError):
        return 0
    return max(0, total_kib // 2**20 - 1)
