"""Bad input to a real serve.py: each gets a 4xx with a one-line JSON message and the server goes on serving;
uploads over the size or length limits get 413, a full queue 503; the upload folder is left empty; SIGTERM
lets the request in progress finish and exits 0."""

import socket
import time
from urllib.parse import urlsplit

import numpy as np
import pytest
import soundfile as sf

from src import demo_data
from tests.helpers.models import write_tone
from tests.helpers.serving import Server, narrow_onnx

MAX_MB = 1
MAX_QUEUE = 2


@pytest.fixture(scope="module")
def files(tmp_path_factory, mindspore_cpu):
    root = tmp_path_factory.mktemp("serve_limits")
    demo_data.generate_corpus(root / "mtat", num_clips=1, seed=5)
    mp3 = sorted((root / "mtat").rglob("*.mp3"))[0]
    (root / "truncated.mp3").write_bytes(mp3.read_bytes()[: demo_data.TRUNCATED_BYTES])  # as the demo's broken clip
    (root / "notes.txt").write_text("not audio at all\n" * 50)
    with sf.SoundFile(root / "two_hours.flac", "w", samplerate=8000, channels=1, subtype="PCM_16") as out:
        for _ in range(120):
            out.write(np.zeros(8000 * 60, np.int16))  # 2 h of silence: 180 KB as FLAC
    (root / "uploads").mkdir()
    return {
        "onnx": narrow_onnx(root / "onnx"),
        "mp3": mp3,
        "clip": write_tone(root / "clip.wav", 40.0, 8000),  # 640 KB as 16-bit wav
        "big": write_tone(root / "big.wav", 40.0, 22050),  # 1.8 MB as 16-bit wav
        "root": root,
    }


@pytest.fixture(scope="module")
def server(files):
    args = ("--model", str(files["onnx"]), "--max_upload_mb", str(MAX_MB), "--max_seconds", "600")
    limits = ("--max_windows", "8", "--max_queue", str(MAX_QUEUE), "--upload_dir", str(files["root"] / "uploads"))
    with Server(*args, *limits) as running:
        yield running


def _refused(reply, status: int, *needles: str) -> str:
    assert reply.status_code == status, (reply.status_code, reply.text)
    body = reply.json()
    assert list(body) == ["error"] and "\n" not in body["error"], body
    for needle in needles:
        assert needle in body["error"], body
    return body["error"]


def _multipart(server, name: str, data: bytes, **query):
    return server.client.post("/v1/tag", params=query, files={"file": (name, data, "application/octet-stream")})


def _raw(server, data: bytes, content_type: str = "application/octet-stream", **query):
    return server.client.post("/v1/tag", params=query, content=data, headers={"Content-Type": content_type})


def _hold(server, declared: int, first: bytes, headers: str = "Content-Type: audio/wav\r\n") -> socket.socket:
    """A request whose body is still coming: its headers and the first bytes of `declared` sent."""
    url = urlsplit(server.base)
    held = socket.create_connection((url.hostname, url.port))
    head = f"POST /v1/tag HTTP/1.1\r\nHost: {url.hostname}\r\n{headers}Content-Length: {declared}\r\n\r\n"
    held.sendall(head.encode() + first)
    return held


def _reply(held: socket.socket) -> bytes:
    held.settimeout(60)
    data = b""
    while chunk := held.recv(65536):
        data += chunk
        if b"\r\n\r\n" in data and data.rstrip().endswith(b"}"):
            break
    return data


def _wait_in_progress(server, count: int) -> None:
    deadline = time.monotonic() + 30
    while server.client.get("/healthz").json()["in_progress"] != count:
        assert time.monotonic() < deadline, server.log[-3000:]
        time.sleep(0.05)


