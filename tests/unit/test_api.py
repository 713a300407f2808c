"""The Python API (src/api.py, importable as `fcn4`) in both MindSpore execution modes: the network's forward
pass, one train step, tagging a file and a waveform array, predict and evaluate; and docs/tagging.md's example."""

import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import fcn4
from src.core.errors import UserError
from src.core.runtime import current_mode, set_mode
from src.evaluation.metrics import per_tag_roc_auc
from src.features import CLIP_SAMPLES, SAMPLE_RATE
from src.inference.formats import open_backend
from src.inference.tagging import tag_tracks, window_starts
from src.training.trainer import build_train_cell
from tests.helpers.models import NARROW_CHANNELS, feature_batch, random_network, save_checkpoint, write_tags, write_tone
from tests.helpers.processes import ROOT

NUM_TAGS = 6
MODES = ("graph", "pynative")


@pytest.fixture(params=MODES)
def mode(request, mindspore_cpu):
    """Each test in graph and in PyNative mode; the session's mode is restored afterwards."""
    before = current_mode()
    set_mode(request.param)
    yield request.param
    set_mode(before)


@pytest.fixture(scope="module")
def run(tmp_path_factory, mindspore_cpu):
    """A narrow checkpoint with tags.txt beside it, a 40 s stereo 22.05 kHz file and a 9 s mono mp3."""
    folder = tmp_path_factory.mktemp("api")
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, NUM_TAGS, seed=3), folder / "checkpoints")
    tags = write_tags(folder / "checkpoints" / "tags.txt", NUM_TAGS)
    long = write_tone(folder / "long.flac", 40.0, 22050, channels=2, seed=1)
    short = write_tone(folder / "short.mp3", 9.0, 16000, seed=2)
    return {"ckpt": ckpt, "tags": tags, "long": long, "short": short, "folder": folder}


@pytest.mark.e2e  # a fresh process
def test_importing_the_api_imports_no_mindspore_and_sets_nothing():
    code = "import sys, fcn4; assert 'mindspore' not in sys.modules; print(sorted(fcn4.__all__))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['Model', 'TagResult', 'evaluate', 'export', 'load_model', 'log_mel_features']"


def test_the_network_gives_the_same_probabilities_in_both_modes(mindspore_cpu):
    ms = mindspore_cpu
    network = random_network(NARROW_CHANNELS, NUM_TAGS, seed=5)
    features = ms.Tensor(feature_batch(3, seed=0))
    outputs = {}
    before = current_mode()
    try:
        for name in MODES:
            set_mode(name)
            outputs[name] = network(features).asnumpy()
    finally:
        set_mode(before)
    assert outputs["graph"].shape == (3, NUM_TAGS)
    np.testing.assert_allclose(outputs["pynative"], outputs["graph"], atol=1e-6)


def test_one_train_step_lowers_the_loss_on_its_batch(mode, mindspore_cpu):
    ms = mindspore_cpu
    network = random_network(NARROW_CHANNELS, NUM_TAGS, seed=6)
    network.set_train(True)
    cell = build_train_cell(network, lr=0.01, loss_scale=1024.0)
    features = ms.Tensor(feature_batch(4, seed=1))
    labels = ms.Tensor(np.random.default_rng(0).integers(0, 2, (4, NUM_TAGS)).astype(np.float32))
    losses = [float(cell(features, labels).asnumpy()) for _ in range(3)]
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], losses


def test_a_model_tags_a_file_as_tag_py_does(mode, run):
    model = fcn4.load_model(run["ckpt"], device="CPU", backend="mindspore")
    assert current_mode() == mode  # loading keeps the caller's mode
    assert model.tags == run["tags"] and model.kind == "checkpoint" and model.input_shape == (1, 96, 1366)
    result = model.tag(run["long"], top_k=3, hop_seconds=10.0)
    starts = window_starts(round(result.duration_s * SAMPLE_RATE), 10 * SAMPLE_RATE) / SAMPLE_RATE
    np.testing.assert_allclose(result.window_starts_s, starts)
    assert len(starts) == 3 and result.taggram.shape == (len(starts), NUM_TAGS) and result.taggram.dtype == np.float32
    assert result.duration_s == pytest.approx(40.0, abs=1e-3)
    (track,) = tag_tracks(open_backend(run["ckpt"]), [run["long"]], 10.0, 8, workers=0, progress=False)
    np.testing.assert_allclose(result.taggram, track.scores, atol=1e-6)
    assert [tag for tag, _ in result.top] == [run["tags"][i] for i in np.argsort(-track.aggregate("mean"))[:3]]
    assert list(result.probabilities) == run["tags"]
    np.testing.assert_allclose(list(result.probabilities.values()), result.mean)
    np.testing.assert_allclose(result.max, result.taggram.max(axis=0))


def test_by_default_a_checkpoint_runs_on_the_fastest_installed_runtime(run, mindspore_cpu):
    """Under the test suite no Lite tools are built (tests/conftest.py), so `auto` is ONNX Runtime: the checkpoint
    compiled once into the cache, within the ONNX tolerance of MindSpore on the checkpoint."""
    from src.inference.formats import EXPORT_FORMATS
    from src.model.pretrained import cache_dir

    with fcn4.load_model(run["ckpt"], device="CPU") as fastest:
        assert fastest.kind == "ONNX" and fastest.tags == run["tags"]
        compiled = fastest.backend.path
        assert compiled.parent == cache_dir() / "compiled" and compiled.suffix == ".onnx"
        reference = fcn4.load_model(run["ckpt"], device="CPU", backend="mindspore")
        features = feature_batch(5, seed=8)
        assert np.abs(fastest.predict(features, batch_size=2) - reference.predict(features)).max() <= (
            EXPORT_FORMATS["ONNX"].tolerance
        )
    again = fcn4.load_model(run["ckpt"], device="CPU", backend="onnx")
    assert again.backend.path == compiled and compiled.stat().st_mtime_ns == again.backend.path.stat().st_mtime_ns


