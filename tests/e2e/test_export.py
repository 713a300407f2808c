"""export.py as a real process: MINDIR and ONNX files that compute what the checkpoint does, AIR refused
off Ascend, wrong checkpoints refused in one line, tag names carried beside the export."""

import re

import numpy as np
import pytest
import yaml

from src.core.errors import UserError
from src.core.tag_list import read_tag_list
from src.inference.exporting import check_export_target
from src.inference.formats import EXPORT_FORMATS, MODEL_SUFFIXES, backend_class, check_export_device
from src.musictagger import ModelParams
from tests.helpers.models import NARROW_CHANNELS, feature_batch, random_network, save_checkpoint, write_tags
from tests.helpers.processes import ROOT, assert_one_line_error, reported_export_difference, run_script

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


def _expected(network, batch):
    import mindspore as ms

    return network(ms.Tensor(batch)).asnumpy()


def test_mindir_matches_checkpoint_through_mindspore(narrow, tmp_path):
    import mindspore as ms
    import mindspore.nn as nn

    result = _export(narrow, tmp_path / "fcn4", "--export_batch_size", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert reported_export_difference(result.stdout) <= MINDIR_TOL
    assert "input [2, 1, 96, 1366]" in result.stdout

    batch = feature_batch(2, seed=11)  # not the batch export.py checked with
    got = nn.GraphCell(ms.load(str(tmp_path / "fcn4.mindir")))(ms.Tensor(batch))[0].asnumpy()  # output 0
    assert got.shape == (2, 50)
    np.testing.assert_allclose(got, _expected(narrow["network"], batch), rtol=0, atol=MINDIR_TOL)
    assert read_tag_list(tmp_path / "fcn4.tags.txt") == narrow["tags"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fcn4.mindir", "fcn4.tags.txt"]  # no temp file left


def test_onnx_matches_checkpoint_through_onnxruntime(narrow, tmp_path):
    import onnxruntime as ort

    result = _export(narrow, tmp_path / "sub" / "fcn4", "--file_format", "ONNX", "--export_batch_size", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert reported_export_difference(result.stdout) <= ONNX_TOL

    session = ort.InferenceSession(str(tmp_path / "sub" / "fcn4.onnx"), providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    assert model_input.shape == [3, 1, 96, 1366]
    batch = feature_batch(3, seed=12)
    got = session.run(None, {model_input.name: batch})[0]
    np.testing.assert_allclose(got, _expected(narrow["network"], batch), rtol=0, atol=ONNX_TOL)


def test_fastest_exports_the_fastest_format_installed(narrow, tmp_path):
    result = _export(narrow, tmp_path / "fcn4", "--file_format", "FASTEST")  # no Lite tools in the suite: ONNX
    assert result.returncode == 0, result.stderr[-3000:]
    assert "file_format FASTEST: ONNX, the fastest format this machine runs" in result.stderr
    assert (tmp_path / "fcn4.onnx").is_file() and reported_export_difference(result.stdout) <= ONNX_TOL


def test_air_off_ascend_is_a_one_line_error(narrow, tmp_path):
    result = _export(narrow, tmp_path / "fcn4", "--file_format", "AIR")
    assert_one_line_error(result, "file_format=AIR", "Ascend", "CPU")
    assert not list(tmp_path.iterdir())


def test_checkpoint_of_another_shape_is_a_one_line_error(tmp_path, mindspore_cpu):
    # No run info, no model_params.json, not the reference widths: the pools cannot be known, so no guess.
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS), tmp_path / "ckpt", with_params=False)
    result = run_script(
        "export.py", "--ckpt_file", str(ckpt), "--file_name", str(tmp_path / "x"), "--device_target", "CPU"
    )
    assert_one_line_error(result, str(ckpt), "model_params.json is missing", "[1, 4, 8, 8, 16]")
    assert not (tmp_path / "x.mindir").exists()


def test_checkpoint_of_another_class_count_is_a_one_line_error(tmp_path, mindspore_cpu):
    ckpt = save_checkpoint(random_network(NARROW_CHANNELS, num_classes=10), tmp_path / "ckpt", with_params=False)
    ModelParams(channels=NARROW_CHANNELS).save(tmp_path / "ckpt")  # a model_params.json of 50 classes beside it
    result = run_script(
        "export.py", "--ckpt_file", str(ckpt), "--file_name", str(tmp_path / "x"), "--device_target", "CPU"
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
        assert reported_export_difference(result.stdout) <= tolerance
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
    assert reported_export_difference(result.stdout) <= MINDIR_TOL
    assert not (run / "MusicTagger-best.ckpt").exists()


def test_file_format_choices_are_the_export_table():
    choices = list(yaml.safe_load_all((ROOT / "default_config.yaml").read_text()))[2]
    assert choices["file_format"] == [*EXPORT_FORMATS, "FASTEST"]


def test_export_table_gives_devices_and_loadable_suffixes():
    check_export_device("AIR", "Ascend")
    check_export_device("ONNX", "CPU")
    refusal = "file_format=AIR can only be produced on Ascend (this run uses GPU); use MINDIR or ONNX"
    with pytest.raises(UserError, match=re.escape(refusal)):
        check_export_device("AIR", "GPU")
    assert sorted(MODEL_SUFFIXES) == [".ckpt", ".mindir", ".mslite", ".onnx"]
    assert backend_class("m.ONNX") is EXPORT_FORMATS["ONNX"].backend
    unknown = "m.air: unknown model type; expected one of ['.ckpt', '.mindir', '.mslite', '.onnx']"
    with pytest.raises(UserError, match=re.escape(unknown)):
        backend_class("m.air")


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("my model", ["my model'", "MindSpore's export accepts only letters, digits", "not ' '"]),
        ("x" * 245, ["file name is too long (252 bytes with .mindir"]),
    ],
)
def test_file_names_mindspore_refuses_are_one_line_errors_before_export(narrow, tmp_path, name, needles):
    result = _export(narrow, tmp_path / name)
    assert_one_line_error(result, "file_name=", *needles)
    assert "loaded" not in result.stderr  # refused before the checkpoint was read
    assert list(tmp_path.iterdir()) == []


def test_export_target_checks(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "taken.mindir").mkdir()
    refusals = {
        "": "not a folder",
        f"{tmp_path}/out/": "not a folder",
        f"{tmp_path}/caf\u00e9": "not 'é'",
        f"{tmp_path}/taken": "taken.mindir is a folder",
        f"{tmp_path}/notes.txt/fcn4": "notes.txt exists and is not a folder",
        "/sys/fcn4/model": "cannot write in /sys",
        "/".join([str(tmp_path), *["d" * 200] * 21]): "the path is too long",
    }
    for file_name, needle in refusals.items():
        with pytest.raises(UserError, match=re.escape(needle)):
            check_export_target(file_name, "MINDIR")
    assert check_export_target(f"{tmp_path}/new/fcn-4_v1.2", "ONNX") == tmp_path / "new" / "fcn-4_v1.2.onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "taken.mindir"]  # nothing created


def test_the_name_check_agrees_with_mindspore_export(tmp_path, mindspore_cpu, monkeypatch):
    """Every name MindSpore 2.10's export refuses is refused beforehand, and every name it takes is let through."""
    import mindspore as ms
    import mindspore.nn as nn

    monkeypatch.chdir(tmp_path)
    net, batch = nn.Dense(3, 2), ms.Tensor(np.ones((1, 3), np.float32))
    for name in ("plain", "a-b_c.d@e:f", "with space", "plus+sign", "tilde~", "caf\u00e9", "comma,", "sub/", "x" * 250):
        try:
            ms.export(net, batch, file_name=name, file_format="MINDIR")
            mindspore_takes = True
        except (ValueError, OSError):
            mindspore_takes = False
        try:
            check_export_target(name, "MINDIR")
            we_take = True
        except UserError:
            we_take = False
        assert we_take == mindspore_takes, name
