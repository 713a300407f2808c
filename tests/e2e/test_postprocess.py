"""postprocess.py and the whole 310 chain on this host: real audio -> MindRecord -> trained narrow FCN-4 ->
eval.py, and export.py -> scripts/run_infer_310.sh (INFER_BACKEND=host: preprocess 310, src.inference.host_infer,
postprocess) giving the same metrics as eval.py on the same checkpoint and split."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers.chains import assert_chain_gives_eval_py_metrics, trained_chain
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

RUN_SH = ROOT / "scripts" / "run_infer_310.sh"
EXPORT_BATCH = 4  # val gets 9 clips here: the last .bin batch is padded


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Corpus, MindRecord, a 1-epoch narrow checkpoint run, eval.py's JSON, and a config for the chain."""
    return trained_chain(tmp_path_factory.mktemp("chain"), EXPORT_BATCH)


def test_host_chain_gives_eval_py_metrics(trained, tmp_path):
    root, evaluated, config = trained
    assert evaluated["num_samples"] % EXPORT_BATCH != 0, "the chain must exercise a padded last batch"
    result = run_script(
        "export.py",
        "--config_path",
        str(config),
        "--checkpoint_path",
        str(root / "ckpt"),
        "--file_name",
        str(tmp_path / "fcn4"),
    )
    assert result.returncode == 0, result.stderr[-3000:]

    env = {**os.environ, "INFER_BACKEND": "host", "PYTHON": sys.executable, "CONFIG_PATH": str(config)}
    chain = subprocess.run(
        ["bash", str(RUN_SH), "fcn4.mindir", "y"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )

    assert chain.returncode == 0, chain.stdout + chain.stderr + (tmp_path / "infer.log").read_text()
    assert_chain_gives_eval_py_metrics(chain.stdout, root, evaluated, EXPORT_BATCH)
    assert not (tmp_path / "build.log").exists(), "the host backend builds no C++ app"


def _postprocess(results, labels, *extra):
    return run_script("postprocess.py", "--post_result_path", str(results), "--label_path", str(labels), *extra)


def test_postprocess_reads_reference_layout_labels_and_prints_auc(tmp_path):
    rng = np.random.default_rng(1)
    labels = (rng.random((3, 4, 6)) < 0.5).astype(np.int32)  # model-zoo layout: (batches, B, C)
    scores = np.clip(labels + rng.normal(0, 0.6, labels.shape), 0, 1).astype(np.float32)
    np.save(tmp_path / "label_ids.npy", labels)
    (tmp_path / "r").mkdir()
    for i in range(3):
        scores[i].tofile(tmp_path / "r" / f"fcn4_bs4_{i}_0.bin")
    (tmp_path / "r" / "fcn4_bs4_0_1.bin").write_bytes(b"ignored second output")

    result = _postprocess(tmp_path / "r", tmp_path / "label_ids.npy")

    assert result.returncode == 0, result.stderr[-3000:]
    from src.evaluation.metrics import reference_auc

    expected = reference_auc(labels.reshape(12, 6), scores.reshape(12, 6))
    assert result.stdout.rstrip().splitlines()[-1] == f"AUC: {expected:.5f}"
    assert "tag0" in result.stdout  # no matching tags.txt: columns are numbered


def test_postprocess_missing_results_is_a_one_line_error(tmp_path):
    np.save(tmp_path / "label_ids.npy", np.zeros((5, 3), np.int32))
    assert_one_line_error(
        _postprocess(tmp_path / "absent", tmp_path / "label_ids.npy"), "result folder", "absent", "does not exist"
    )
    assert_one_line_error(_postprocess(tmp_path, tmp_path / "nolabels.npy"), "nolabels.npy", "does not exist")


def test_postprocess_result_file_that_cannot_be_written_is_found_before_reading(tmp_path):
    np.save(tmp_path / "label_ids.npy", np.zeros((5, 3), np.int32))
    (tmp_path / "notes.txt").write_text("mine")
    result_file = tmp_path / "notes.txt" / "metrics.json"
    result = _postprocess(tmp_path / "absent", tmp_path / "label_ids.npy", "--result_file", str(result_file))
    assert_one_line_error(result, f"result_file {result_file}", "notes.txt exists and is not a folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"
