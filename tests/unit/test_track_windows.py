"""Several 29.12 s windows per full track: the cut (features.track_window), how many (features.windows_in), the
rows and ids they become (preprocess/windows.py), and the worker decoding a track once for all its windows."""

import json

import numpy as np
import pytest

from src import features
from src.core.errors import UserError
from src.preprocess import worker
from src.preprocess.windows import track_rows
from tests.helpers.models import write_tone

CLIP = features.CLIP_SAMPLES


@pytest.mark.parametrize("samples", [CLIP - 5000, CLIP, CLIP + 1, 3 * CLIP + 777])
def test_one_window_is_the_references_centre_crop_or_padding(samples):
    y = np.random.default_rng(0).normal(size=samples).astype(np.float32)
    np.testing.assert_array_equal(features.track_window(y), features.fix_length(y))


def test_windows_are_spread_evenly_with_equal_gaps():
    samples = 4 * CLIP + 5 * 1000
    y = np.arange(samples, dtype=np.float32)
    starts = [int(features.track_window(y, k, 4)[0]) for k in range(4)]
    assert starts == [1000, CLIP + 2000, 2 * CLIP + 3000, 3 * CLIP + 4000]  # gaps of 1000 before, between, after
    assert all(features.track_window(y, k, 4).size == CLIP for k in range(4))


def test_a_track_shorter_than_its_windows_overlaps_them_evenly_and_pads_under_one_window():
    y = np.arange(int(1.5 * CLIP), dtype=np.float32)
    first, second = features.track_window(y, 0, 2), features.track_window(y, 1, 2)
    assert first[0] == 0 and second[-1] == y[-1]  # clamped into the track: no padding, overlapping evenly
    short = np.ones(CLIP // 2, np.float32)
    np.testing.assert_array_equal(features.track_window(short, 1, 3), features.fix_length(short))
    with pytest.raises(ValueError, match="window index 3 is not in 0..2"):
        features.track_window(y, 3, 3)


@pytest.mark.parametrize("seconds, most, count", [(0.0, 4, 1), (29.11, 4, 1), (58.3, 4, 2), (500.0, 4, 4)])
def test_windows_in_counts_whole_windows_up_to_the_most(seconds, most, count):
    assert features.windows_in(seconds, most) == count


def test_track_rows_expand_tracks_into_windows_with_ids_clip_id_times_windows_plus_window():
    tracks, window, count, ids = track_rows(np.array([7, 3]), np.array([95.0, 20.0]), 3)
    assert tracks.tolist() == [0, 0, 0, 1] and window.tolist() == [0, 1, 2, 0] and count.tolist() == [3, 3, 3, 1]
    assert ids.tolist() == [21, 22, 23, 9]
    same = track_rows(np.array([7, 3]), None, 1)
    assert [part.tolist() for part in same] == [[0, 1], [0, 0], [1, 1], [7, 3]]


def test_track_rows_refuse_windows_without_durations_and_counts_out_of_range():
    with pytest.raises(UserError, match="track_windows=2 needs track durations, which a.csv does not record"):
        track_rows(np.array([1]), None, 2, "a.csv")
    with pytest.raises(UserError, match="track_windows=0: expected 1 to 64"):
        track_rows(np.array([1]), np.array([30.0]), 0)


def test_the_worker_decodes_a_track_once_for_its_windows_and_cuts_them_in_features(tmp_path, monkeypatch):
    write_tone(tmp_path / "14" / "1234.wav", seconds=62.0, sample_rate=12000)
    decoded = []
    real_load = features.load_audio
    monkeypatch.setattr(features, "load_audio", lambda path: decoded.append(path) or real_load(path))
    monkeypatch.setattr(worker, "_last", {})
    rows = [worker.clip_features(tmp_path, "14/1234.wav", False, k, 2) for k in range(2)]
    assert len(decoded) == 1
    y = real_load(tmp_path / "14" / "1234.wav")
    for k, (feature, samples, reason) in enumerate(rows):
        assert reason == "" and samples == y.size
        np.testing.assert_array_equal(feature, features.log_mel(features.track_window(y, k, 2)))
    assert not np.array_equal(rows[0][0], rows[1][0])
    missing = worker.clip_features(tmp_path, "14/404.wav", False, 1, 2)
    assert missing == (None, 0, "missing file")
    assert worker.clip_features(tmp_path, "../x.wav", False)[2].endswith(
        "must be relative to the audio root, without '..'"
    )


def test_the_310_raw_dump_cuts_the_same_window_as_preprocessing_for_a_row_id(tmp_path):
    from src.inference.bin_protocol import clip_waveforms
    from src.preprocess.annotations import read_annotations
    from src.preprocess.plan import annotations_sha256

    write_tone(tmp_path / "audio" / "34" / "1234.wav", seconds=62.0, sample_rate=12000)
    info = tmp_path / "autotagging.tsv"
    info.write_text("TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
                    "track_0001234\tartist_000001\talbum_000001\t34/1234.wav\t62.0\tgenre---rock\n")  # fmt: skip
    digest = annotations_sha256(read_annotations(info, "mtg_jamendo"))
    config = {"info_name": "", "annotations_sha256": digest, "info_format": "mtg_jamendo", "track_windows": 3}
    manifest = {"config": config, "paths": {"audio_path": str(tmp_path / "audio")}}
    (tmp_path / "mr").mkdir()
    (tmp_path / "mr" / "manifest.json").write_text(json.dumps(manifest))
    samples = clip_waveforms(tmp_path / "mr", str(info))(np.array([1234 * 3 + 1]))
    y = features.load_audio(tmp_path / "audio" / "34" / "1234.wav")
    np.testing.assert_array_equal(samples[0], features.track_window(y, 1, 2))  # 62 s holds 2 of the 3 windows
    with pytest.raises(UserError, match="clip 3704 of .* is not in"):
        clip_waveforms(tmp_path / "mr", str(info))(np.array([1234 * 3 + 2]))
