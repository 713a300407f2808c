"""Raw-audio (waveform) exports served like log-mel ones: tag.py with a waveform ONNX and MindIR gives the log-mel
export's tags on the same files without computing a mel in Python (and the ONNX path without MindSpore), and the
310 chain in raw mode (preprocess.py --export_input waveform -> src.inference.host_infer -> postprocess.py) gives
the log-mel chain's metrics on the same checkpoint and split."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from src import features
from src.inference import bin_protocol, tagging
from src.inference.backends import OnnxBackend
from src.preprocess.annotations import read_mtat
from tests.helpers.datasets import make_corpus, split_rows
from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint, write_tags, write_tone
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

HOP = 10.0
EXPORT_BATCH = 2
CHAIN_BATCH = 4  # val gets 9 clips: the last .bin batch is padded
KINDS = ("logmel", "waveform")
TOLERANCE = 1e-4  # the parity bound on tag probabilities


def _export(ckpt, file_name, file_format, input_kind, batch, *extra):
    result = run_script(
        "export.py",
        "--ckpt_file",
        str(ckpt),
        "--file_name",
        str(file_name),
        "--file_format",
        file_format,
        "--export_batch_size",
        str(batch),
        "--export_input",
        input_kind,
        "--device_target",
        "CPU",
        *extra,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return file_name.parent / (file_name.name + (".onnx" if file_format == "ONNX" else ".mindir"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory, mindspore_cpu):
    """Three files (short, 40 s, stereo 44.1 kHz) and one narrow checkpoint exported as log-mel ONNX, waveform
    ONNX and waveform MindIR."""
    root = tmp_path_factory.mktemp("waveform_serving")
    music = root / "music"
    write_tone(music / "short_8k.flac", 4.0, 8000, seed=2)
    write_tone(music / "mid_22k.ogg", 40.0, 22050, seed=3)
    write_tone(music / "stereo_44k.wav", 35.0, 44100, channels=2, seed=1)
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, seed=9), root / "ckpt")
    tags = write_tags(root / "ckpt" / "tags.txt", 50)
    models = {
        "logmel": _export(ckpt, root / "export" / "logmel", "ONNX", "logmel", EXPORT_BATCH),
        "waveform_onnx": _export(ckpt, root / "export" / "waveform", "ONNX", "waveform", EXPORT_BATCH),
        "waveform_mindir": _export(ckpt, root / "export" / "waveform", "MINDIR", "waveform", EXPORT_BATCH),
    }
    return {"root": root, "music": music, "models": models, "tags": tags}


def _tag(model, *args, env=None):
    return run_script("tag.py", "--model", str(model), *args, "--no_progress", "--device_target", "CPU", env=env)


@pytest.fixture(scope="module")
def reports(setup):
    """tag.py --format json on the folder with each model, hop 10 s; the log line names the input kind."""
    out = {}
    for name, model in setup["models"].items():
        path = setup["root"] / f"{name}.json"
        result = _tag(model, str(setup["music"]), "--format", "json", "--output", str(path), "--hop_seconds", str(HOP))
        assert result.returncode == 0, result.stderr[-3000:]
        assert (
            f"(batch {EXPORT_BATCH}, {'logmel' if name == 'logmel' else 'waveform'} input, 50 tags, 16-d embedding)"
            in result.stderr
        )
        out[name] = json.loads(path.read_text())
    return out


@pytest.mark.parametrize("name", ["waveform_onnx", "waveform_mindir"])
def test_a_waveform_export_gives_the_log_mel_exports_tags(reports, name):
    expected, got = reports["logmel"], reports[name]
    assert [t["path"] for t in got["tracks"]] == [t["path"] for t in expected["tracks"]]
    assert len(got["tracks"]) == 3 and got["skipped"] == []
    for a, b in zip(expected["tracks"], got["tracks"], strict=True):
        assert b["window_starts_s"] == a["window_starts_s"] and b["duration_s"] == a["duration_s"]
        np.testing.assert_allclose(b["taggram"], a["taggram"], rtol=0, atol=TOLERANCE, err_msg=b["path"])
        np.testing.assert_allclose(b["mean"], a["mean"], rtol=0, atol=TOLERANCE, err_msg=b["path"])
    windows = {t["path"].split("music/")[1]: len(t["window_starts_s"]) for t in got["tracks"]}
    assert windows == {"mid_22k.ogg": 3, "short_8k.flac": 1, "stereo_44k.wav": 2}


def test_waveform_onnx_tagging_never_imports_mindspore(setup, tmp_path):
    blocker = tmp_path / "blocker" / "mindspore"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('mindspore must not be imported on the ONNX path')\n")
    result = _tag(
        setup["models"]["waveform_onnx"], str(setup["music"]), "--top_k", "3", env={"PYTHONPATH": str(blocker.parent)}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(batch 2, waveform input, 50 tags, 16-d embedding)" in result.stderr
    assert result.stdout.count("\n") >= 3 and "stereo_44k.wav" in result.stdout


def test_tagging_with_a_waveform_model_computes_no_mel_in_python(setup, monkeypatch):
    files = tagging.collect_audio([setup["music"]])
    logmel = list(tagging.tag_tracks(OnnxBackend(setup["models"]["logmel"]), files, HOP, 2, progress=False))

    def no_mel(_):
        raise AssertionError("log_mel must not run for a waveform model")

    monkeypatch.setattr(tagging, "log_mel", no_mel)
    backend = OnnxBackend(setup["models"]["waveform_onnx"])
    waveform = list(tagging.tag_tracks(backend, files, HOP, 2, progress=False))

    assert backend.input_kind == "waveform" and backend.input_shape == (features.CLIP_SAMPLES,)
    for a, b in zip(logmel, waveform, strict=True):
        assert not b.error and b.scores.shape == a.scores.shape
        np.testing.assert_allclose(b.scores, a.scores, rtol=0, atol=TOLERANCE)


def test_read_input_takes_the_models_own_input_shape(tmp_path):
    batch = np.random.default_rng(0).normal(0, 0.1, (3, features.CLIP_SAMPLES)).astype(np.float32)
    batch.tofile(tmp_path / "fcn4_bs3_0.bin")
    read = bin_protocol.read_input(tmp_path / "fcn4_bs3_0.bin", 3, (features.CLIP_SAMPLES,))
    np.testing.assert_array_equal(read, batch)
    with pytest.raises(Exception, match=r"the model input needs .* = 3 x \[1, 96, 1366\] float32"):
        bin_protocol.read_input(tmp_path / "fcn4_bs3_0.bin", 3)


# ---------------------------------------------------------------- the 310 chain in raw mode


@pytest.fixture(scope="module")
def chain(tmp_path_factory, mindspore_cpu):
    """A tiny corpus and dataset, a narrow checkpoint exported to log-mel and waveform MindIR, and for each
    kind the whole chain: preprocess.py 310 -> host_infer -> postprocess.py (its JSON)."""
    root = tmp_path_factory.mktemp("raw_chain")
    make_corpus(root, num_clips=20, seed=7, split_args=("--train_ratio", "0.55", "--split_seed", "2"))
    mr = root / "mr"
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, seed=9), root / "ckpt")
    out = {"root": root, "mr": mr}
    for kind in KINDS:
        work = root / kind
        work.mkdir()
        mindir = _export(ckpt, root / "export" / kind, "MINDIR", kind, CHAIN_BATCH, "--mr_path", str(mr))
        result = _preprocess_310(mr, work / "preprocess_Result", kind)
        assert result.returncode == 0, result.stderr[-3000:]
        infer = subprocess.run(
            [sys.executable, "-m", "src.inference.host_infer", f"--mindir_path={mindir}"]
            + ["--input0_path=preprocess_Result/00_data", "--device_target", "CPU"],
            cwd=work,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert infer.returncode == 0, infer.stderr[-3000:]
        post = run_script(
            "postprocess.py",
            "--post_result_path",
            str(work / "result_Files"),
            "--label_path",
            str(work / "preprocess_Result" / "label_ids.npy"),
            "--mr_path",
            str(mr),
            "--result_file",
            str(work / "postprocess.json"),
        )
        assert post.returncode == 0, post.stderr[-3000:]
        out[kind] = {"work": work, "infer": infer.stdout, "post": post.stdout}
        out[kind]["metrics"] = json.loads((work / "postprocess.json").read_text())
    return out


def _preprocess_310(mr, result_path, kind, *extra):
    """preprocess.py --preprocess_mode 310 of mr's val split, batch CHAIN_BATCH, for models of input `kind`."""
    options = {"mr_path": mr, "result_path": result_path, "export_batch_size": CHAIN_BATCH, "export_input": kind}
    return run_script("preprocess.py", "--preprocess_mode=310", *(f"--{k}={v}" for k, v in options.items()), *extra)


