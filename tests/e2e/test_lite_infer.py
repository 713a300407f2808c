"""The Ascend 310 app on MindSpore Lite, for real, on this host's CPU: scripts/get_lite_sdk.sh (the mindspore-lite
2.0 wheel and gflags, cached between runs), ascend310_infer/build.sh against it, export.py --file_format LITE from
a trained narrow checkpoint and from the full-size network, the app on the 310 .bin files, postprocess.py.

Outputs are compared with MindSpore's on the same inputs, and the chain's metrics with eval.py's on the same
checkpoint and split. The project is copied (entry points linked) so that the build stays out of the work tree.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from src.inference import bin_protocol
from src.inference.backends import CheckpointBackend
from src.musictagger import ModelParams
from tests.helpers.chains import assert_chain_gives_eval_py_metrics, trained_chain
from tests.helpers.models import (
    NARROW_CHANNELS,
    feature_batch,
    random_network,
    save_checkpoint,
    write_tags,
    write_tone,
)
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

EXPORT_BATCH = 4  # val gets 9 clips here: the last .bin batch is padded
NUM_TAGS = 6
PROBABILITY_TOLERANCE = 1e-5  # |Lite - MindSpore| on the probabilities (3.3e-6 seen on the full-size network)
EMBEDDING_RTOL = 1e-5  # on the embedding, relative to its largest value (1.7e-6 seen)
TIMEOUT = 600


def run(cmd, cwd=None, env=None):
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Corpus, MindRecord, a 1-epoch narrow checkpoint run, eval.py's JSON, and a config for the chain."""
    return trained_chain(tmp_path_factory.mktemp("lite_chain"), EXPORT_BATCH)


