"""src/preprocess/report.py: the hints said once for many clips skipped alike, and the summary line."""

from src.preprocess.report import MISSING_MIN, padded_entry, skip_hints, summary_line


def _missing(paths):
    return [{"mp3_path": path, "reason": "missing file"} for path in paths]


def test_no_hint_for_a_few_broken_clips(tmp_path):
    skipped = _missing([f"0/{i}.mp3" for i in range(MISSING_MIN - 1)])
    assert skip_hints(skipped, MISSING_MIN - 1, tmp_path) == []
    assert skip_hints(_missing([f"0/{i}.mp3" for i in range(MISSING_MIN)]), 100, tmp_path) == []


def test_missing_audio_names_the_folder_one_level_down_that_holds_it(tmp_path):
    paths = [f"{i % 16:x}/clip{i}.mp3" for i in range(20)]
    for path in paths[:5]:
        (tmp_path / "mtat" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "mtat" / path).write_bytes(b"x")
    (tmp_path / "other" / "0").mkdir(parents=True)
    (hint,) = skip_hints(_missing(paths[:19]), 20, tmp_path)
    assert hint == f"19 of 20 clips are missing in {tmp_path}; the audio is probably in {tmp_path / 'mtat'} " + (
        f"(pass --audio_path {tmp_path / 'mtat'})"
    )
    (hint,) = skip_hints(_missing(paths), 20, tmp_path / "other")
    assert hint.endswith(f"audio_path must hold the folders of the annotation's mp3_path (like {tmp_path}/other/0/)")


def test_symlinked_clips_are_counted_in_one_hint(tmp_path):
    reason = "clip path 'f/x.mp3' resolves outside the audio root through a symbolic link (/data)"
    skipped = [{"mp3_path": f"f/{i}.mp3", "reason": reason} for i in range(3)] + _missing(["0/a.mp3"])
    (hint,) = skip_hints(skipped, 40, tmp_path)
    assert hint.startswith("3 clips were skipped") and "(first: f/0.mp3)" in hint
    assert hint.endswith("pass --follow_symlinks True")


def test_summary_line_counts_padded_clips_only_when_there_are_some():
    report = {
        "status": "finished",
        "written": {"train": 5},
        "skipped": [],
        "dropped_untagged": {"train": 0},
        "computed": 5,
        "seconds": 1.0,
        "clips_per_s": 5.0,
    }
    assert "padded" not in summary_line({**report, "padded": padded_entry([])}, "mr")
    clip = {"clip_id": 1, "mp3_path": "0/a.mp3", "split": "train", "seconds": 0.4}
    assert "; 1 clips shorter than 1 s zero-padded (listed there too); " in summary_line(
        {**report, "padded": padded_entry([clip])}, "mr"
    )