def test_raw_bins_are_the_clips_samples_in_the_log_mel_dumps_order(chain):
    dumps = {kind: chain[kind]["work"] / "preprocess_Result" for kind in KINDS}
    labels = [np.load(dumps[kind] / bin_protocol.LABELS_FILE) for kind in KINDS]
    np.testing.assert_array_equal(labels[0], labels[1])
    names = sorted(p.name for p in (dumps["waveform"] / bin_protocol.DATA_DIR).iterdir())
    assert names == sorted(p.name for p in (dumps["logmel"] / bin_protocol.DATA_DIR).iterdir())
    assert names == [bin_protocol.input_name(CHAIN_BATCH, i) for i in range(3)]
    clips = len(labels[0])
    rows = np.concatenate(
        [
            bin_protocol.read_input(dumps["waveform"] / "00_data" / n, CHAIN_BATCH, (features.CLIP_SAMPLES,))
            for n in names
        ]
    )
    mels = np.concatenate([bin_protocol.read_input(dumps["logmel"] / "00_data" / n, CHAIN_BATCH) for n in names])
    assert not rows[clips:].any(), "the last batch is padded with zero samples"
    for row, mel in zip(rows[:clips], mels[:clips], strict=True):
        np.testing.assert_array_equal(features.log_mel(row), mel)  # the very clip, cut as preprocessing cut it


