"""Outputs never replace what they must not: tag.py's report and plots (only an earlier report or plot of
tag.py is replaced, never an input or another file), and every output folder is checked before the work."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from src.inference import tag_report
from src.inference.exporting import export_model
from src.inference.tagging import Track
from tests.helpers.models import NARROW_CHANNELS, random_network, write_tone
from tests.helpers.processes import assert_one_line_error, run_script


@pytest.fixture(scope="module")
def model(tmp_path_factory, mindspore_cpu):
    """A narrow ONNX model with its tag names beside it, and a short flac to tag."""
    root = tmp_path_factory.mktemp("outputs")
    onnx = export_model(random_network(NARROW_CHANNELS, seed=4), str(root / "fcn4"), "ONNX", 1).path
    (root / "fcn4.tags.txt").write_text("".join(f"tag {i}\n" for i in range(50)))
    return {"onnx": onnx, "song": write_tone(root / "short_8k.flac", 5.0, 8000)}


def _tag(model_file, *args):
    return run_script("tag.py", "--model", str(model_file), *args, "--no_progress")


def test_output_never_replaces_an_input_or_a_file_tag_py_did_not_write(model, tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    song = shutil.copy(model["song"], music / "song.flac")
    (tmp_path / "alias.flac").symlink_to(song)
    (tmp_path / "own.csv").write_text("title,artist\nHey Jude,The Beatles\n")
    (tmp_path / "tool.py").write_text("print('mine')\n")
    keep = {p: p.read_bytes() for p in (song, tmp_path / "own.csv", tmp_path / "tool.py", model["onnx"])}
    refusals = {
        song: "is the input",  # the file being tagged, found through the folder argument
        tmp_path / "alias.flac": "is the input",  # the same file under another name
        tmp_path / "own.csv": "exists and is not a tag.py report",
        tmp_path / "tool.py": "exists and is not a tag.py report",
        model["onnx"]: "is the input",  # the model itself
        music: "is a folder",
        tmp_path / "own.csv" / "r.csv": "own.csv exists and is not a folder",
        "/sys/fcn4/r.csv": "cannot write in /sys",
    }
    for output, needle in refusals.items():
        result = _tag(model["onnx"], str(music), "--format", "csv", "--output", str(output))
        assert_one_line_error(result, f"--output {output}", needle)
        assert "tagging 1 file(s)" not in result.stderr  # refused before the model was opened
    assert {p: p.read_bytes() for p in keep} == keep

    report = tmp_path / "tags.csv"
    for _ in range(2):  # an earlier report is replaced
        result = _tag(model["onnx"], str(music), "--format", "csv", "--output", str(report))
        assert result.returncode == 0, result.stderr[-3000:]
        assert "tagging 1 file(s)" in result.stderr
    assert report.read_text().startswith("path,duration_s,windows,error,top_tags,")


def test_plots_never_replace_a_file_tag_py_did_not_write(model, tmp_path):
    args = (str(model["song"]), "--plot_dir")
    (tmp_path / "plots").mkdir()
    mine = tmp_path / "plots" / "short_8k_tags.png"
    mine.write_bytes(b"\x89PNG\r\n\x1a\n my own picture")
    (tmp_path / "file").write_text("mine")

    result = _tag(model["onnx"], *args, str(tmp_path / "plots"))
    assert_one_line_error(result, "--plot_dir", "short_8k_tags.png exists and is not a plot tag.py wrote")
    assert mine.read_bytes() == b"\x89PNG\r\n\x1a\n my own picture"
    result = _tag(model["onnx"], *args, str(tmp_path / "file"))
    assert_one_line_error(result, "file exists and is not a folder")

    mine.unlink()
    for _ in range(2):  # plots of an earlier run are replaced
        assert _tag(model["onnx"], *args, str(tmp_path / "plots")).returncode == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["short_8k_taggram.png", "short_8k_tags.png"]


def test_every_report_format_is_recognised_and_nothing_else(tmp_path):
    rng = np.random.default_rng(0)
    tags = [f"tag {i}" for i in range(6)]
    tracks = [
        Track(Path("a b/song.mp3"), 70.0, np.array([0.0, 29.12, 40.88]), scores=rng.random((3, 6), np.float32)),
        Track(Path("broken.mp3"), error="undecodable (no audio stream)"),
    ]
    reports = {
        "text": tag_report.Report("text", tags, 3, "max").render(tracks),
        "csv": tag_report.Report("csv", tags, 3, "mean").render(tracks),
        "json": tag_report.Report("json", tags, 3, "mean", meta={"model": "m.onnx", "backend": "onnx"}).render(tracks),
        "empty": "",
    }
    others = {
        "user.csv": "path,title\nx.mp3,Hey Jude\n",
        "notes.txt": "song.mp3  my favourite\n",
        "data.json": json.dumps({"tracks": []}),
        "tool.py": "print('hello')\n",
    }
    for name, text in {**reports, **others}.items():
        (tmp_path / name).write_text(text)
        assert tag_report.is_report(tmp_path / name) == (name in reports), name
    (tmp_path / "song.mp3").write_bytes(rng.bytes(3000))
    assert not tag_report.is_report(tmp_path / "song.mp3")
