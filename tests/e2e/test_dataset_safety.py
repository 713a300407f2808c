"""preprocess.py on datasets as users have them: odd annotation rows under split=mtat, clip folders that
are symbolic links to shared storage, an annotation file kept apart from the audio (with a BOM), and
an audio_path one level above the audio."""

import csv
import json
import shutil

import pytest

from src import demo_data
from tests.helpers.processes import assert_one_line_error, run_script

NUM_CLIPS = 12  # folders 0-b, one clip each


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return demo_data.generate_corpus(tmp_path_factory.mktemp("safety") / "mtat", NUM_CLIPS, seed=7, workers=2)


def _copy(corpus, root):
    shutil.copytree(corpus, root / "mtat")
    return root / "mtat"


def _preprocess(audio_path, mr, *extra):
    args = ("--audio_path", str(audio_path), "--mr_path", str(mr), "--num_consumer", "1", "--split_seed", "2")
    return run_script("preprocess.py", *args, *extra)


def _report(mr):
    return json.loads((mr / "preprocess_report.json").read_text())


def test_odd_rows_under_split_mtat_are_skipped_and_reported(corpus, tmp_path):
    mtat = _copy(corpus, tmp_path)
    odd = [str(tmp_path / "abs.mp3"), "../up.mp3", "extra/x.mp3"]
    with open(mtat / demo_data.CSV_NAME, newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    rows += [[str(900 + i), *rows[1][1:-1], path] for i, path in enumerate(odd)]
    with open(mtat / demo_data.CSV_NAME, "w", newline="") as handle:
        csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)

    result = _preprocess(mtat, tmp_path / "mr", "--split", "mtat")

    assert result.returncode == 0, result.stderr[-3000:]
    report = _report(tmp_path / "mr")
    assert report["written"] == {"train": NUM_CLIPS}
    reasons = {entry["mp3_path"]: entry["reason"] for entry in report["skipped"]}
    assert sorted(reasons) == sorted(odd)
    assert "relative to the audio root" in reasons[odd[0]] and "relative to the audio root" in reasons[odd[1]]
    assert "'extra' is not an MTAT folder" in reasons["extra/x.mp3"]
    assert "3 broken clips skipped" in result.stderr


def test_symlinked_folders_are_reported_once_and_followed_when_asked(corpus, tmp_path):
    mtat = _copy(corpus, tmp_path)
    (tmp_path / "shared").mkdir()
    for folder in ("3", "4"):
        shutil.move(mtat / folder, tmp_path / "shared" / folder)
        (mtat / folder).symlink_to(tmp_path / "shared" / folder)

    refused = _preprocess(mtat, tmp_path / "mr")

    assert refused.returncode == 0, refused.stderr[-3000:]
    hints = [line for line in refused.stderr.splitlines() if "symbolic link" in line]
    assert len(hints) == 1 and "2 clips" in hints[0] and "--follow_symlinks True" in hints[0], hints
    report = _report(tmp_path / "mr")
    assert sum(report["written"].values()) == NUM_CLIPS - 2
    assert [entry["mp3_path"][0] for entry in report["skipped"]] == ["3", "4"]

    followed = _preprocess(mtat, tmp_path / "mr_followed", "--follow_symlinks", "True")

    assert followed.returncode == 0, followed.stderr[-3000:]
    assert sum(_report(tmp_path / "mr_followed")["written"].values()) == NUM_CLIPS
    assert "symbolic link" not in followed.stderr
    still = _preprocess(mtat, tmp_path / "mr", "--follow_symlinks", "True")  # the first dataset is not redone silently
    assert_one_line_error(still, "follow_symlinks", "--overwrite True")


def test_an_annotation_file_apart_from_the_audio_with_a_bom(corpus, tmp_path):
    mtat = _copy(corpus, tmp_path)
    labels = tmp_path / "labels" / "mtat annotations.csv"
    labels.parent.mkdir()
    labels.write_bytes(b"\xef\xbb\xbf" + (mtat / demo_data.CSV_NAME).read_bytes())
    (mtat / demo_data.CSV_NAME).unlink()

    result = _preprocess(mtat, tmp_path / "mr", "--info_path", str(labels))

    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(_report(tmp_path / "mr")["written"].values()) == NUM_CLIPS


def test_audio_one_level_down_is_pointed_at(corpus, tmp_path):
    _copy(corpus, tmp_path / "data")
    shutil.copy(corpus / demo_data.CSV_NAME, tmp_path / "data" / demo_data.CSV_NAME)

    result = _preprocess(tmp_path / "data", tmp_path / "mr")

    assert_one_line_error(
        result, f"{NUM_CLIPS} of {NUM_CLIPS} clips are missing", f"pass --audio_path {tmp_path / 'data' / 'mtat'}"
    )


def test_an_mr_path_under_a_file_is_refused_before_any_work(corpus, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = _preprocess(corpus, tmp_path / "notes.txt" / "mr")
    assert_one_line_error(result, "mr_path", "notes.txt exists and is not a folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"
