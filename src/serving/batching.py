"""Concurrent requests' windows scored together: one model call for the windows of many requests.

One thread owns the model. A request submits its windows and gets a Future; the thread takes the
waiting requests in arrival order until they hold `batch_size` windows, waiting at most `max_wait_s`
after the first one for more to arrive, and scores them in one call (a request longer than the batch
is split by the run function, src.inference.backends.run_all). A lone request therefore waits at most
max_wait_s; under load, batches fill without waiting. How many requests may wait is bounded by the
caller (src.serving.limits.Admission), not here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("fcn4")

Outputs = tuple[np.ndarray, np.ndarray | None]  # (windows, C) probabilities, (windows, D) embeddings or None


@dataclass
class _Job:
    inputs: np.ndarray
    future: Future


@dataclass
class BatchStats:
    """What the batcher has done: model calls, the windows and requests they scored."""

    calls: int = 0
    windows: int = 0
    requests: int = 0


class Batcher:
    """Scores submitted windows with `run` ((N, *input) -> Outputs) on its own thread, batched."""

    def __init__(self, run: Callable[[np.ndarray], Outputs], batch_size: int, max_wait_s: float) -> None:
        self.run = run
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.stats = BatchStats()
        self._pending: deque[_Job] = deque()
        self._windows = 0  # windows in _pending
        self._ready = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="model-batcher", daemon=True)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stopping

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Score what is waiting, then end the thread."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        if self._thread.is_alive():
            self._thread.join()

    def submit(self, inputs: np.ndarray) -> Future:
        """A Future of `inputs`' Outputs ((N, *input) windows of one request); RuntimeError once stopped."""
        job = _Job(inputs, Future())
        with self._ready:
            if self._stopping:
                raise RuntimeError("the model batcher has stopped")
            self._pending.append(job)
            self._windows += len(inputs)
            self._ready.notify()
        return job.future

    def _loop(self) -> None:
        while (jobs := self._next_batch()) is not None:
            if jobs:
                self._score(jobs)

    def _next_batch(self) -> list[_Job] | None:
        """The next requests to score together (cancelled ones left out); None once stopped and drained."""
        with self._ready:
            while not self._pending and not self._stopping:
                self._ready.wait()
            if not self._pending:
                return None
            deadline = time.monotonic() + self.max_wait_s
            while self._windows < self.batch_size and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ready.wait(left)
            jobs, count = [], 0
            while self._pending and count < self.batch_size:
                job = self._pending.popleft()
                count += len(job.inputs)
                if job.future.set_running_or_notify_cancel():
                    jobs.append(job)
            self._windows -= count
            return jobs

    def _score(self, jobs: list[_Job]) -> None:
        inputs = jobs[0].inputs if len(jobs) == 1 else np.concatenate([job.inputs for job in jobs])
        try:
            probabilities, embeddings = self.run(inputs)
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request, the thread goes on
            log.exception("model call on %d window(s) failed", len(inputs))
            for job in jobs:
                job.future.set_exception(exc)
            return
        self.stats.calls += 1
        self.stats.windows += len(inputs)
        self.stats.requests += len(jobs)
        start = 0
        for job in jobs:
            end = start + len(job.inputs)
            job.future.set_result((probabilities[start:end], None if embeddings is None else embeddings[start:end]))
            start = end
