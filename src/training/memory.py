"""Peak resident memory of this process, so each epoch's record says what the run needs.

Linux keeps the peak (VmHWM) and resets it when "5" is written to /proc/self/clear_refs; the
peak of one epoch is read at its end and reset for the next. Where the kernel refuses the reset
(or there is no /proc), the process-lifetime peak from getrusage is reported instead.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

GIB = 2**30
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def peak_rss_gib() -> float:
    """This process's peak resident memory in GiB since the last reset_peak() (else since it started)."""
    if _STATUS.is_file():
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / GIB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / GIB if sys.platform == "darwin" else peak * 1024 / GIB  # bytes on macOS, KiB on Linux


def reset_peak() -> bool:
    """Start a new peak from the present resident size; False where the kernel does not allow it."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True
