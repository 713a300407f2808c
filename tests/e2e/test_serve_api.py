"""serve.py's API through a real uvicorn process on 127.0.0.1: tags, taggram, decisions, embeddings and the
model's description, equal to what the Python API computes for the same file; a head; CORS; a checkpoint
served with the windows of concurrent requests scored in one model call."""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

import numpy as np
import pytest

from src import api, demo_data
from src.core.fileio import file_sha256
from src.evaluation.decisions import Thresholds
from src.heads.linear import LinearHead
from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint, write_tags, write_tone
from tests.helpers.serving import Server, narrow_onnx

HOP = 10.0
THRESHOLDS = [0.5 if i % 3 else None for i in range(50)]  # every third tag is never given
HEAD_TAGS = ["calm", "busy", "loud"]


@pytest.fixture(scope="module")
def files(tmp_path_factory, mindspore_cpu):
    """A narrow FCN-4 as ONNX and as a checkpoint (the same weights), a thresholds file, a head, three clips."""
    root = tmp_path_factory.mktemp("serve_api")
    network = random_network(NARROW_CHANNELS, seed=9)
    ckpt = save_checkpoint(network, root / "ckpt")  # before the export, which wraps the network
    onnx = narrow_onnx(root / "onnx", network)
    write_tags(root / "ckpt" / "tags.txt", 50)
    on = {"mr_path": "", "split": "val", "num_samples": 48}
    thresholds = Thresholds([f"tag {i}" for i in range(50)], THRESHOLDS, "f1", 0.5, "x.ckpt", "0" * 64, on)
    (root / "thresholds.json").write_text(json.dumps(asdict(thresholds)))
    rng = np.random.default_rng(1)
    head = LinearHead(rng.normal(0, 0.1, (3, 16)), np.zeros(3), np.array([0.5, np.nan, 0.2]), HEAD_TAGS)
    head.save(root / "head.npz")
    demo_data.generate_corpus(root / "mtat", num_clips=1, seed=5)
    return {
        "onnx": onnx,
        "ckpt": ckpt,
        "thresholds": root / "thresholds.json",
        "head": root / "head.npz",
        "head_arrays": head,
        "long": write_tone(root / "long.wav", 40.0, 22050, seed=1),
        "short": write_tone(root / "short.flac", 5.0, 8000, seed=2),
        "mp3": sorted((root / "mtat").rglob("*.mp3"))[0],
    }


@pytest.fixture(scope="module")
def server(files):
    with Server("--model", str(files["onnx"]), "--thresholds", str(files["thresholds"])) as running:
        yield running


@pytest.fixture(scope="module")
def model(files):
    return api.load_model(files["onnx"])


def _post(server, path, file, query=None):
    with open(file, "rb") as handle:
        return server.client.post(path, params=query, files={"file": (file.name, handle, "application/octet-stream")})


def test_tag_gives_the_taggram_and_top_tags_the_python_api_gives(server, files, model):
    reply = _post(server, "/v1/tag", files["long"], {"hop_seconds": HOP, "top_k": 4})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    expected = model.tag(files["long"], top_k=4, hop_seconds=HOP)
    np.testing.assert_allclose(np.array(body["taggram"]), expected.taggram, atol=1e-5)
    np.testing.assert_allclose(body["window_starts_s"], expected.window_starts_s, atol=1e-3)
    assert [t["tag"] for t in body["top"]] == [tag for tag, _ in expected.top]
    assert body["tags"] == model.tags and body["duration_s"] == pytest.approx(40.0, abs=1e-3)
    assert body["file"] == {"name": "long.wav", "bytes": files["long"].stat().st_size}
    assert body["model"] == {"name": "fcn4.onnx", "version": file_sha256(files["onnx"])[:12]}
    assert body["hop_seconds"] == HOP and body["aggregate"] == "mean"


def test_tag_decides_yes_or_no_with_the_thresholds_file(server, files):
    body = _post(server, "/v1/tag", files["mp3"], {"aggregate": "max"}).json()
    scores = np.array(body["max"])
    expected = {f"tag {i}": t is not None and scores[i] >= t for i, t in enumerate(THRESHOLDS)}
    assert body["decisions"]["yes"] == expected
    assert {p["tag"] for p in body["passing"]} == {tag for tag, yes in expected.items() if yes}
    assert "chosen on val" in body["decisions"]["rule"]