def test_every_bad_upload_gets_a_one_line_4xx_and_the_server_goes_on(server, files):
    text = (files["root"] / "notes.txt").read_bytes()
    _refused(_multipart(server, "notes.txt", text), 422, "not audio", "libsndfile")
    _refused(_multipart(server, "cut.mp3", (files["root"] / "truncated.mp3").read_bytes()), 422, "not audio")
    _refused(_raw(server, b""), 400, "empty upload")
    _refused(_multipart(server, "empty.wav", b""), 400, "empty upload")
    _refused(_raw(server, (files["root"] / "two_hours.flac").read_bytes()), 413, "7200 s", "600 s", "--max_seconds")
    _refused(_raw(server, text, "text/plain"), 415, "Content-Type text/plain", "multipart/form-data")
    _refused(_raw(server, text, "application/x-www-form-urlencoded"), 415, "application/octet-stream")
    _refused(_raw(server, b"--x\r\ngarbage", "multipart/form-data; boundary=x"), 400, "multipart")
    _refused(_raw(server, text, "multipart/form-data"), 400, "boundary")
    no_file = server.client.post("/v1/tag", files={"other": (None, "just a field")})
    _refused(no_file, 400, "no file part", "'file'")
    clip = files["clip"].read_bytes()
    _refused(_raw(server, clip, hop_seconds="1"), 413, "--max_windows", "12 windows")
    _refused(_raw(server, clip, aggregate="median"), 422, "aggregate")
    _refused(_raw(server, clip, hop_seconds="0"), 422, "hop_seconds", "greater than 0")
    _refused(_raw(server, clip, top_k="many"), 422, "top_k")
    _refused(server.client.get("/v1/tag"), 405, "Method Not Allowed")
    _refused(server.client.get("/v2/tag"), 404, "Not Found")
    assert server.client.get("/healthz").json()["status"] == "ok"
    good = _multipart(server, "clip.wav", clip)
    assert good.status_code == 200 and len(good.json()["taggram"]) == 2
    assert sum(" POST /v1/tag 4" in line for line in server.lines) >= 14  # one log line per refused request


def test_uploads_over_the_size_limit_get_413_however_they_are_sent(server, files):
    big = files["big"].read_bytes()
    assert MAX_MB * 2**20 < len(big) < 2 * MAX_MB * 2**20
    _refused(_raw(server, big), 413, f"{MAX_MB} MB", "--max_upload_mb")  # with its Content-Length: read, dropped
    _refused(server.client.post("/v1/tag", content=iter([big[:500_000], big[500_000:]])), 413, "--max_upload_mb")
    held = _hold(server, 5 * 2**20, b"RIFF")  # declared far over the limit: refused before the body is sent
    try:
        answer = _reply(held)
    finally:
        held.close()
    assert answer.startswith(b"HTTP/1.1 413") and b"(5.0 MB) is over the 1 MB" in answer
    assert server.client.post("/v1/tag", content=files["mp3"].read_bytes()).status_code == 200


def test_a_full_queue_gets_503_and_readyz_says_so_until_it_drains(server, files):
    held = [_hold(server, 100_000, b"RIFF") for _ in range(MAX_QUEUE)]
    try:
        _wait_in_progress(server, MAX_QUEUE)
        busy = _raw(server, files["mp3"].read_bytes())
        _refused(busy, 503, "server busy", f"--max_queue {MAX_QUEUE}")
        assert busy.headers["retry-after"] == "1"
        assert server.client.get("/readyz").status_code == 503
    finally:
        for connection in held:
            connection.close()  # the uploads end early: 400 each, their folders removed
    _wait_in_progress(server, 0)
    assert server.client.get("/readyz").status_code == 200
    assert _raw(server, files["mp3"].read_bytes()).status_code == 200


def test_no_upload_is_left_behind(server, files):
    _raw(server, files["mp3"].read_bytes())
    _raw(server, b"nonsense")
    assert list((files["root"] / "uploads").iterdir()) == []


def test_sigterm_lets_the_request_in_progress_finish_and_exits_0(files):
    body = files["clip"].read_bytes()
    running = Server("--model", str(files["onnx"]))
    held = _hold(running, len(body), body[:1000])
    try:
        _wait_in_progress(running, 1)
        running.process.terminate()  # SIGTERM
        time.sleep(0.5)
        held.sendall(body[1000:])
        answer = _reply(held)
    finally:
        held.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b'"taggram"' in answer
    assert running.stop() == 0
    assert "Shutting down" in running.log and running.lines[-1].endswith("INFO stopped")
