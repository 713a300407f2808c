"""Clips shorter than 1 s: preprocess.py zero-pads them as the reference pads every clip (and lists them
in its report), and tag.py tags them, so that "any length" holds for both."""

import json
import shutil

import numpy as np
import pytest

from src import demo_data, features
from src.preprocess.annotations import read_annotations
from tests.helpers.datasets import split_rows
from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint, write_tags, write_tone
from tests.helpers.processes import run_script


def test_a_clip_under_a_second_is_padded_and_reported_not_skipped(tmp_path):
    mtat = demo_data.generate_corpus(tmp_path / "mtat", num_clips=3, seed=4, workers=1)
    blip = demo_data.generate_corpus(tmp_path / "blip", num_clips=1, seed=5, duration_s=0.5)
    annotations = read_annotations(mtat / demo_data.CSV_NAME)
    shutil.copy(blip / demo_data.clip_paths(1, 5)[0], mtat / annotations.mp3_paths[1])
    mr = tmp_path / "mr"

    result = run_script("preprocess.py", "--audio_path", str(mtat), "--mr_path", str(mr), "--num_consumer", "1")

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((mr / "preprocess_report.json").read_text())
    assert report["skipped"] == []
    assert report["padded"]["count"] == 1 and report["padded"]["under_seconds"] == 1.0
    (entry,) = report["padded"]["clips"]
    assert entry["mp3_path"] == annotations.mp3_paths[1] and 0.4 < entry["seconds"] < 1.0
    assert "1 clips shorter than 1 s zero-padded" in result.stderr
    rows = {clip_id: feature for split in report["written"] for clip_id, feature, _ in split_rows(mr, split)}
    assert len(rows) == 3
    expected = features.extract(mtat / annotations.mp3_paths[1])
    np.testing.assert_allclose(rows[int(annotations.clip_ids[1])], expected, atol=1e-4)


def test_tag_py_tags_a_clip_of_a_third_of_a_second(tmp_path, mindspore_cpu):
    import mindspore as ms

    wav = write_tone(tmp_path / "music" / "blip.wav", 0.3, 22050)
    network = random_network(NARROW_CHANNELS, seed=3)
    ckpt = save_checkpoint(network, tmp_path / "ckpt")
    write_tags(tmp_path / "ckpt" / "tags.txt", 50)
    out = tmp_path / "tags.json"

    result = run_script(
        "tag.py", "--model", str(ckpt), str(wav), "--format", "json", "--output", str(out), "--no_progress",
        "--device_target", "CPU",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["skipped"] == []
    (track,) = report["tracks"]
    assert track["duration_s"] == pytest.approx(0.3, abs=1e-3) and track["window_starts_s"] == [0.0]
    expected = network(ms.Tensor(features.extract(wav)[None])).asnumpy()[0]
    np.testing.assert_allclose(track["taggram"][0], expected, atol=1e-5)
