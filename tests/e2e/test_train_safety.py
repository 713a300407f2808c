"""train.py never clobbers a run: a refused run changes nothing, --overwrite and fine-tuning keep what
they must, one train.py per folder (the other is named), Ctrl-C stops with a resume hint, and a
resume checks its settings and clears the temporaries of interrupted saves."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from src.core.tag_list import read_tag_list
from src.model import checkpoint
from src.musictagger import ModelParams
from tests.helpers.datasets import make_corpus
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

NARROW = ["--channels", str(list(NARROW_CHANNELS)), "--batch_size", "4", "--eval_batch_size", "8"]
QUICK = [*NARROW, "--device_target", "CPU", "--epoch_size", "1", "--save_step", "1", "--keep_checkpoint_max", "0"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("safety"), num_clips=20)


def _args(corpus, out, *extra):
    return ["train.py", "--mr_path", str(corpus / "mr"), "--checkpoint_path", str(out), *QUICK, *extra]


def _train(corpus, out, *extra):
    return run_script(*_args(corpus, out, *extra))


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    """A finished one-epoch run (a step checkpoint per step, all kept); tests change copies of it."""
    out = tmp_path_factory.mktemp("trained") / "run"
    result = _train(corpus, out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def _copy(run, tmp_path):
    return shutil.copytree(run, tmp_path / "run", copy_function=shutil.copy2)


def _snapshot(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_a_run_records_its_tags_and_every_checkpoint_carries_shape_and_tags(corpus, trained):
    state = json.loads((trained / "train_state.json").read_text())
    steps = {f"MusicTagger-1_{s}.ckpt" for s in range(1, state["global_step"] + 1)}
    assert {p.name for p in trained.glob("MusicTagger-*_*.ckpt")} == steps, "keep_checkpoint_max 0 keeps all"
    tags = read_tag_list(corpus / "mr" / "tags.txt")
    assert read_tag_list(trained / "tags.txt") == tags
    expected = {"model": ModelParams(channels=NARROW_CHANNELS).to_dict(), "tags": tags}
    for path in trained.glob("MusicTagger-*.ckpt"):
        assert checkpoint.run_info(checkpoint.read(path)) == expected, path.name
    manifest = json.loads((corpus / "mr" / "manifest.json").read_text())
    assert state["trained_with"] == {"batch_size": 4, "seed": 1, "data": manifest["fingerprint"]}


@pytest.mark.parametrize(
    "extra, needles",
    [
        ((), ["already holds a run (metrics.jsonl, train_state.json", "--resume True", "--overwrite True"]),
        (("--resume", "True", "--batch_size", "2"), ["was trained with batch_size=4", "asks for batch_size=2"]),
        (("--resume", "True", "--seed", "7"), ["was trained with seed=1; this run asks for seed=7"]),
        (
            ("--pre_trained", "True", "--model_name", "MusicTagger-best.ckpt", "--overwrite", "True"),
            [
                "pre_trained: the source checkpoint",
                "MusicTagger-best.ckpt would be replaced",
                "another checkpoint_path",
            ],
        ),
        (("--resume", "True", "--batch_size", "100"), ["fewer than batch_size=100"]),
    ],
    ids=["no-resume", "resume-batch-size", "resume-seed", "fine-tune-over-its-source", "too-few-clips"],
)
def test_a_refused_run_changes_nothing_in_the_folder_of_an_older_run(corpus, trained, tmp_path, extra, needles):
    run = _copy(trained, tmp_path)
    before = _snapshot(run)
    assert_one_line_error(_train(corpus, run, *extra), *needles)
    assert _snapshot(run) == before


def test_a_refused_run_does_not_create_its_checkpoint_path(corpus, tmp_path):
    assert_one_line_error(_train(corpus, tmp_path / "new", "--pre_trained", "True"), "checkpoint")
    assert not (tmp_path / "new").exists()


def test_overwrite_replaces_the_older_run_and_keep_checkpoint_max_0_keeps_every_step(corpus, trained, tmp_path):
    run = _copy(trained, tmp_path)
    old_steps = sorted(p.name for p in run.glob("MusicTagger-*_*.ckpt"))
    (run / ".MusicTagger-1_1.ckpt.999999.tmp").write_bytes(b"x" * 1000)  # an interrupted save's temporary
    result = _train(corpus, run, "--overwrite", "True", "--save_step", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1, "the old run's metrics must be gone"
    steps = {p.name for p in run.glob("MusicTagger-*_*.ckpt")}
    last = len(old_steps)
    assert steps == {f"MusicTagger-1_{s}.ckpt" for s in [*range(2, last + 1, 2), last]}, "1_1, 1_3... must be gone"
    assert not list(run.glob(".*.tmp")) and "removed 1 temporary files of interrupted saves" in result.stderr


def test_fine_tuning_keeps_its_source_and_a_run_never_rotates_another_prefix(corpus, trained, tmp_path):
    source = trained / "MusicTagger-best.ckpt"
    before = source.read_bytes()
    out = tmp_path / "ft"
    out.mkdir()
    for name in ("run-ft-1_1.ckpt", "run-ft-best.ckpt"):
        (out / name).write_bytes(b"another run's checkpoint")
    extra = [
        "--pre_trained",
        "True",
        "--pre_trained_ckpt",
        str(source),
        "--prefix",
        "run",
        "--keep_checkpoint_max",
        "1",
    ]
    result = _train(corpus, out, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"fine-tuning from {source}" in result.stderr
    assert source.read_bytes() == before
    last = json.loads((out / "train_state.json").read_text())["checkpoint"]
    assert [p.name for p in out.glob("run-*_*.ckpt") if not p.name.startswith("run-ft")] == [last]
    assert all(
        (out / name).read_bytes() == b"another run's checkpoint" for name in ("run-ft-1_1.ckpt", "run-ft-best.ckpt")
    )


def test_an_older_state_without_the_resume_record_resumes_with_a_warning(corpus, trained, tmp_path):
    run = _copy(trained, tmp_path)
    state = json.loads((run / "train_state.json").read_text())
    del state["trained_with"]
    (run / "train_state.json").write_text(json.dumps(state))
    result = _train(corpus, run, "--resume", "True", "--epoch_size", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cannot check that they match" in result.stderr and "resumed from" in result.stderr
    assert "trained_with" in json.loads((run / "train_state.json").read_text())


def test_a_second_train_py_is_told_who_holds_the_folder_and_ctrl_c_stops_with_a_resume_hint(corpus, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, *_args(corpus, run, "--epoch_size", "1000")]
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 300
    while not (run / "train_state.json").exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]

    second = run_script(*_args(corpus, run, "--resume", "True"))
    assert_one_line_error(second, f"another train.py is writing to {run} (pid {first.pid} on ")

    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=120) == 130
    log.close()
    stderr = (tmp_path / "first.log").read_text()
    assert "Traceback" not in stderr
    assert "interrupted; rerun the same command with --resume True" in stderr
    assert [p.name for p in run.glob(".*")] == [".train.lock"], "an interrupted save leaves no temporary file"

    stopped = json.loads((run / "train_state.json").read_text())
    (run / f".{stopped['checkpoint']}.{first.pid}.ckpt").write_bytes(b"x" * 1_000_000)
    (run / ".other-1_1.ckpt.77.tmp").write_bytes(b"another prefix's")
    result = run_script(*_args(corpus, run, "--resume", "True", "--epoch_size", str(stopped["epoch"] + 1)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resumed from {stopped['checkpoint']}" in result.stderr
    assert "removed 1 temporary files of interrupted saves" in result.stderr
    assert sorted(p.name for p in run.glob(".*")) == [".other-1_1.ckpt.77.tmp", ".train.lock"]