def test_raw_chain_gives_the_log_mel_chains_metrics(chain):
    expected, got = chain["logmel"]["metrics"], chain["waveform"]["metrics"]
    assert got["num_samples"] == expected["num_samples"] == 9
    for key in ("num_tags_scored", "roc_auc", "pr_auc", "reference_auc"):
        assert got[key] == pytest.approx(expected[key], abs=1e-6), key
    assert chain["waveform"]["post"].splitlines()[-1] == chain["logmel"]["post"].splitlines()[-1]
    assert "infer_count 3" in chain["waveform"]["infer"]
    raw = np.fromfile(chain["waveform"]["work"] / "result_Files" / "fcn4_bs4_0_0.bin", np.float32)
    mel = np.fromfile(chain["logmel"]["work"] / "result_Files" / "fcn4_bs4_0_0.bin", np.float32)
    np.testing.assert_allclose(raw, mel, rtol=0, atol=TOLERANCE)


def test_a_clip_whose_audio_is_gone_stops_the_raw_dump_in_one_line(chain, tmp_path):
    root, mr = chain["root"], chain["mr"]
    clip_id = split_rows(mr, "val")[0][0]
    annotations = read_mtat(root / "mtat" / "annotations_final.csv")
    mp3 = root / "mtat" / annotations.mp3_paths[annotations.clip_ids.tolist().index(clip_id)]
    moved = tmp_path / "moved.mp3"
    shutil.move(mp3, moved)
    try:
        result = _preprocess_310(mr, tmp_path / "out", "waveform")
    finally:
        shutil.move(moved, mp3)
    assert_one_line_error(result, f"clip {clip_id} ({mp3}): missing file", "labels must stay aligned")
    assert list(tmp_path.iterdir()) == [], "no result and no partial folder left"


def test_the_raw_dump_refuses_an_annotation_file_other_than_the_datasets(chain, tmp_path):
    other = tmp_path / "annotations_final.csv"
    other.write_text((chain["root"] / "mtat" / "annotations_final.csv").read_text() + "\n")
    result = _preprocess_310(chain["mr"], tmp_path / "out", "waveform", "--info_path", str(other))
    assert_one_line_error(result, f"annotation file {other} is missing or not the one", "set info_path")
    assert not (tmp_path / "out").exists()