def export_lite(env, *args):
    result = run_script("export.py", "--file_format", "LITE", "--device_target", "CPU", *args, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def assert_outputs_match_mindspore(ckpt, data_dir, result_dir):
    """Every batch's probabilities (output 0) and embedding (output 1) as MindSpore computes them from `ckpt`."""
    backend = CheckpointBackend(Path(ckpt))
    inputs = sorted(Path(data_dir).glob("*.bin"))
    assert inputs
    for path in inputs:
        batch = np.fromfile(path, np.float32).reshape(-1, *backend.input_shape)
        probabilities, embedding = backend.run(batch)
        got = [np.fromfile(Path(result_dir) / bin_protocol.output_name(path, j), np.float32) for j in (0, 1)]
        assert np.abs(got[0].reshape(probabilities.shape) - probabilities).max() <= PROBABILITY_TOLERANCE
        scale = np.abs(embedding).max()
        assert np.abs(got[1].reshape(embedding.shape) - embedding).max() <= EMBEDDING_RTOL * scale


def test_lite_chain_gives_eval_py_metrics(lite_project, trained, tmp_path, mindspore_cpu):
    project, env = lite_project
    root, evaluated, config = trained
    assert evaluated["num_samples"] % EXPORT_BATCH != 0, "the chain must exercise a padded last batch"
    exported = export_lite(
        env,
        "--config_path",
        str(config),
        "--checkpoint_path",
        str(root / "ckpt"),
        "--file_name",
        str(tmp_path / "fcn4"),
    )
    assert "fcn4.mslite" in exported.stdout and "max |exported - checkpoint|" in exported.stdout

    chain_env = {**env, "DEVICE_TARGET": "CPU", "CONFIG_PATH": str(config)}
    chain = run(["bash", project / "scripts" / "run_infer_310.sh", "fcn4.mslite", "y"], cwd=tmp_path, env=chain_env)

    logs = "".join((tmp_path / log).read_text() for log in ("build.log", "infer.log") if (tmp_path / log).exists())
    assert chain.returncode == 0, chain.stdout + chain.stderr + logs
    assert "build.sh: MindSpore Lite at" in (tmp_path / "build.log").read_text()
    assert_chain_gives_eval_py_metrics(chain.stdout, root, evaluated, EXPORT_BATCH)
    ckpt = next((root / "ckpt").glob("*best*.ckpt"))
    assert_outputs_match_mindspore(ckpt, tmp_path / "preprocess_Result" / "00_data", tmp_path / "result_Files")


def test_full_size_lite_model_matches_mindspore_and_stores_weights_once(lite_project, tmp_path, mindspore_cpu):
    project, env = lite_project
    network = random_network(ModelParams().channels, seed=3)
    ckpt = save_checkpoint(network, tmp_path / "ckpt")
    export_lite(env, "--ckpt_file", str(ckpt), "--file_name", str(tmp_path / "full"), "--export_batch_size", "2")
    data = tmp_path / "run" / bin_protocol.DATA_DIR
    data.mkdir(parents=True)
    for index in range(2):
        feature_batch(2, seed=index).tofile(data / bin_protocol.input_name(2, index))

    app = project / "ascend310_infer" / "out" / "main"
    result = run(
        [app, f"--mindir_path={tmp_path / 'full.mslite'}", "--input0_path=00_data", "--device_target=CPU"],
        cwd=tmp_path / "run",
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "infer_count 2" in result.stdout
    assert_outputs_match_mindspore(ckpt, data, tmp_path / "run" / bin_protocol.RESULT_DIR)
    weight_bytes = sum(param.asnumpy().nbytes for param in network.get_parameters())
    assert (tmp_path / "full.mslite").stat().st_size < 1.1 * weight_bytes, "conv weights must be stored once"


def test_export_lite_without_tools_is_a_one_line_error(tmp_path):
    result = run_script(
        "export.py",
        "--file_format",
        "LITE",
        "--file_name",
        str(tmp_path / "m"),
        env={"FCN4_LITE_APP_DIR": str(tmp_path / "no_tools")},
    )
    assert_one_line_error(result, "convert_lite not found", "scripts/get_lite_sdk.sh", "FCN4_LITE_APP_DIR")
    assert list(tmp_path.iterdir()) == []


def test_get_lite_sdk_second_run_fetches_nothing(lite_project):
    again = run(["bash", ROOT / "scripts" / "get_lite_sdk.sh"], env={**lite_project[1], "PYTHON": "false"})
    assert again.returncode == 0, again.stderr  # PYTHON=false: any pip download would fail
    assert "fetching" not in again.stdout
    assert "MindSpore Lite 2.0.0 in" in again.stdout


def test_build_sh_reports_gflags_abi_mismatch_with_the_cpp_sdk(lite_project, tmp_path):
    # Debian's gflags (cached by get_lite_sdk.sh, or installed) has the C++11 string ABI, the C++ SDK the old one.
    project, env = lite_project
    gflags = debian_gflags(env)
    app = tmp_path / "ascend310_infer"
    shutil.copytree(project / "ascend310_infer", app, ignore=shutil.ignore_patterns("build", "out"))
    sdk = tmp_path / "sdk"
    shutil.copytree(app / "test" / "stub" / "include" / "api", sdk / "include" / "api")
    (sdk / "lib").mkdir()
    empty = run(["g++", "-shared", "-fPIC", "-x", "c++", "/dev/null", "-o", sdk / "lib" / "libmindspore.so"])
    assert empty.returncode == 0, empty.stderr

    result = run(["bash", app / "build.sh"], env={**env, "MINDSPORE_PATH": str(sdk), "GFLAGS_PATH": str(gflags)})

    assert result.returncode != 0
    assert "built with the other std::string ABI than the MindSpore C++ SDK" in result.stdout + result.stderr
    assert not (app / "out" / "main").exists()


def debian_gflags(env) -> Path:
    """The gflags prefix build.sh uses: the copy get_lite_sdk.sh cached, else the system's."""
    cache = Path(env.get("FCN4_CACHE") or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fcn4")
    for prefix in (cache / "gflags" / "usr", Path("/usr/local"), Path("/usr")):
        if (prefix / "include" / "gflags" / "gflags.h").is_file():
            return prefix
    raise AssertionError("get_lite_sdk.sh left no gflags")


@pytest.fixture(scope="module")
def lite_tagging(lite_project, tmp_path_factory, mindspore_cpu):
    """A narrow checkpoint, its LITE export (export.py), a folder of two tracks, and an env for tag.py with the Lite
    tools and a cache folder of its own."""
    root = tmp_path_factory.mktemp("lite_tagging")
    network = random_network(NARROW_CHANNELS, NUM_TAGS, seed=11)
    ckpt = save_checkpoint(network, root / "ckpt")
    tags = write_tags(root / "ckpt" / "tags.txt", NUM_TAGS)
    env = {**lite_project[1], "FCN4_CACHE": str(root / "cache")}
    export_lite(env, "--ckpt_file", str(ckpt), "--file_name", str(root / "fcn4"), "--export_batch_size", "2")
    music = root / "music"
    write_tone(music / "short.wav", 8.0, 22050, seed=1)
    write_tone(music / "long.flac", 40.0, 44100, channels=2, seed=2)
    return {"root": root, "ckpt": ckpt, "lite": root / "fcn4.mslite", "music": music, "env": env, "tags": tags}


def _taggrams(result) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return {Path(t["path"]).name: np.array(t["taggram"]) for t in json.loads(result.stdout)["tracks"]}


def test_tag_py_runs_a_lite_model_and_picks_lite_for_a_checkpoint(lite_tagging):
    """tag.py on the .mslite export and on the checkpoint (auto: Lite, compiled once) tags as MindSpore does."""
    setup = lite_tagging
    args = (str(setup["music"]), "--format", "json", "--hop_seconds", "10", "--no_progress")
    on_mindspore = _taggrams(
        run_script("tag.py", "--model", str(setup["ckpt"]), *args, "--backend", "mindspore", env=setup["env"])
    )
    on_lite = run_script("tag.py", "--model", str(setup["lite"]), *args, env=setup["env"])
    assert "runtime: MindSpore Lite (.mslite file)" in on_lite.stderr
    first = run_script("tag.py", "--model", str(setup["ckpt"]), *args, env=setup["env"])
    assert "runtime: MindSpore Lite (the fastest exact runtime installed" in first.stderr
    assert "compiling" in first.stderr
    again = run_script("tag.py", "--model", str(setup["ckpt"]), *args, env=setup["env"])
    assert "compiling" not in again.stderr  # compiled once, then reused from the cache
    for result in (on_lite, first, again):
        taggrams = _taggrams(result)
        assert set(taggrams) == {"short.wav", "long.flac"} and taggrams["long.flac"].shape == (3, NUM_TAGS)
        for name, taggram in taggrams.items():
            np.testing.assert_allclose(taggram, on_mindspore[name], atol=PROBABILITY_TOLERANCE)


def test_the_api_runs_a_lite_model_in_one_app_process(lite_tagging, monkeypatch):
    import fcn4

    setup = lite_tagging
    for name, value in setup["env"].items():
        if name.startswith("FCN4_"):
            monkeypatch.setenv(name, value)
    reference = fcn4.load_model(setup["ckpt"], device="CPU", backend="mindspore")
    with fcn4.load_model(setup["lite"]) as lite:
        assert lite.kind == "MindSpore Lite" and lite.tags == setup["tags"] and lite.backend.batch_size is None
        server = lite.backend.server
        features = feature_batch(5, seed=4)
        for batch_size in (1, 2, 5):  # Lite resizes its input: every batch unpadded, in the same process
            np.testing.assert_allclose(
                lite.predict(features, batch_size=batch_size), reference.predict(features), atol=PROBABILITY_TOLERANCE
            )
        track = setup["music"] / "long.flac"
        np.testing.assert_allclose(
            lite.tag(track, hop_seconds=10).taggram, reference.tag(track, hop_seconds=10).taggram, atol=1e-4
        )
        embedded, expected = lite.embed(track).windows, reference.embed(track).windows
        assert np.abs(embedded - expected).max() <= EMBEDDING_RTOL * np.abs(expected).max()
        assert server._process.poll() is None
    assert server._process.returncode == 0  # closed with the model


def test_the_host_runner_runs_the_310_protocol_on_a_lite_model(lite_tagging, tmp_path):
    setup = lite_tagging
    data = tmp_path / bin_protocol.DATA_DIR
    data.mkdir()
    for index in range(2):
        feature_batch(2, seed=index).tofile(data / bin_protocol.input_name(2, index))
    args = (f"--mindir_path={setup['lite']}", f"--input0_path={data}")
    result = subprocess.run(
        [sys.executable, "-m", "src.inference.host_infer", *args],
        cwd=tmp_path,
        env={**setup["env"], "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "infer_count 2" in result.stdout
    ckpt_backend = CheckpointBackend(setup["ckpt"])
    for index in range(2):
        name = bin_protocol.input_name(2, index)
        got = np.fromfile(tmp_path / bin_protocol.RESULT_DIR / bin_protocol.output_name(name, 0), np.float32)
        expected = ckpt_backend.predict(np.fromfile(data / name, np.float32).reshape(2, 1, 96, 1366))
        assert np.abs(got.reshape(expected.shape) - expected).max() <= PROBABILITY_TOLERANCE


def test_serve_py_serves_a_lite_model(lite_tagging, monkeypatch):
    import fcn4
    from tests.helpers.serving import Server

    setup = lite_tagging
    for name, value in setup["env"].items():
        if name.startswith("FCN4_"):
            monkeypatch.setenv(name, value)
    track = setup["music"] / "long.flac"
    expected = fcn4.load_model(setup["ckpt"], device="CPU", backend="mindspore").tag(track, hop_seconds=10).taggram
    with Server("--model", str(setup["lite"]), "--batch_size", "4", "--hop_seconds", "10") as served:
        with open(track, "rb") as handle:
            reply = served.client.post("/v1/tag", files={"file": (track.name, handle, "application/octet-stream")})
        described = served.client.get("/v1/model").json()
    assert reply.status_code == 200, reply.text
    assert described["backend"] == "MindSpore Lite"
    np.testing.assert_allclose(np.array(reply.json()["taggram"]), expected, atol=1e-4)
