"""tag.py on a folder, interrupted (Ctrl-C) halfway and run again: the second run tags only what the first did not,
and the report and the embeddings come out exactly as an uninterrupted run's; a rerun with other settings is
refused before it touches the unfinished output."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from src.inference.exporting import export_model
from src.musictagger import ModelParams
from tests.helpers.models import random_network, write_tags, write_tone
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

TRACKS = 8
ARGS = ("--format", "csv", "--batch_size", "1", "--workers", "0", "--no_progress")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, mindspore_cpu):
    """The full-size FCN-4 in ONNX (slow enough per track to stop it halfway) and TRACKS tracks of 29 s."""
    root = tmp_path_factory.mktemp("resume")
    network = random_network(ModelParams().channels, seed=4)
    model = export_model(network, str(root / "fcn4"), "ONNX", 1, any_batch=True).path
    write_tags(root / "fcn4.tags.txt", 50)
    for index in range(TRACKS):
        write_tone(root / "music" / f"track{index}.wav", 29.0, 16000, seed=index)
    return root, model


def _command(model, music, output, embeddings, *extra):
    return [sys.executable, "tag.py", "--model", str(model), str(music), *ARGS, "--output", str(output),
            "--embeddings", str(embeddings), *extra]  # fmt: skip


def _interrupt_after(command, partial, tracks: int) -> subprocess.CompletedProcess:
    """Run `command` and send it Ctrl-C once its partial report holds `tracks` tracks."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if partial.exists() and len(partial.read_text().splitlines()) > tracks:  # the header line, then the tracks
            process.send_signal(signal.SIGINT)
            break
        time.sleep(0.02)
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _embeddings(folder) -> dict:
    return {path.name: np.load(path, allow_pickle=False) for path in sorted(folder.glob("*.npy"))}


def test_an_interrupted_run_continues_where_it_stopped(folder, tmp_path):
    root, model = folder
    whole = run_script(
        "tag.py", "--model", str(model), str(root / "music"), *ARGS,
        "--output", str(tmp_path / "whole.csv"), "--embeddings", str(tmp_path / "whole_emb"),
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr[-3000:]

    output, embeddings = tmp_path / "tags.csv", tmp_path / "emb"
    partial = tmp_path / "tags.csv.partial"
    stopped = _interrupt_after(_command(model, root / "music", output, embeddings), partial, 2)
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    assert "rerun the same command to continue where it stopped" in stopped.stderr
    assert partial.is_file() and not output.exists() and not (embeddings / "embeddings.csv").exists()
    done_before = len(partial.read_text().splitlines()) - 1
    assert 2 <= done_before < TRACKS

    again = subprocess.run(
        _command(model, root / "music", output, embeddings), cwd=ROOT, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"tagging {TRACKS - done_before} file(s)" in again.stderr
    assert f"({done_before} more done by an earlier run of this command)" in again.stderr
    assert output.read_text() == (tmp_path / "whole.csv").read_text()
    assert (embeddings / "embeddings.csv").read_text().replace(str(tmp_path / "emb"), "") == (
        tmp_path / "whole_emb" / "embeddings.csv"
    ).read_text().replace(str(tmp_path / "whole_emb"), "")
    expected, got = _embeddings(tmp_path / "whole_emb"), _embeddings(embeddings)
    assert list(got) == list(expected) and all(np.array_equal(got[name], expected[name]) for name in got)
    assert not partial.exists() and not (embeddings / "embeddings.csv.partial").exists()


def test_an_unfinished_run_is_never_mixed_with_other_settings(folder, tmp_path):
    root, model = folder
    output, embeddings = tmp_path / "tags.csv", tmp_path / "emb"
    partial = tmp_path / "tags.csv.partial"
    stopped = _interrupt_after(_command(model, root / "music", output, embeddings), partial, 1)
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    before = partial.read_bytes()
    other = run_script(
        "tag.py", "--model", str(model), str(root / "music"), *ARGS, "--top_k", "3",
        "--output", str(output), "--embeddings", str(embeddings),
    )  # fmt: skip
    assert_one_line_error(other, "tags.csv.partial holds an unfinished run with other settings (top_k 5)")
    assert partial.read_bytes() == before and not output.exists()
