"""export.py as a real process: MINDIR and ONNX files that compute what the checkpoint does, AIR refused
off Ascend, wrong checkpoints refused in one line, tag names carried beside the export."""

import re

import numpy as np
import pytest
import yaml

from src.errors import UserError
from src.inference.formats import EXPORT_FORMATS, MODEL_SUFFIXES, backend_class, check_export_device
from src.tag_list import read_tag_list
from tests.helpers.models import NARROW_CHANNELS, feature_batch, random_network, save_checkpoint, write_tags
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

MINDIR_TOL, ONNX_TOL = 1e-5, 1e-4


@pytest.fixture(scope="module")
def narrow(tmp_path_factory, mindspore_cpu):
    """A narrow checkpoint run folder and a MindRecord folder holding its 50-tag tags.txt."""
    root = tmp_path_factory.mktemp("export")
    network = random_network(NARROW_CHANNELS, seed=3)
    ckpt = save_checkpoint(network, root / "ckpt")
    tags = write_tags(root / "mr" / "tags.txt", 50)
    return {"root": root, "network": network, "ckpt": ckpt, "tags": tags}


def _export(narrow, out, *extra):
    return run_script(
        "export.py",
        "--ckpt_file",
        str(narrow["ckpt"]),
        "--mr_path",
        str(narrow["root"] / "mr"),
        "--file_name",
        str(out),
        "--device_target",
        "CPU",
        *extra,
    )


def _reported_diff(stdout):
    match = re.search(r"max \|exported - checkpoint\| = (\S+) on a random batch", stdout)
    assert match, stdout
    return float(match[1])


def _expected(network, batch):
    import mindspore as ms

    return network(ms.Tensor(batch)).asnumpy()


def test_mindir_matches_checkpoint_through_mindspore(narrow, tmp_path):
    import mindspore as ms
    import mindspore.nn as nn

    result = _export(narrow, tmp_path / "fcn4", "--export_batch_size", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _reported_diff(result.stdout) <= MINDIR_TOL
    assert "input [2, 1, 96, 1366]" in result.stdout

    batch = feature_batch(2, seed=11)  # not the batch export.py checked with
    got = nn.GraphCell(ms.load(str(tmp_path / "fcn4.mindir")))(ms.Tensor(batch)).asnumpy()
    assert got.shape == (2, 50)
    np.testing.assert_allclose(got, _expected(narrow["network"], batch), rtol=0, atol=MINDIR_TOL)
    assert read_tag_list(tmp_path / "fcn4.tags.txt") == narrow["tags"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fcn4.mindir", "fcn4.tags.txt"]  # no temp file left


def test_onnx_matches_checkpoint_through_onnxruntime(narrow, tmp_path):
    import onnxruntime as ort

    result = _export(narrow, tmp_path / "sub" / "fcn4", "--file_format", "ONNX", "--export_batch_size", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _reported_diff(result.stdout) <= ONNX_TOL

    session = ort.InferenceSession(str(tmp_path / "sub" / "fcn4.onnx"), providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    assert model_input.shape == [3, 1, 96, 1366]
    batch = feature_batch(3, seed=12)
    got = session.run(None, {model_input.name: batch})[0]
    np.testing.assert_allclose(got, _expected(narrow["network"], batch), rtol=0, atol=ONNX_TOL)


def test_air_off_ascend_is_a_one_line_error(narrow, tmp_path):
    result = _export(narrow, tmp_path / "fcn4", "--file_format", "AIR")
    assert_one_line_error(result, "file_format=AIR", "Ascend", "CPU")
    assert not list(tmp_path.iterdir())


def test_checkpoint_of_another_shape_is_a_one_line_error(tmp_path, mindspore_cpu):
    # No model_params.json: the config's full-size channels are built, the narrow weights do not fit.
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS), tmp_path / "ckpt", with_params=False)
    result = run_script(
        "export.py", "--ckpt_file", str(ckpt), "--file_name", str(tmp_path / "x"), "--device_target", "CPU"
    )
    assert_one_line_error(result, str(ckpt), "conv1.weight", "(4, 1, 3, 3)", "(128, 1, 3, 3)")
    assert not (tmp_path / "x.mindir").exists()


def test_checkpoint_of_another_class_count_is_a_one_line_error(tmp_path, mindspore_cpu):
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, num_classes=10), tmp_path / "ckpt", with_params=False)
    result = run_script(
        "export.py",
        "--ckpt_file",
        str(ckpt),
        "--file_name",
        str(tmp_path / "x"),
        "--device_target",
        "CPU",
        "--channels",
        str(list(NARROW_CHANNELS)),
    )
    assert_one_line_error(result, "dense.weight", "(10, 16)", "(50, 16)", "num_classes")


