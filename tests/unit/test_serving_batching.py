"""src.serving.batching and src.serving.limits: concurrent requests' windows in one model call after a bounded
wait, failures handed to the requests, a drained stop; the admission count that turns a full queue into 503."""

import threading

import numpy as np
import pytest

from src.serving.batching import Batcher
from src.serving.limits import Admission, ServiceError


class Model:
    """A stand-in for the backend: probabilities 2x, embeddings x + 1; records the batch of every call."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[int] = []
        self.fail_first = fail_first

    def __call__(self, inputs: np.ndarray):
        self.calls.append(len(inputs))
        if self.fail_first and len(self.calls) == 1:
            raise RuntimeError("device lost")
        return inputs * 2, inputs + 1


def _windows(count: int, start: float) -> np.ndarray:
    return np.arange(start, start + count, dtype=np.float32)[:, None]


@pytest.fixture
def started():
    made = []

    def start(model, batch_size, max_wait_s):
        batcher = Batcher(model, batch_size, max_wait_s)
        batcher.start()
        made.append(batcher)
        return batcher

    yield start
    for batcher in made:
        batcher.stop()


def test_the_windows_of_concurrent_requests_go_into_one_call_and_come_back_to_each(started):
    model = Model()
    batcher = started(model, 4, 30.0)  # waits until 4 windows are there (or 30 s)
    inputs = [_windows(1, 0), _windows(2, 10), _windows(1, 20)]
    futures = [batcher.submit(x) for x in inputs]
    for x, future in zip(inputs, futures, strict=True):
        probabilities, embeddings = future.result(timeout=30)
        np.testing.assert_array_equal(probabilities, x * 2)
        np.testing.assert_array_equal(embeddings, x + 1)
    assert model.calls == [4]
    assert (batcher.stats.calls, batcher.stats.windows, batcher.stats.requests) == (1, 4, 3)


def test_a_lone_request_is_scored_after_the_bounded_wait(started):
    model = Model()
    batcher = started(model, 8, 0.05)
    probabilities, _ = batcher.submit(_windows(1, 5)).result(timeout=30)
    assert probabilities.tolist() == [[10.0]] and model.calls == [1]


def test_requests_from_many_threads_are_all_answered_with_their_own_windows(started):
    model = Model()
    batcher = started(model, 8, 0.01)
    results = {}

    def client(i: int) -> None:
        results[i] = batcher.submit(_windows(1 + i % 3, 100 * i)).result(timeout=30)[0]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(16):
        np.testing.assert_array_equal(results[i], _windows(1 + i % 3, 100 * i) * 2)
    assert sum(model.calls) == sum(1 + i % 3 for i in range(16)) and len(model.calls) <= 16


def test_a_failed_call_reaches_its_requests_and_the_batcher_goes_on(started):
    batcher = started(Model(fail_first=True), 2, 30.0)
    failed = [batcher.submit(_windows(1, 0)), batcher.submit(_windows(1, 1))]
    for future in failed:
        with pytest.raises(RuntimeError, match="device lost"):
            future.result(timeout=30)
    assert batcher.submit(_windows(2, 3)).result(timeout=30)[0].tolist() == [[6.0], [8.0]]
    assert batcher.alive and batcher.stats.calls == 1


def test_a_cancelled_request_is_left_out_of_the_call(started):
    model = Model()
    batcher = started(model, 4, 30.0)
    gone = batcher.submit(_windows(1, 0))
    assert gone.cancel()
    kept = batcher.submit(_windows(3, 10))
    np.testing.assert_array_equal(kept.result(timeout=30)[0], _windows(3, 10) * 2)
    assert model.calls == [3]


def test_stop_scores_what_waits_then_refuses_more():
    model = Model()
    batcher = Batcher(model, 8, 30.0)
    batcher.start()
    waiting = batcher.submit(_windows(2, 0))
    batcher.stop()  # does not wait the 30 s for a full batch
    assert waiting.result(timeout=0)[0].tolist() == [[0.0], [2.0]]
    assert not batcher.alive
    with pytest.raises(RuntimeError, match="stopped"):
        batcher.submit(_windows(1, 0))


def test_admission_refuses_one_request_over_its_capacity_with_503_and_retry_after():
    admission = Admission(2)
    with admission.enter(), admission.enter():
        assert admission.full
        with pytest.raises(ServiceError) as refused, admission.enter():
            pass
        assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
        assert "--max_queue 2" in refused.value.message
    assert admission.active == 0 and not admission.full
