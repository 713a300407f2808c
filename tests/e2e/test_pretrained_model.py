"""`zoo` through the real entry points: tag.py, eval.py, export.py and fine-tuning with train.py download the
model zoo's FCN-4 once (from a local server standing in for MindSpore Hub), then work offline from the cache.

The served checkpoint is narrow and records only its network shape (no tag names, like the zoo's), so the
reference's 50 built-in tag names are what names its outputs; one test serves a full-size checkpoint with
no run info at all, as the zoo publishes it, whose shape can only come from its weights.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from src.core.file_names import TAGS_FILE
from src.core.tag_list import read_tag_list, write_tag_list
from src.dataset import SplitWriter
from src.inference.runtimes import COMPILED_DIR
from src.model import checkpoint
from src.model.pretrained import SPLIT_WARNING, ZOO_FILE, ZOO_TAGS
from src.musictagger import ModelParams
from tests.helpers.models import NARROW_CHANNELS, feature_batch, random_network, write_tone
from tests.helpers.processes import ROOT, assert_one_line_error, run_script
from tests.helpers.zoo_server import ZooServer

NARROW = ["--channels", str(list(NARROW_CHANNELS)), "--device_target", "CPU"]
SPLIT_SIZES = {"train": 8, "val": 6, "test": 6}


def _zoo_like(network, path, run_info):
    path.parent.mkdir(parents=True, exist_ok=True)
    return checkpoint.save(network, path, run_info=run_info).read_bytes()


@pytest.fixture(scope="module")
def narrow_zoo(tmp_path_factory, mindspore_cpu):
    """The bytes of a narrow 50-tag checkpoint that records its shape but no tag names."""
    network = random_network(NARROW_CHANNELS, num_classes=len(ZOO_TAGS), seed=11)
    folder = tmp_path_factory.mktemp("zoo_source")
    return _zoo_like(network, folder / "narrow.ckpt", {"model": network.params.to_dict()})


@pytest.fixture(scope="module")
def reference_dataset(tmp_path_factory, mindspore_cpu):
    """A MindRecord dataset with the reference's 50 tags in its order (train / val / test), random features."""
    mr = tmp_path_factory.mktemp("reference_mr")
    rng = np.random.default_rng(5)
    for index, (split, size) in enumerate(SPLIT_SIZES.items()):
        writer = SplitWriter(mr, split, 1, len(ZOO_TAGS))
        for row, feature in enumerate(feature_batch(size, seed=index)):
            writer.add(100 * index + row, feature, (rng.random(len(ZOO_TAGS)) < 0.4).astype(np.int32))
        writer.commit()
    write_tag_list(mr / TAGS_FILE, ZOO_TAGS)
    return mr


