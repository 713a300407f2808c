"""preprocess.py on an MTAT-format corpus with MTAT's defects: broken files (the three real empty
file names included), paths leaving the audio root, short and long clips; the report, manifest,
per-clip .npy option and the "already done" / other-settings / --overwrite behaviour."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from src import demo_data, features
from src.core.file_names import PREPROCESS_LOCK
from src.core.tag_list import read_tag_list
from src.dataset import count_rows, find_shards
from src.preprocess.annotations import read_annotations
from tests.helpers.datasets import dataset_content, split_rows
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

ESCAPING = ("../outside.mp3", "/tmp/outside.mp3", "0/../../outside.mp3")


def _preprocess(corpus, mr, *extra):
    return run_script(
        "preprocess.py",
        "--audio_path",
        str(corpus / "mtat"),
        "--mr_path",
        str(mr),
        "--split",
        "random",
        "--split_seed",
        "3",
        "--num_consumer",
        "2",
        *extra,
    )


def _add_rows(csv_path, paths):
    """Append clips with these mp3_paths (tags copied from the first row) to an MTAT annotation file."""
    with open(csv_path, newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    next_id = max(int(r[0]) for r in rows[1:]) + 1
    rows += [[str(next_id + i), *rows[1][1:-1], path] for i, path in enumerate(paths)]
    with open(csv_path, "w", newline="") as handle:
        csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """16 clips + MTAT's broken files + paths leaving the root (to a real mp3) + a 12 s and a 35 s clip."""
    root = tmp_path_factory.mktemp("prep")
    mtat = demo_data.generate_corpus(root / "mtat", num_clips=16, seed=4, inject_broken=True, workers=2)
    odd = demo_data.generate_corpus(root / "odd", num_clips=2, seed=5, duration_s=12.0)
    long = demo_data.generate_corpus(root / "long", num_clips=1, seed=6, duration_s=35.0)
    paths = read_annotations(mtat / demo_data.CSV_NAME).mp3_paths
    shutil.copy(odd / demo_data.clip_paths(2, 5)[0], mtat / paths[0])
    shutil.copy(long / demo_data.clip_paths(1, 6)[0], mtat / paths[1])
    shutil.copy(mtat / paths[2], root / "outside.mp3")
    _add_rows(mtat / demo_data.CSV_NAME, [p.replace("/tmp/", f"{root}/") for p in ESCAPING])
    result = _preprocess(root, root / "mr")
    assert result.returncode == 0, result.stderr[-3000:]
    root.joinpath("first_run.log").write_text(result.stderr)
    return root


def test_every_broken_or_escaping_clip_is_skipped_with_its_reason(corpus):
    report = json.loads((corpus / "mr" / "preprocess_report.json").read_text())
    reasons = {entry["mp3_path"]: entry["reason"] for entry in report["skipped"]}
    escaping = [p.replace("/tmp/", f"{corpus}/") for p in ESCAPING]
    assert sorted(reasons) == sorted([*demo_data.BROKEN_PATHS, *escaping])
    for path in demo_data.EMPTY_MTAT_PATHS:
        assert reasons[path] == "empty file"
    assert reasons[demo_data.MISSING_PATH] == "missing file"
    assert reasons[demo_data.UNDECODABLE_PATH].startswith("undecodable")
    assert reasons[demo_data.TRUNCATED_PATH].startswith("undecodable")
    for path in escaping:  # each points at a valid mp3: had it been opened, it would have been written
        assert "relative to the audio root" in reasons[path]
    assert features.extract(corpus / "outside.mp3").shape == features.FEATURE_SHAPE
    assert f"{len(reasons)} broken clips skipped" in corpus.joinpath("first_run.log").read_text()


