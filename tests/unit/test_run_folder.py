"""The checks train.py makes in its run folder before writing, and what it clears there under its lock."""

import json
import logging

import pytest

from src.core.errors import UserError
from src.model.checkpoint import TrainState
from src.training import run_folder


def _touch(folder, *names, size=3):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"x" * size)


def test_a_folder_holds_a_run_with_a_state_metrics_or_a_checkpoint_of_the_prefix(tmp_path):
    assert run_folder.check_new_run(tmp_path / "absent", "run", overwrite=False, resume=False) == []
    _touch(tmp_path, "config.yaml", "model_params.json", "tags.txt", "run-ft-1_1.ckpt", "run-ft-best.ckpt")
    assert run_folder.check_new_run(tmp_path, "run", overwrite=False, resume=False) == []
    for name in ("train_state.json", "metrics.jsonl", "run-best.ckpt", "run-2_10.ckpt"):
        _touch(tmp_path / name.split(".")[0], name)
        with pytest.raises(UserError, match=f"already holds a run \\({name}\\); add --resume True .* --overwrite True"):
            run_folder.check_new_run(tmp_path / name.split(".")[0], "run", overwrite=False, resume=False)


def test_overwrite_returns_the_old_run_files_state_first_and_resume_without_a_state_is_told_so(tmp_path):
    _touch(tmp_path, "run-1_1.ckpt", "run-best.ckpt", "metrics.jsonl", "train_state.json", "run-ft-1_1.ckpt")
    _touch(tmp_path, "run-best.thresholds.json", "run-ft-best.thresholds.json", "other.thresholds.json")
    old = run_folder.check_new_run(tmp_path, "run", overwrite=True, resume=False)
    assert [p.name for p in old] == [
        "metrics.jsonl",
        "run-best.thresholds.json",
        "train_state.json",
        "run-1_1.ckpt",
        "run-best.ckpt",
    ]
    (tmp_path / "train_state.json").unlink()
    with pytest.raises(
        UserError, match="has no train_state.json to resume from, but holds .*; --overwrite True"
    ) as error:
        run_folder.check_new_run(tmp_path, "run", overwrite=False, resume=True)
    assert "--resume True" not in str(error.value)


def test_a_fine_tuning_source_the_run_would_replace_or_rotate_is_refused(tmp_path):
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    _touch(run, "run-best.ckpt", "run-3_10.ckpt", "run-ft-best.ckpt", "zoo.ckpt")
    _touch(elsewhere, "run-best.ckpt")
    for name in ("run-best.ckpt", "run-3_10.ckpt"):
        with pytest.raises(UserError, match=f"source checkpoint .*{name} would be replaced .*another checkpoint_path"):
            run_folder.check_source_survives(run / name, run, "run")
    (elsewhere / "link.ckpt").symlink_to(run / "run-best.ckpt")
    with pytest.raises(UserError, match="would be replaced"):
        run_folder.check_source_survives(elsewhere / "link.ckpt", run, "run")
    for source in (run / "run-ft-best.ckpt", run / "zoo.ckpt", elsewhere / "run-best.ckpt"):
        run_folder.check_source_survives(source, run, "run")


def test_clear_removes_the_old_run_and_this_prefix_stale_temporaries_only(tmp_path, caplog):
    stale = [".run-1_2.ckpt.4242.tmp", ".run-1_2.ckpt.4242.ckpt", ".run-best.ckpt.7.tmp", ".train_state.json.7.tmp"]
    kept = [".run-ft-1_2.ckpt.4242.tmp", ".eval_val.json.7.tmp", ".train.lock", "run-ft-1_1.ckpt", "eval_val.json"]
    _touch(tmp_path, *stale, *kept, size=1000)
    _touch(tmp_path, "run-1_1.ckpt", "metrics.jsonl")
    with caplog.at_level(logging.INFO, logger="fcn4"):
        run_folder.clear(tmp_path, "run", [tmp_path / "run-1_1.ckpt", tmp_path / "metrics.jsonl"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    assert "removed 4 temporary files of interrupted saves" in caplog.text and "(0.0 MB)" in caplog.text


def test_resume_names_every_setting_that_differs_and_an_older_state_only_warns(tmp_path, caplog):
    recorded = {"batch_size": 4, "seed": 1, "data": "a" * 64}
    run_folder.check_resume(recorded, dict(recorded), tmp_path)
    wanted = {"batch_size": 8, "seed": 1, "data": "b" * 64}
    with pytest.raises(UserError) as error:
        run_folder.check_resume(recorded, wanted, tmp_path)
    message = str(error.value)
    assert f"checkpoint_path {tmp_path} was trained with batch_size=4, data=aaaa" in message
    assert "this run asks for batch_size=8, data=bbbb" in message and "seed" not in message
    with caplog.at_level(logging.WARNING, logger="fcn4"):
        run_folder.check_resume({}, wanted, tmp_path)
    assert "cannot check that they match" in caplog.text


def test_a_state_file_without_the_resume_record_still_loads(tmp_path):
    (tmp_path / "train_state.json").write_text(json.dumps({"epoch": 1, "global_step": 3, "checkpoint": "run-1_3.ckpt"}))
    state = TrainState.load(tmp_path)
    assert state.trained_with == {} and state.global_step == 3
    state.trained_with = {"batch_size": 4}
    state.save(tmp_path)
    assert TrainState.load(tmp_path) == state


def test_a_dataset_without_manifest_is_fingerprinted_by_its_train_shards(tmp_path):
    _touch(tmp_path, "train.mindrecord0", "train.mindrecord0.db", "val.mindrecord0")
    first = run_folder.data_fingerprint(tmp_path)
    (tmp_path / "val.mindrecord0").write_bytes(b"longer")
    assert run_folder.data_fingerprint(tmp_path) == first
    (tmp_path / "train.mindrecord0").write_bytes(b"longer")
    assert run_folder.data_fingerprint(tmp_path) != first
    (tmp_path / "manifest.json").write_text(json.dumps({"fingerprint": "f" * 64}))
    assert run_folder.data_fingerprint(tmp_path) == "f" * 64