def test_tag_eval_export_with_zoo_download_once_then_work_offline(narrow_zoo, reference_dataset, tmp_path):
    server = ZooServer(narrow_zoo)
    cache = tmp_path / "cache"
    env = server.env(cache)
    song = write_tone(tmp_path / "song.wav", 8.0, 22050)
    tagged = run_script("tag.py", "--model", "zoo", str(song), "--top_k", "50", "--format", "json", env=env)
    assert tagged.returncode == 0, tagged.stderr[-3000:]
    assert json.loads(tagged.stdout)["tags"] == list(ZOO_TAGS)
    assert "downloading the model zoo's FCN-4" in tagged.stderr and server.hits == 1
    assert sorted(p.name for p in cache.iterdir()) == [COMPILED_DIR, ZOO_FILE]  # + its fastest runtime's file
    server.stop()  # offline from here on

    again = run_script("tag.py", "--model", "zoo", str(song), "--top_k", "50", "--format", "json", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["tracks"] == json.loads(tagged.stdout)["tracks"]
    assert "downloading" not in again.stderr

    result = tmp_path / "eval_test.json"
    evaluated = run_script(
        "eval.py",
        *("--ckpt_file", "zoo", "--mr_path", str(reference_dataset), "--eval_split", "test"),
        *("--checkpoint_path", str(tmp_path / "run"), "--result_file", str(result), "--bootstrap_resamples", "200"),
        env=env,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    summary = json.loads(result.read_text())
    assert summary["caveats"] == [SPLIT_WARNING]
    assert f"warning: {SPLIT_WARNING}" in evaluated.stdout
    bootstrap = summary["bootstrap"]
    assert (bootstrap["resamples"], bootstrap["seed"]) == (200, 1)
    assert bootstrap["roc_auc"][0] < summary["roc_auc"] < bootstrap["roc_auc"][1]
    assert "test: 95% bootstrap intervals (200 resamples, seed 1): ROC-AUC [" in evaluated.stdout

    exported = tmp_path / "fcn4-zoo"
    done = run_script(
        "export.py", "--ckpt_file", "zoo", "--file_format", "ONNX", "--file_name", str(exported), "--device_target",
        "CPU", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert read_tag_list(f"{exported}.tags.txt") == list(ZOO_TAGS)
    assert (tmp_path / "fcn4-zoo.onnx").stat().st_size > 0


def test_fine_tuning_from_zoo_and_eval_names_the_split_that_picked_the_checkpoint(
    narrow_zoo, reference_dataset, tmp_path
):
    server = ZooServer(narrow_zoo)
    env = server.env(tmp_path / "cache")
    out = tmp_path / "run"
    common = ["--mr_path", str(reference_dataset), "--checkpoint_path", str(out), *NARROW]
    trained = run_script(
        "train.py", *common, "--num_classes", "50", "--batch_size", "4", "--eval_batch_size", "8",
        "--epoch_size", "1", "--pre_trained", "True", "--pre_trained_ckpt", "zoo", env=env,
    )  # fmt: skip
    server.stop()
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert f"fine-tuning from {tmp_path / 'cache' / ZOO_FILE}" in trained.stderr

    on_val = run_script("eval.py", *common, "--eval_split", "val", "--bootstrap_resamples", "50", env=env)
    assert on_val.returncode == 0, on_val.stderr[-3000:]
    notice = "warning: val picked this checkpoint (its best val ROC-AUC, epoch 1): its AUC here is optimistic"
    assert notice in on_val.stdout
    assert json.loads((out / "eval_val.json").read_text())["caveats"][0].startswith("val picked this checkpoint")

    on_test = run_script("eval.py", *common, "--eval_split", "test", "--bootstrap_resamples", "0", env=env)
    assert on_test.returncode == 0, on_test.stderr[-3000:]
    assert "picked this checkpoint" not in on_test.stdout and "bootstrap" not in on_test.stdout
    test_summary = json.loads((out / "eval_test.json").read_text())
    assert test_summary["caveats"] == [] and "bootstrap" not in test_summary


def test_a_wrong_hash_and_a_cut_download_are_one_line_errors_that_leave_no_file(narrow_zoo, tmp_path):
    song = write_tone(tmp_path / "song.wav", 4.0, 16000)
    cut = ZooServer(narrow_zoo, cut_after=len(narrow_zoo) // 3)
    result = run_script("tag.py", "--model", "zoo", str(song), env=cut.env(tmp_path / "cache"))
    cut.stop()
    assert_one_line_error(result, "stopped after", "place it at")
    wrong = ZooServer(narrow_zoo)
    result = run_script(
        "export.py", "--ckpt_file", "zoo", "--file_name", str(tmp_path / "never"), "--device_target", "CPU",
        env=wrong.env(tmp_path / "cache", sha256="1" * 64),
    )  # fmt: skip
    wrong.stop()
    assert_one_line_error(result, "sha256", "1" * 64, "deleted")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert not list(tmp_path.glob("never*"))


def test_a_file_named_zoo_in_the_working_folder_is_not_shadowed(narrow_zoo, tmp_path):
    (tmp_path / "zoo").write_bytes(b"my own model called zoo")
    song = write_tone(tmp_path / "song.wav", 4.0, 16000)
    server = ZooServer(narrow_zoo)
    result = subprocess.run(  # from the folder that holds `zoo`; tag.py finds src/ beside itself
        [sys.executable, str(ROOT / "tag.py"), "--model", "zoo", str(song)],
        cwd=tmp_path, env={**os.environ, **server.env(tmp_path / "cache")}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    server.stop()
    assert_one_line_error(result, f"names both the file {tmp_path / 'zoo'}", "./zoo")
    assert server.hits == 0 and (tmp_path / "zoo").read_bytes() == b"my own model called zoo"


def test_the_zoo_checkpoint_as_published_loads_from_its_weights_with_the_reference_tags(tmp_path, mindspore_cpu):
    network = random_network(ModelParams().channels, num_classes=len(ZOO_TAGS), seed=3)  # full size, ~70 MB
    server = ZooServer(_zoo_like(network, tmp_path / "full.ckpt", None))  # no run info, as the zoo publishes it
    song = write_tone(tmp_path / "song.wav", 6.0, 16000)
    result = run_script(
        "tag.py", "--model", "zoo", str(song), "--top_k", "3", "--format", "json", "--device_target", "CPU",
        env=server.env(tmp_path / "cache"),
    )  # fmt: skip
    server.stop()
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["tags"] == list(ZOO_TAGS)
    assert "its widths are the reference FCN-4's" in result.stderr
    top = report["tracks"][0]["top"]
    assert len(top) == 3 and all(item["tag"] in ZOO_TAGS and 0.0 <= item["probability"] <= 1.0 for item in top)