def test_shards_hold_every_usable_clip_with_reference_features(corpus):
    annotations = read_annotations(corpus / "mtat" / demo_data.CSV_NAME)
    report = json.loads((corpus / "mr" / "preprocess_report.json").read_text())
    assert sum(report["written"].values()) == 16
    for split, count in report["written"].items():
        rows = split_rows(corpus / "mr", split)
        assert count_rows(find_shards(corpus / "mr", split)) == count == len(rows)
    by_id = {i: feature for split in report["written"] for i, feature, _ in split_rows(corpus / "mr", split)}
    for row in (0, 1, 5):  # the 12 s clip (padded), the 35 s clip (centre-cropped), a 29.1 s clip
        expected = features.extract(corpus / "mtat" / annotations.mp3_paths[row])
        np.testing.assert_allclose(by_id[int(annotations.clip_ids[row])], expected, atol=1e-4)


def test_manifest_records_settings_tags_sizes_and_positives(corpus):
    mr = corpus / "mr"
    manifest = json.loads((mr / "manifest.json").read_text())
    report = json.loads((mr / "preprocess_report.json").read_text())
    annotations = read_annotations(corpus / "mtat" / demo_data.CSV_NAME)
    assert manifest["tags"] == read_tag_list(mr / "tags.txt")
    assert manifest["num_classes"] == 50
    assert manifest["config"]["split"] == "random" and manifest["config"]["split_seed"] == 3
    assert manifest["features"] == features.feature_params()
    assert manifest["split_sizes"] == report["written"]
    assert {"python", "numpy", "librosa", "mindspore"} <= set(manifest["versions"])
    columns = [annotations.tag_names.index(t) for t in manifest["tags"]]
    row_of = {int(c): i for i, c in enumerate(annotations.clip_ids)}
    for split in report["written"]:
        rows = [row_of[clip_id] for clip_id, _, _ in split_rows(mr, split)]
        expected = annotations.tag_matrix[rows][:, columns].sum(axis=0)
        assert manifest["positives"][split] == expected.tolist()
    assert sum(manifest["skipped"].values()) == len(report["skipped"])


def test_rerun_does_nothing_and_other_settings_are_refused(corpus):
    mr = corpus / "mr"
    before = {p.name: p.stat().st_mtime_ns for p in mr.iterdir() if p.name != PREPROCESS_LOCK}  # holds the pid
    result = _preprocess(corpus, mr)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing to do" in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in mr.iterdir() if p.name != PREPROCESS_LOCK} == before

    result = _preprocess(corpus, mr, "--split_seed", "4")
    assert_one_line_error(result, str(mr), "split_seed: 3 -> 4", "--overwrite True")


def test_overwrite_with_keep_npy_redoes_the_same_dataset_and_the_per_clip_files(corpus, tmp_path):
    mr = tmp_path / "mr"
    shutil.copytree(corpus / "mr", mr)
    result = _preprocess(corpus, mr, "--overwrite", "True", "--keep_npy", "True", "--npy_path", str(tmp_path / "npy"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((mr / "preprocess_report.json").read_text())["computed"] == 16 + 6 + len(ESCAPING)
    assert dataset_content(mr) == dataset_content(corpus / "mr")
    annotations = read_annotations(corpus / "mtat" / demo_data.CSV_NAME)
    npy = sorted(tmp_path.joinpath("npy").rglob("*.npy"))
    assert len(npy) == 16
    feature = np.load(tmp_path / "npy" / annotations.mp3_paths[3].replace(".mp3", ".npy"), allow_pickle=False)
    by_id = {clip_id: f for split in ("train", "val") for clip_id, f, _ in split_rows(mr, split)}
    np.testing.assert_array_equal(feature, by_id[int(annotations.clip_ids[3])])
    assert not (mr / "preprocess_work").exists()


def test_run_process_data_script_checks_its_arguments_and_runs_preprocess(corpus, tmp_path):
    script = ["bash", "scripts/run_process_data.sh"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    usage = subprocess.run(script, cwd=ROOT, capture_output=True, text=True, env=env)
    assert usage.returncode == 2 and "usage: bash scripts/run_process_data.sh AUDIO_PATH MR_PATH" in usage.stderr
    result = subprocess.run(
        [
            *script,
            str(corpus / "mtat"),
            str(tmp_path / "mr"),
            "--split",
            "random",
            "--split_seed",
            "3",
            "--num_consumer",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote train" in result.stderr
    assert dataset_content(tmp_path / "mr") == dataset_content(corpus / "mr")
