"""A small run of benchmarks/serve_load.py's load against a real serve.py: every request from concurrent
clients answered 200 (no error under load), and the server's counters account for all of them. Times are
reported by the benchmark, never asserted here."""

from benchmarks.serve_load import demo_clips, get_json, post_clips
from tests.helpers.serving import Server, narrow_onnx

REQUESTS, CLIENTS = 48, 8


def test_concurrent_clients_get_no_error_and_every_window_is_scored(tmp_path, mindspore_cpu):
    bodies = demo_clips(tmp_path, 4)
    with Server("--model", str(narrow_onnx(tmp_path / "onnx")), "--max_queue", str(CLIENTS)) as server:
        result = post_clips(server.base, bodies, REQUESTS, CLIENTS)
        health = get_json(server.base, "/healthz")
    assert result["errors"] == 0, result["first_errors"]
    assert result["requests"] == REQUESTS and result["p50_ms"] <= result["p95_ms"] <= result["max_ms"]
    assert health["requests_scored"] == REQUESTS and health["windows_scored"] == REQUESTS  # one window a clip
    assert health["model_calls"] <= REQUESTS and health["in_progress"] == 0
