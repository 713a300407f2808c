"""A trained narrow run ready for the 310 chains (host runner, Lite app): corpus, MindRecord, a one-epoch
checkpoint, eval.py's figures on val, and a config for preprocess/postprocess."""

import json
from pathlib import Path

from tests.helpers.datasets import make_corpus
from tests.helpers.models import NARROW_CHANNELS
from tests.helpers.processes import run_script


def trained_chain(root: Path, export_batch: int) -> tuple[Path, dict, Path]:
    """(root, eval_val.json of the run, chain.yaml) for 20 clips split so that val's last batch of
    `export_batch` is padded."""
    make_corpus(root, num_clips=20, seed=7, split_args=("--train_ratio", "0.55", "--split_seed", "2"))
    mr, ckpt = str(root / "mr"), str(root / "ckpt")
    narrow = ("--channels", str(list(NARROW_CHANNELS)), "--batch_size", "4", "--epoch_size", "1")
    result = run_script("train.py", "--mr_path", mr, "--checkpoint_path", ckpt, *narrow, "--device_target", "CPU")
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_script("eval.py", "--mr_path", mr, "--checkpoint_path", ckpt, "--device_target", "CPU")
    assert result.returncode == 0, result.stderr[-3000:]
    config = root / "chain.yaml"
    config.write_text(
        f"mr_path: {mr}\nexport_batch_size: {export_batch}\nresult_file: {root / 'postprocess.json'}\n"
        "device_target: CPU\n"
    )
    return root, json.loads((root / "ckpt" / "eval_val.json").read_text()), config


def assert_chain_gives_eval_py_metrics(stdout: str, root: Path, evaluated: dict, export_batch: int) -> None:
    """run_infer_310.sh ran every batch once and its postprocess step scored exactly what eval.py did."""
    import pytest

    batches = -(-evaluated["num_samples"] // export_batch)
    assert f"infer_count {batches}" in stdout
    assert stdout.rstrip().endswith(f"AUC: {evaluated['reference_auc']:.5f}")
    scored = json.loads((root / "postprocess.json").read_text())
    for key in ("num_samples", "num_tags_scored", "roc_auc", "pr_auc", "reference_auc"):
        assert scored[key] == pytest.approx(evaluated[key], abs=1e-6), key
    assert [t["tag"] for t in scored["per_tag"]] == [t["tag"] for t in evaluated["per_tag"]]
