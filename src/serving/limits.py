"""What one request may cost the service, and the error a request gets when it asks for more.

Memory is bounded by these numbers alone: at most `max_queue` requests are inside the service at once
(receiving, decoding or waiting for the model), each with an upload of at most `max_upload_bytes` on disk
and at most `max_windows` model inputs (524 KB each for log-mel, 1.4 MB for waveform) in memory. A
request beyond `max_queue` is answered 503 at once instead of waiting in an unbounded queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

RETRY_AFTER_S = 1  # the Retry-After of a 503: the queue drains in about one model call


class ServiceError(Exception):
    """A request the service refuses or cannot serve: the HTTP `status` and a one-line `message`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Limits:
    """The service's bounds (serve.py's --max_upload_mb, --max_seconds, --max_windows, --max_queue)."""

    max_upload_bytes: int
    max_seconds: float
    max_windows: int
    max_queue: int


class Admission:
    """Counts the requests inside the service; one more than `capacity` is refused (503, Retry-After).

    Used from the event loop only, so a plain counter needs no lock."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.active = 0

    @property
    def full(self) -> bool:
        return self.active >= self.capacity

    @contextmanager
    def enter(self) -> Iterator[None]:
        if self.full:
            raise ServiceError(
                503,
                f"server busy: {self.active} requests in progress, the most --max_queue {self.capacity} allows; "
                f"retry in {RETRY_AFTER_S} s",
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