def test_raw_bytes_and_embed_give_each_windows_embedding_and_their_mean(server, files, model):
    data = files["long"].read_bytes()
    reply = server.client.post("/v1/embed", content=data, headers={"Content-Type": "audio/wav"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    expected = model.embed(files["long"])
    np.testing.assert_allclose(np.array(body["windows"]), expected.windows, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(body["mean"], expected.mean, rtol=1e-5, atol=1e-4)
    assert body["embedding_size"] == 16 and body["file"] == {"name": "", "bytes": len(data)}
    raw = server.client.post("/v1/tag", content=data, headers={"Content-Type": "application/octet-stream"})
    assert raw.status_code == 200 and len(raw.json()["taggram"]) == 2


def test_model_health_and_ready_describe_the_served_model(server, files):
    described = server.client.get("/v1/model").json()
    assert described["tags"] == [f"tag {i}" for i in range(50)]
    assert described["backend"] == "ONNX" and described["input_kind"] == "logmel"
    assert described["thresholds_present"] and described["thresholds"]["thresholds"] == THRESHOLDS
    assert described["batch_size"] == 4 and described["embedding_size"] == 16
    health = server.client.get("/healthz").json()
    assert health["status"] == "ok" and health["max_queue"] == 32
    assert server.client.get("/readyz").json() == {"status": "ready"}
    assert "/v1/tag" in server.client.get("/openapi.json").json()["paths"]


def test_the_page_and_its_script_come_from_the_server_alone(server):
    page = server.client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    script = server.client.get("/static/app.js")
    assert script.status_code == 200 and "/v1/tag" in script.text
    for text in (page.text, script.text, server.client.get("/static/style.css").text):
        assert "http://" not in text and "https://" not in text  # no CDN: nothing from elsewhere
    assert server.client.get("/docs").status_code == 404  # FastAPI's docs page would load a CDN


def test_a_head_tags_with_its_own_tags_and_thresholds_and_cors_opens_for_the_given_origin(server, files, model):
    origin = "http://tagging.example"
    with Server("--model", str(files["onnx"]), "--head", str(files["head"]), "--cors_origins", origin) as headed:
        reply = headed.client.post("/v1/tag", content=files["short"].read_bytes(), headers={"Origin": origin})
        assert reply.status_code == 200, reply.text
        assert reply.headers["access-control-allow-origin"] == origin
        described = headed.client.get("/v1/model").json()
    body = reply.json()
    expected = files["head_arrays"].predict(model.embed(files["short"]).windows)
    assert body["tags"] == HEAD_TAGS and described["head"] == {"tags": 3, "embedding_size": 16}
    np.testing.assert_allclose(np.array(body["taggram"]), expected, atol=1e-5)
    mean = np.array(body["mean"])
    assert body["decisions"]["yes"] == {"calm": mean[0] >= 0.5, "busy": False, "loud": mean[2] >= 0.2}
    closed = server.client.post("/v1/tag", content=files["short"].read_bytes(), headers={"Origin": origin})
    assert closed.status_code == 200 and "access-control-allow-origin" not in closed.headers  # CORS off by default


def test_a_checkpoint_scores_concurrent_requests_in_one_model_call(files, model):
    clips = [files["short"], files["mp3"], files["short"], files["mp3"]]
    args = ("--model", str(files["ckpt"]), "--backend", "mindspore", "--device_target", "CPU", "--batch_size", "4")
    args = (*args, "--max_wait_ms", "5000")
    with Server(*args) as served, ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda clip: _post(served, "/v1/tag", clip), clips))
        health = served.client.get("/healthz").json()
        described = served.client.get("/v1/model").json()
    assert [r.status_code for r in replies] == [200] * 4, [r.text for r in replies]
    assert health["model_calls"] == 1 and health["requests_scored"] == 4 and health["windows_scored"] == 4
    assert described["backend"] == "checkpoint" and described["batch_size"] == 4
    for clip, reply in zip(clips, replies, strict=True):
        np.testing.assert_allclose(np.array(reply.json()["taggram"]), model.tag(clip).taggram, atol=1e-4)