def test_export_writes_the_fastest_format_installed(run, tmp_path, mindspore_cpu):
    exported = fcn4.export(run["ckpt"], tmp_path / "fcn4", batch_size=2)  # no Lite tools here: ONNX
    assert exported == tmp_path / "fcn4.onnx" and exported.is_file()
    with fcn4.load_model(exported, tags_file=run["folder"] / "checkpoints" / "tags.txt") as onnx:
        reference = fcn4.load_model(run["ckpt"], device="CPU", backend="mindspore")
        features = feature_batch(2, seed=3)
        assert np.abs(onnx.predict(features) - reference.predict(features)).max() <= 1e-4
    with pytest.raises(UserError, match="file_format='PB': expected fastest, MINDIR, ONNX or LITE"):
        fcn4.export(run["ckpt"], tmp_path / "other", "PB")


def test_a_waveform_array_tags_as_the_same_audio_in_a_file(mode, run):
    model = fcn4.load_model(run["ckpt"], device="CPU", backend="mindspore")
    y, sr = sf.read(run["long"], dtype="float32", always_2d=True)
    from_array = model.tag(y.T, sample_rate=sr, hop_seconds=10.0, aggregate="max")
    from_file = model.tag(run["long"], hop_seconds=10.0, aggregate="max")
    assert from_array.path is None and from_array.aggregate == "max"
    np.testing.assert_allclose(from_array.taggram, from_file.taggram, atol=1e-5)
    at_model_rate = model.tag(np.zeros(CLIP_SAMPLES // 2, np.float32), sample_rate=SAMPLE_RATE)
    assert at_model_rate.taggram.shape == (1, NUM_TAGS) and at_model_rate.duration_s == pytest.approx(14.56)


def test_predict_and_evaluate_give_eval_py_metrics(mode, run):
    from sklearn.metrics import roc_auc_score

    model = fcn4.load_model(run["ckpt"], device="CPU", backend="mindspore")
    features = feature_batch(10, seed=4)
    scores = model.predict(features, batch_size=4)
    assert scores.shape == (10, NUM_TAGS) and scores.dtype == np.float32
    np.testing.assert_allclose(model.predict(features[0])[0], scores[0], atol=1e-6)
    clip = fcn4.log_mel_features(run["short"])
    np.testing.assert_allclose(model.predict(clip[np.newaxis]), model.tag(run["short"]).taggram, atol=1e-6)
    labels = (np.random.default_rng(1).random((10, NUM_TAGS)) < 0.5).astype(np.int32)
    labels[0], labels[1] = 1, 0  # every tag has a positive and a negative
    summary = fcn4.evaluate(labels, scores, model.tags)
    assert summary["num_samples"] == 10 and summary["num_tags_scored"] == NUM_TAGS
    assert summary["roc_auc"] == pytest.approx(roc_auc_score(labels, scores, average="macro"))
    assert [row["tag"] for row in summary["per_tag"]] == model.tags
    np.testing.assert_allclose([row["roc_auc"] for row in summary["per_tag"]], per_tag_roc_auc(labels, scores))


def test_bad_calls_are_one_line_user_errors(run, mindspore_cpu):
    model = fcn4.load_model(run["ckpt"], device="CPU", backend="mindspore")
    cases = [
        (lambda: model.tag(np.zeros(100)), "sample_rate"),
        (lambda: model.tag(np.zeros((2, 3, 4)), sample_rate=8000), "(channels, samples)"),
        (lambda: model.tag(run["folder"] / "missing.wav"), "missing file"),
        (lambda: model.tag(run["short"], top_k=0), "top_k=0"),
        (lambda: model.tag(run["short"], aggregate="median"), "aggregate='median'"),
        (lambda: model.predict(np.zeros((2, 96, 1366))), "(N, 1, 96, 1366)"),
        (lambda: fcn4.load_model(run["folder"] / "model.pt"), "unknown model type"),
    ]
    for call, needle in cases:
        with pytest.raises(UserError) as err:
            call()
        assert needle in str(err.value) and "\n" not in str(err.value)


def _readme_example() -> str:
    """The example of docs/tagging.md's "Use it from Python" section (the README points there)."""
    section = (ROOT / "docs" / "tagging.md").read_text().split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.+?)\n```", section, flags=re.S)
    assert len(blocks) == 1, "docs/tagging.md's Python section holds one example"
    return blocks[0]


def test_the_readme_example_runs_in_pynative_mode(run, tmp_path, monkeypatch, capsys, mindspore_cpu):
    """The example as a notebook would run it, from a folder holding checkpoints/ and song.mp3."""
    for name in ("MusicTagger-best.ckpt", "model_params.json", "tags.txt"):
        (tmp_path / "checkpoints").mkdir(exist_ok=True)
        (tmp_path / "checkpoints" / name).write_bytes((run["folder"] / "checkpoints" / name).read_bytes())
    write_tone(tmp_path / "song.mp3", 35.0, 44100, channels=2, seed=7)
    monkeypatch.chdir(tmp_path)
    before = current_mode()
    try:
        exec(compile(_readme_example(), "docs/tagging.md", "exec"), {})  # noqa: S102 - the page's own example
        assert current_mode() == "pynative"
    finally:
        set_mode(before)
    out = capsys.readouterr().out
    assert "roc_auc" in out and "tag 0" in out