def test_model_params_rebuild_a_ten_tag_net_and_mismatched_tags_are_not_copied(narrow, tmp_path, mindspore_cpu):
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, num_classes=10), tmp_path / "ckpt")
    result = run_script(
        "export.py",
        "--ckpt_file",
        str(ckpt),
        "--file_name",
        str(tmp_path / "ten"),
        "--mr_path",
        str(narrow["root"] / "mr"),
        "--device_target",
        "CPU",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "lists 50 tags, the model predicts 10: not copied" in result.stderr
    assert (tmp_path / "ten.mindir").is_file() and not (tmp_path / "ten.tags.txt").exists()


def test_bad_export_batch_size_is_a_one_line_error(narrow, tmp_path):
    assert_one_line_error(_export(narrow, tmp_path / "x", "--export_batch_size", "0"), "export_batch_size=0")


def test_full_size_exports_match_the_checkpoint(tmp_path, mindspore_cpu):
    """The real 17.4 M-parameter FCN-4 (about 66 MiB per file) through both formats."""
    ckpt = save_checkpoint(random_network((1, 128, 384, 768, 2048), seed=5), tmp_path / "ckpt")
    for file_format, tolerance in (("MINDIR", MINDIR_TOL), ("ONNX", ONNX_TOL)):
        result = run_script(
            "export.py",
            "--ckpt_file",
            str(ckpt),
            "--file_name",
            str(tmp_path / "full"),
            "--file_format",
            file_format,
            "--device_target",
            "CPU",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert _reported_diff(result.stdout) <= tolerance
        path = tmp_path / f"full.{file_format.lower()}"
        assert path.stat().st_size > 17_362_610 * 4  # every weight is in the file


def test_model_name_picks_that_checkpoint_of_the_run_folder(narrow, tmp_path):
    """checkpoint_path/model_name when ckpt_file is empty; the folder holds no MusicTagger-best.ckpt."""
    run = tmp_path / "run"
    save_checkpoint(narrow["network"], run).rename(run / "MusicTagger-7_3.ckpt")
    result = run_script(
        "export.py",
        "--checkpoint_path",
        str(run),
        "--model_name",
        "MusicTagger-7_3.ckpt",
        "--mr_path",
        str(narrow["root"] / "mr"),
        "--file_name",
        str(tmp_path / "fcn4"),
        "--device_target",
        "CPU",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"loaded {run / 'MusicTagger-7_3.ckpt'}" in result.stderr
    assert _reported_diff(result.stdout) <= MINDIR_TOL
    assert not (run / "MusicTagger-best.ckpt").exists()


def test_file_format_choices_are_the_export_table():
    choices = list(yaml.safe_load_all((ROOT / "default_config.yaml").read_text()))[2]
    assert choices["file_format"] == list(EXPORT_FORMATS)


def test_export_table_gives_devices_and_loadable_suffixes():
    check_export_device("AIR", "Ascend")
    check_export_device("ONNX", "CPU")
    refusal = "file_format=AIR can only be produced on Ascend (this run uses GPU); use MINDIR or ONNX"
    with pytest.raises(UserError, match=re.escape(refusal)):
        check_export_device("AIR", "GPU")
    assert sorted(MODEL_SUFFIXES) == [".ckpt", ".mindir", ".onnx"]
    assert backend_class("m.ONNX") is EXPORT_FORMATS["ONNX"].backend
    unknown = "m.air: unknown model type; expected one of ['.ckpt', '.mindir', '.onnx']"
    with pytest.raises(UserError, match=re.escape(unknown)):
        backend_class("m.air")
