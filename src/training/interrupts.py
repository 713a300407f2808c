"""Ctrl-C during training: stop with KeyboardInterrupt, but never halfway through a checkpoint and its state.

MindSpore 2.10 installs its own SIGINT handler while it runs a graph (every training step), and that
handler turns Ctrl-C into SIGTERM to the process itself: the run died with exit code 143 and nothing
printed. So both signals raise KeyboardInterrupt here, postponed to the end of a `critical()` block.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """SIGINT/SIGTERM as KeyboardInterrupt, raised at once or, inside critical(), when the block ends."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending = False

    def handle(self, signum: int, frame: object) -> None:
        if self.depth:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A block that a signal does not cut short: files written in it are all written, or the error
        that stops it is not an interrupt."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if self.pending and not self.depth:
            self.pending = False
            raise KeyboardInterrupt


@contextmanager
def stop_at_safe_points() -> Iterator[Interrupts]:
    """Handle SIGINT and SIGTERM as Interrupts while the block runs (main thread only); restore the handlers."""
    interrupts = Interrupts()
    previous = {sig: signal.signal(sig, interrupts.handle) for sig in STOP_SIGNALS}
    try:
        yield interrupts
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
