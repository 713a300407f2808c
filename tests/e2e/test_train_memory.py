"""train.py with gradient accumulation as real processes: optimizer steps counted in checkpoints and
metrics, the peak memory of each epoch in metrics.jsonl, exact resume after a SIGKILL, and refusals."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from src.model import checkpoint
from tests.helpers.datasets import make_corpus, split_rows
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

ACCUMULATE = ["--channels", str(list(NARROW_CHANNELS)), "--device_target", "CPU", "--batch_size", "2"]
COMMON = [
    *ACCUMULATE,
    "--grad_accumulation",
    "2",
    "--epoch_size",
    "2",
    "--save_step",
    "2",
    "--eval_each_epoch",
    "False",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("accumulate"), num_clips=28)


def _command(corpus, out, *extra):
    return [sys.executable, "train.py", "--mr_path", str(corpus / "mr"), "--checkpoint_path", str(out), *extra]


def _weights(path):
    return {
        k: v.asnumpy()
        for k, v in checkpoint.read(path).items()
        if not k.startswith(("epoch", "step")) and k != checkpoint.RUN_INFO_KEY
    }


def test_a_killed_accumulating_run_resumes_to_the_weights_of_an_uninterrupted_one(corpus, tmp_path):
    straight = tmp_path / "straight"
    result = run_script(*_command(corpus, straight, *COMMON)[1:])
    assert result.returncode == 0, result.stderr[-3000:]
    steps = len(split_rows(corpus / "mr", "train")) // 4
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [r["global_step"] for r in records] == [steps, 2 * steps], "steps are optimizer steps of 2 x 2 clips"
    assert all(0.05 < r["peak_rss_gib"] < 64 for r in records)
    assert f"peak_rss_gib={records[0]['peak_rss_gib']}" in result.stderr, "the epoch's log line names its peak"
    assert (straight / f"MusicTagger-2_{steps}.ckpt").is_file()
    state = json.loads((straight / "train_state.json").read_text())
    assert state["trained_with"]["grad_accumulation"] == 2

    broken = tmp_path / "broken"
    process = subprocess.Popen(
        _command(corpus, broken, *COMMON), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while not (broken / "train_state.json").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert json.loads((broken / "train_state.json").read_text())["global_step"] < 2 * steps

    refused = run_script(*_command(corpus, broken, *COMMON, "--resume", "True", "--grad_accumulation", "1")[1:])
    assert_one_line_error(refused, "grad_accumulation=2", "grad_accumulation=1")
    resumed = run_script(*_command(corpus, broken, *COMMON, "--resume", "True")[1:])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr
    final = f"MusicTagger-2_{steps}.ckpt"
    a, b = _weights(straight / final), _weights(broken / final)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_too_few_clips_for_one_optimizer_step_and_recompute_in_pynative_are_one_line_errors(corpus, tmp_path):
    clips = len(split_rows(corpus / "mr", "train"))
    too_many = run_script(
        *_command(corpus, tmp_path / "a", *ACCUMULATE, "--grad_accumulation", str(clips))[1:], timeout=300
    )
    assert_one_line_error(too_many, f"fewer than batch_size=2 x grad_accumulation={clips}")
    pynative = run_script(
        *_command(corpus, tmp_path / "b", *ACCUMULATE, "--recompute", "all", "--mode", "pynative")[1:], timeout=300
    )
    assert_one_line_error(pynative, "recompute='all' needs mode graph")
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())


@pytest.mark.parametrize(
    ("option", "values"), [("--memory_optimize_level", ("O0", "O1")), ("--memory_pool_reserve", ("False", "True"))]
)
def test_memory_settings_change_no_result(corpus, tmp_path, option, values):
    """O1 (the default) only reuses buffers, and the reserved pool (the default) only places them: one epoch trains
    to the same weights, bit for bit, either way."""
    one_epoch = [*ACCUMULATE, "--epoch_size", "1", "--eval_each_epoch", "False"]
    weights = {}
    for value in values:
        out = tmp_path / value
        result = run_script(*_command(corpus, out, *one_epoch, option, value)[1:])
        assert result.returncode == 0, result.stderr[-3000:]
        (final,) = out.glob("MusicTagger-1_*.ckpt")
        weights[value] = _weights(final)
    assert weights[values[0]].keys() == weights[values[1]].keys()
    for name in weights[values[0]]:
        np.testing.assert_array_equal(weights[values[1]][name], weights[values[0]][name], err_msg=name)
