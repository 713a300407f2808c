"""The 310 .bin protocol (src/inference/bin_protocol.py): preprocess.py's 310 mode on a real MindRecord, the host-side
runner (src/inference/host_infer.py) on a real exported MindIR, and the readers postprocess.py relies on."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from src.core.errors import UserError
from src.dataset import SplitWriter
from src.features import FEATURE_SHAPE
from src.inference import bin_protocol
from src.inference.exporting import export_model
from tests.helpers.models import NARROW_CHANNELS, random_network
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

NUM_CLIPS, NUM_CLASSES = 7, 50


@pytest.fixture(scope="module")
def split(tmp_path_factory, mindspore_cpu):
    """A 2-shard val MindRecord of NUM_CLIPS random clips; returns (mr_dir, {clip id: (feature, label)})."""
    mr = tmp_path_factory.mktemp("mr")
    rng = np.random.default_rng(4)
    clips = {}
    writer = SplitWriter(mr, "val", num_shards=2, num_classes=NUM_CLASSES)
    for clip_id in range(100, 100 + NUM_CLIPS):
        feature = rng.normal(-30.0, 20.0, FEATURE_SHAPE).astype(np.float32)
        label = (rng.random(NUM_CLASSES) < 0.3).astype(np.int32)
        writer.add(clip_id, feature, label)
        clips[clip_id] = (feature, label)
    writer.commit()
    return mr, clips


def _preprocess_310(mr, out, batch_size, *extra):
    return run_script(
        "preprocess.py",
        "--preprocess_mode",
        "310",
        "--mr_path",
        str(mr),
        "--result_path",
        str(out),
        "--export_batch_size",
        str(batch_size),
        *extra,
    )


@pytest.fixture(scope="module")
def bins(split, tmp_path_factory):
    """preprocess.py --preprocess_mode 310 with batch 3 run on `split`: the preprocess_Result folder."""
    out = tmp_path_factory.mktemp("bins") / "preprocess_Result"
    result = _preprocess_310(split[0], out, 3)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_preprocess_310_writes_padded_batches_and_labels_of_every_clip(split, bins):
    _, clips = split
    out = bins

    names = sorted(p.name for p in (out / "00_data").iterdir())
    assert names == ["fcn4_bs3_0.bin", "fcn4_bs3_1.bin", "fcn4_bs3_2.bin"]
    rows = np.concatenate([bin_protocol.read_input(out / "00_data" / n, 3) for n in names])
    labels = np.load(out / "label_ids.npy", allow_pickle=False)
    assert labels.shape == (NUM_CLIPS, NUM_CLASSES) and labels.dtype == np.int32
    assert not rows[NUM_CLIPS:].any(), "the last batch is padded with zero features"
    seen = set()
    for row, label in zip(rows[:NUM_CLIPS], labels, strict=True):
        clip_id = next(i for i, (feature, _) in clips.items() if np.array_equal(feature, row))
        np.testing.assert_array_equal(label, clips[clip_id][1])
        seen.add(clip_id)
    assert seen == set(clips), "every clip exactly once"


def test_preprocess_310_replaces_an_earlier_result_as_a_whole(split, tmp_path):
    mr, _ = split
    out = tmp_path / "preprocess_Result"
    assert _preprocess_310(mr, out, 3).returncode == 0
    result = _preprocess_310(mr, out, 4)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (out / "00_data").iterdir()) == ["fcn4_bs4_0.bin", "fcn4_bs4_1.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preprocess_Result"]  # no temp folder left


def _tree(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*"))


def test_preprocess_310_never_replaces_the_dataset_or_a_folder_above_it(split, tmp_path):
    mr, _ = split
    before = _tree(mr)
    for result_path, shown in ((mr, str(mr)), (mr / "..", str(mr / ".."))):
        result = _preprocess_310(mr, result_path, 3)
        assert_one_line_error(result, f"result_path={shown!r} is mr_path or a folder above it")
        assert _tree(mr) == before


def test_preprocess_310_never_replaces_a_checkpoint_folder_or_one_above_it(split, tmp_path):
    mr, _ = split
    run = tmp_path / "runs" / "run1"
    run.mkdir(parents=True)
    (run / "MusicTagger-best.ckpt").write_bytes(b"weights")
    for result_path in (run, tmp_path / "runs"):
        result = _preprocess_310(mr, result_path, 3, "--checkpoint_path", str(run))
        assert_one_line_error(result, f"result_path={str(result_path)!r} is checkpoint_path or a folder above it")
    assert (run / "MusicTagger-best.ckpt").read_bytes() == b"weights"


def test_preprocess_310_refuses_a_folder_holding_anything_but_a_dump(split, bins, tmp_path):
    mr, _ = split
    out = tmp_path / "result"
    shutil.copytree(bins, out)
    (out / "notes.txt").write_text("mine")
    result = _preprocess_310(mr, out, 3)
    assert_one_line_error(result, f"result_path={str(out)!r} holds other files than a 310 dump (notes.txt)")
    assert (out / "notes.txt").read_text() == "mine" and sorted(p.name for p in out.iterdir())[0] == "00_data"
    (out / "notes.txt").unlink()
    (out / "00_data" / "fcn4_bs3_0.bin.orig").write_bytes(b"x")
    assert_one_line_error(_preprocess_310(mr, out, 3), "(00_data)")
    (out / "00_data" / "fcn4_bs3_0.bin.orig").unlink()
    assert _preprocess_310(mr, out, 3).returncode == 0  # a previous dump is replaced, as before
    (tmp_path / "a_file").write_text("mine")
    assert_one_line_error(_preprocess_310(mr, tmp_path / "a_file", 3), "exists and is not a folder")


@pytest.mark.parametrize(
    "result_path, what",
    [(".", "the current folder"), ("..", "the current folder"), ("/", "the current folder"), ("~", "home")],
)
def test_the_current_folder_home_and_the_root_are_never_replaced(tmp_path, monkeypatch, result_path, what):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = str(Path(result_path).expanduser())
    with pytest.raises(UserError, match=rf"result_path='{re.escape(path)}' is .*{what}.* or a folder above it"):
        bin_protocol.check_result_path(path, {})


def test_preprocess_310_without_shards_is_a_one_line_error(tmp_path):
    result = _preprocess_310(tmp_path, tmp_path / "out", 2)
    assert_one_line_error(result, "no MindRecord shards for split 'val'")
    assert not (tmp_path / "out").exists()


def _host_infer(workdir, mindir, inputs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "src.inference.host_infer",
            f"--mindir_path={mindir}",
            f"--input0_path={os.path.relpath(inputs, workdir)}",
            "--device_target",
            "CPU",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_host_runner_follows_the_310_protocol(bins, tmp_path, mindspore_cpu):
    import mindspore as ms

    network = random_network(NARROW_CHANNELS, seed=8)
    mindir = export_model(network, str(tmp_path / "fcn4"), "MINDIR", 3).path

    result = _host_infer(tmp_path, mindir, bins / "00_data")

    assert result.returncode == 0, result.stderr[-3000:]
    order = re.findall(r"Start predict input file: \S*/(\S+)", result.stdout)
    assert order == ["fcn4_bs3_0.bin", "fcn4_bs3_1.bin", "fcn4_bs3_2.bin"]
    for i in range(3):
        features = bin_protocol.read_input(bins / "00_data" / f"fcn4_bs3_{i}.bin", 3)
        got = np.fromfile(tmp_path / "result_Files" / f"fcn4_bs3_{i}_0.bin", np.float32).reshape(3, NUM_CLASSES)
        np.testing.assert_allclose(got, network(ms.Tensor(features)).asnumpy(), rtol=0, atol=1e-5)
    perf = (tmp_path / "time_Result" / "test_perform_static.txt").read_text()
    assert re.fullmatch(r"NN inference cost average time: \d+\.\d{3} ms of infer_count 3\n", perf)


def test_host_runner_rejects_bins_of_another_batch(bins, tmp_path, mindspore_cpu):
    mindir = export_model(random_network(NARROW_CHANNELS), str(tmp_path / "fcn4"), "MINDIR", 2).path
    result = _host_infer(tmp_path, mindir, bins / "00_data")
    feature_bytes = 4 * int(np.prod(FEATURE_SHAPE))
    assert_one_line_error(
        result, "fcn4_bs3_0.bin", f"holds {3 * feature_bytes} bytes but the model input needs {2 * feature_bytes}"
    )
    assert not any((tmp_path / "result_Files").glob("*.bin"))


# ---------------------------------------------------------------- readers and names


def test_names_and_perf_line_follow_the_cpp_app():
    assert bin_protocol.input_name(32, 7) == "fcn4_bs32_7.bin"
    assert bin_protocol.output_name("x/00_data/fcn4_bs32_7.bin", 0) == "fcn4_bs32_7_0.bin"
    assert bin_protocol.perf_summary([1.0, 2.5]) == "NN inference cost average time: 1.750 ms of infer_count 2\n"


def _write_results(folder, scores, batch_size):
    folder.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, len(scores), batch_size)):
        batch = bin_protocol.pad_batch(scores[start : start + batch_size], batch_size)
        batch.tofile(folder / f"fcn4_bs{batch_size}_{i}_0.bin")


def test_read_results_drops_padding_and_checks_every_batch(tmp_path):
    scores = np.random.default_rng(0).random((7, 5)).astype(np.float32)
    labels = np.zeros((7, 5), np.int32)
    _write_results(tmp_path / "r", scores, 3)
    np.testing.assert_array_equal(bin_protocol.read_results(tmp_path / "r", labels), scores)

    with pytest.raises(UserError, match=r"fcn4_bs3_0_0.bin: 60 bytes, expected 72 \(3 x 6 float32 scores\)"):
        bin_protocol.read_results(tmp_path / "r", np.zeros((7, 6), np.int32))
    (tmp_path / "r" / "fcn4_bs3_1_0.bin").unlink()
    with pytest.raises(UserError, match=r"2 result files of batch 3 for 7 labelled clips, expected 3 .*missing \[1\]"):
        bin_protocol.read_results(tmp_path / "r", labels)


def test_read_results_refuses_mixed_batch_sizes_and_empty_folders(tmp_path):
    labels = np.zeros((4, 2), np.int32)
    _write_results(tmp_path / "r", np.zeros((4, 2), np.float32), 2)
    _write_results(tmp_path / "r", np.zeros((4, 2), np.float32), 4)
    with pytest.raises(UserError, match=r"mixes results of batch sizes \[2, 4\]"):
        bin_protocol.read_results(tmp_path / "r", labels)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no fcn4_bs<B>_<i>_0.bin"):
        bin_protocol.read_results(tmp_path / "empty", labels)


def test_read_labels_accepts_both_layouts_and_refuses_pickles(tmp_path):
    labels = (np.arange(24).reshape(2, 3, 4) % 2).astype(np.int32)
    np.save(tmp_path / "reference.npy", labels)  # the model zoo's (batches, B, C)
    np.testing.assert_array_equal(bin_protocol.read_labels(tmp_path / "reference.npy"), labels.reshape(6, 4))
    np.save(tmp_path / "flat.npy", labels.reshape(6, 4))
    np.testing.assert_array_equal(bin_protocol.read_labels(tmp_path / "flat.npy"), labels.reshape(6, 4))
    np.save(tmp_path / "ragged.npy", np.array([labels[0], labels[1][:2]], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="ragged.npy: not a NumPy label array"):
        bin_protocol.read_labels(tmp_path / "ragged.npy")
    np.save(tmp_path / "flat1d.npy", np.zeros(5))
    with pytest.raises(UserError, match=r"shape \(5,\), expected \(clips, tags\)"):
        bin_protocol.read_labels(tmp_path / "flat1d.npy")
    with pytest.raises(UserError, match="does not exist"):
        bin_protocol.read_labels(tmp_path / "absent.npy")
