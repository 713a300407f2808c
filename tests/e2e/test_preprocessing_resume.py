"""Resumable, atomic, multi-host preprocessing: SIGKILL and rerun, parts combined on one host,
an interrupted publish finished, one run per folder; outputs equal to an uninterrupted run."""

import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import psutil
import pytest

from src import demo_data
from src.features import FEATURE_SHAPE
from src.preprocess.annotations import read_annotations
from src.preprocess.splits import MTAT_FOLDER_SPLIT
from src.preprocess.work_store import WorkStore, exclusive
from tests.helpers.datasets import dataset_content
from tests.helpers.processes import ROOT, assert_one_line_error, run_script

NUM_CLIPS = 24


def _args(corpus, mr, *extra):
    return [
        "--audio_path",
        str(corpus / "mtat"),
        "--mr_path",
        str(mr),
        "--split",
        "mtat",
        "--num_consumer",
        "2",
        *extra,
    ]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """NUM_CLIPS clips + MTAT's broken files, and the uninterrupted run's output in straight/."""
    root = tmp_path_factory.mktemp("resume")
    demo_data.generate_corpus(root / "mtat", num_clips=NUM_CLIPS, seed=9, inject_broken=True, workers=2)
    result = run_script("preprocess.py", *_args(root, root / "straight"))
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def test_uninterrupted_run_uses_the_mtat_folder_split(corpus):
    annotations = read_annotations(corpus / "mtat" / demo_data.CSV_NAME)
    broken = set(demo_data.BROKEN_PATHS)
    expected = Counter(MTAT_FOLDER_SPLIT[p[0]] for p in annotations.mp3_paths if p not in broken)
    report = json.loads((corpus / "straight" / "preprocess_report.json").read_text())
    assert report["written"] == dict(expected)
    assert not (corpus / "straight" / "preprocess_work").exists()


def test_sigkill_then_rerun_finishes_without_recomputing_and_equals_an_uninterrupted_run(corpus, tmp_path):
    mr = tmp_path / "mr"
    command = [sys.executable, "preprocess.py", *_args(corpus, mr, "--preprocess_workers", "1")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chunks = mr / "preprocess_work" / "chunks"
    deadline = time.time() + 120
    while not list(chunks.glob("c*.json")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.01)
    workers = psutil.Process(process.pid).children()
    process.send_signal(signal.SIGKILL)
    process.wait()
    psutil.wait_procs(workers, timeout=10)
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers), "workers outlived"
    stored = len(list(chunks.glob("c*.json")))
    total_chunks = -(-(NUM_CLIPS + len(demo_data.BROKEN_PATHS)) // 8)
    assert 1 <= stored < total_chunks, "the kill must land while clips are being computed"
    assert not (mr / "manifest.json").exists() and not list(mr.glob("*.mindrecord*"))

    other = run_script("preprocess.py", *_args(corpus, mr, "--split", "random"))
    assert_one_line_error(other, "unfinished work made with other settings", "split: 'mtat' -> 'random'")

    result = run_script("preprocess.py", *_args(corpus, mr, "--preprocess_workers", "1"))
    assert result.returncode == 0, result.stderr[-3000:]
    done_before = stored * 8
    assert f"resuming: {done_before} of {NUM_CLIPS + len(demo_data.BROKEN_PATHS)} clips" in result.stderr
    report = json.loads((mr / "preprocess_report.json").read_text())
    assert report["computed"] == NUM_CLIPS + len(demo_data.BROKEN_PATHS) - done_before
    assert dataset_content(mr) == dataset_content(corpus / "straight")
    assert not (mr / "preprocess_work").exists()


def test_parts_computed_on_two_hosts_combine_into_the_same_dataset(corpus, tmp_path):
    for part in (0, 1):
        result = run_script(
            "preprocess.py",
            *_args(
                corpus, tmp_path / f"host{part}", "--preprocess_num_shards", "2", "--preprocess_shard_id", str(part)
            ),
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"part {part} of 2" in result.stderr
        assert not list((tmp_path / f"host{part}").glob("*.mindrecord*"))
    gathered = tmp_path / "gathered" / "preprocess_work" / "chunks"
    for part in (0, 1):
        shutil.copytree(tmp_path / f"host{part}" / "preprocess_work" / "chunks", gathered, dirs_exist_ok=True)
    result = run_script("preprocess.py", *_args(corpus, tmp_path / "gathered"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "gathered" / "preprocess_report.json").read_text())["computed"] == 0
    assert dataset_content(tmp_path / "gathered") == dataset_content(corpus / "straight")


def test_an_interrupted_publish_is_finished_by_the_next_run(tmp_path):
    """Publishing replaces an older dataset: killed after any move, a rerun completes it."""
    mr = tmp_path / "mr"
    mr.mkdir()
    for name in ("train.mindrecord0", "train.mindrecord0.db", "test.mindrecord", "manifest.json"):
        (mr / name).write_text("old")
    store = WorkStore(mr)
    store.staging.mkdir(parents=True)
    names = ["train.mindrecord0", "train.mindrecord0.db", "tags.txt", "preprocess_report.json", "manifest.json"]
    for name in names:
        (store.staging / name).write_text("new")
    store.begin_commit(names)
    (mr / "manifest.json").unlink()  # the kill landed after the old manifest and one new file moved
    shutil.move(store.staging / "train.mindrecord0", mr / "train.mindrecord0")
    assert WorkStore(mr).committing()
    WorkStore(mr).finish_commit()
    assert sorted(p.name for p in mr.iterdir()) == sorted(names)
    assert all((mr / name).read_text() == "new" for name in names)


def test_a_second_run_on_the_same_folder_is_refused(corpus, tmp_path):
    with exclusive(tmp_path / "mr"):
        result = run_script("preprocess.py", *_args(corpus, tmp_path / "mr"))
    assert_one_line_error(result, "another preprocess.py is writing to", str(tmp_path / "mr"))


def test_damaged_or_foreign_chunks_are_not_taken_as_finished(tmp_path):
    store = WorkStore(tmp_path)
    store.create("fingerprint", {}, 8)
    clip_ids = [[2 * i, 2 * i + 1] for i in range(4)]
    for index, ids in enumerate(clip_ids):
        store.write_chunk(index, ids, np.full((1, *FEATURE_SHAPE), index, np.float32), [(1, "empty file")])
    assert store.finished_chunks(clip_ids) == {0, 1, 2, 3}
    features, skipped = store.read_chunk(2)
    assert features.shape == (1, *FEATURE_SHAPE) and features.max() == 2 and skipped == {1: "empty file"}

    npy, _ = store.chunk_files(1)
    npy.write_bytes(npy.read_bytes()[:-100])  # cut short (a crash of the machine, not of the process)
    _, meta = store.chunk_files(2)
    info = json.loads(meta.read_text())
    info["features"]["librosa_version"] = "0.9.2"  # computed on a host with another librosa
    meta.write_text(json.dumps(info))
    (store.chunks / ".c000004.npy.123.tmp").write_bytes(b"left by a kill")
    assert store.finished_chunks([*clip_ids[:3], [98, 99]]) == {0}
    assert not list(store.chunks.glob(".*.tmp"))
