"""The dataset manifest check that train.py makes before training."""

import json
import logging

import pytest

from src import features
from src.core.errors import UserError
from src.core.file_names import MANIFEST_FILE
from src.preprocess.manifest import check_dataset, package_versions
from tests.helpers.processes import assert_one_line_error, run_script


def _write(mr, **changes):
    manifest = {"features": features.feature_params(), "num_classes": 50, "tags": [f"t{i}" for i in range(50)]}
    manifest["features"].update(changes.pop("features", {}))
    manifest.update(changes)
    mr.mkdir(exist_ok=True)
    (mr / MANIFEST_FILE).write_text(json.dumps(manifest))
    return mr


def test_matching_manifest_passes(tmp_path):
    check_dataset(_write(tmp_path / "mr"), 50)


def test_missing_manifest_is_accepted_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="fcn4"):
        check_dataset(tmp_path, 50)
    assert "cannot check" in caplog.text


def test_unfinished_dataset_is_refused(tmp_path):
    (tmp_path / "preprocess_work").mkdir()
    with pytest.raises(UserError, match="unfinished dataset"):
        check_dataset(tmp_path, 50)


def test_other_feature_settings_are_refused_naming_the_setting(tmp_path):
    mr = _write(tmp_path / "mr", features={"n_mels": 128, "librosa_version": "0.9.2"})
    with pytest.raises(UserError) as error:
        check_dataset(mr, 50)
    assert "n_mels=128 (this toolkit: 96)" in str(error.value)
    assert "librosa_version='0.9.2'" in str(error.value)


def test_other_class_count_is_refused(tmp_path):
    with pytest.raises(UserError, match="num_classes=20"):
        check_dataset(_write(tmp_path / "mr", num_classes=20), 50)


def test_unreadable_manifest_is_refused(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        check_dataset(tmp_path, 50)


def test_package_versions_name_the_feature_stack():
    versions = package_versions()
    assert {"python", "numpy", "librosa", "soundfile", "soxr", "mindspore"} <= set(versions)
    assert versions["librosa"] == features.feature_params()["librosa_version"]


@pytest.mark.e2e
def test_train_refuses_a_dataset_made_with_other_feature_settings(tmp_path):
    mr = _write(tmp_path / "mr", features={"hop_length": 512})
    (mr / "tags.txt").write_text("".join(f"t{i}\n" for i in range(50)))
    result = run_script("train.py", "--mr_path", str(mr), "--checkpoint_path", str(tmp_path / "ck"))
    assert_one_line_error(result, str(mr / MANIFEST_FILE), "hop_length=512 (this toolkit: 256)")
    assert not (tmp_path / "ck").exists()
