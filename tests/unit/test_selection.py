"""Whether eval.py scores the split that picked its checkpoint (src.training.selection), read from a run folder as
train.py leaves it: train_state.json (best epoch, data fingerprint) and config.yaml (prefix)."""

import json

import pytest
import yaml

from src.model import pretrained
from src.model.checkpoint import TrainState
from src.training.selection import caveats, picked_notice, picked_on


def _dataset(folder, fingerprint):
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"fingerprint": fingerprint}))
    return folder


@pytest.fixture
def run(tmp_path):
    """A run folder whose best checkpoint (epoch 3, prefix Tune) was picked on the val split of dataset `mr`."""
    mr = _dataset(tmp_path / "mr", "abc123")
    out = tmp_path / "run"
    out.mkdir()
    TrainState(epoch=4, best_auc=0.8, best_epoch=3, trained_with={"data": "abc123"}).save(out)
    (out / "config.yaml").write_text(yaml.safe_dump({"prefix": "Tune", "mr_path": str(mr)}))
    (out / "Tune-best.ckpt").write_bytes(b"")
    return out, mr


def test_the_val_split_that_picked_the_best_checkpoint_is_named(run):
    out, mr = run
    assert picked_on(out / "Tune-best.ckpt", mr, "val", "MusicTagger") == 3
    assert caveats(out / "Tune-best.ckpt", mr, "val", "MusicTagger") == [picked_notice("val", 3)]
    assert "val picked this checkpoint" in picked_notice("val", 3) and picked_notice("val", 3).endswith("score test")


@pytest.mark.parametrize(
    "name, split, fingerprint",
    [
        ("Tune-best.ckpt", "test", "abc123"),  # another split
        ("Tune-4_2.ckpt", "val", "abc123"),  # an epoch checkpoint: nothing picked it
        ("Tune-best.ckpt", "val", "other"),  # the val split of another dataset
    ],
    ids=["test-split", "epoch-checkpoint", "other-dataset"],
)
def test_nothing_is_said_when_the_split_did_not_pick_the_checkpoint(run, tmp_path, name, split, fingerprint):
    out, mr = run
    data = mr if fingerprint == "abc123" else _dataset(tmp_path / "mr2", fingerprint)
    assert picked_on(out / name, data, split, "MusicTagger") is None
    assert caveats(out / name, data, split, "MusicTagger") == []


def test_a_run_without_validation_or_state_picked_nothing(run, tmp_path):
    out, mr = run
    TrainState(epoch=4, best_epoch=0, trained_with={"data": "abc123"}).save(out)  # eval_each_epoch False
    assert picked_on(out / "Tune-best.ckpt", mr, "val", "MusicTagger") is None
    assert picked_on(tmp_path / "MusicTagger-best.ckpt", mr, "val", "MusicTagger") is None  # no run folder


def test_the_prefix_falls_back_to_the_given_one_when_the_run_records_none(run):
    out, mr = run
    (out / "config.yaml").unlink()
    assert picked_on(out / "Tune-best.ckpt", mr, "val", "MusicTagger") is None
    assert picked_on(out / "Tune-best.ckpt", mr, "val", "Tune") == 3


def test_scoring_the_zoo_model_warns_about_its_training_split(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.CACHE_VARIABLE, str(tmp_path / "cache"))
    found = caveats(pretrained.zoo_path(), tmp_path, "test", "MusicTagger")
    assert found == [pretrained.SPLIT_WARNING]
    assert "unseeded random 80/20 split of all of MTAT" in found[0] and "overstates" in found[0]
