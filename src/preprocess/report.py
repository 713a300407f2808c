"""What a preprocessing run tells its user: the summary line, and hints when many clips were skipped alike.

The report itself (preprocess_report.json) lists every skipped and padded clip; the log says each
pattern once (clips refused for a symbolic link, audio that is not where audio_path says), with
the switch or path that fixes it, instead of once per clip.
"""

from __future__ import annotations

from pathlib import Path

from src.core.file_names import REPORT_FILE, WORK_CHUNKS_DIR
from src.features import SHORT_SECONDS
from src.preprocess.annotations import SYMLINK_REASON

MISSING_REASON = "missing file"  # features.load_audio's reason for a clip whose file is absent
MISSING_SHARE = 0.9  # at least this share of the clips missing (and MISSING_MIN of them) means a wrong audio_path
MISSING_MIN = 10
_PROBES = 20  # missing clips looked for one level down


def summary_line(report: dict, mr_path: str) -> str:
    """One log line for a run: clips written per split, skipped, padded and dropped clips, speed."""
    if report["status"] == "part_done":
        return (
            f"part {report['part']} of {report['parts']}: computed {report['computed']} clips in "
            f"{report['seconds']:.1f} s ({report['clips_per_s']:.1f} clips/s) into {report['work_dir']}; "
            f"when every part is done, gather the {WORK_CHUNKS_DIR}/ folders into one and run without "
            f"preprocess_shard_id to write the shards"
        )
    written = ", ".join(f"{name} {count}" for name, count in report["written"].items())
    skipped = f"{len(report['skipped'])} broken clips skipped (listed in {Path(mr_path) / REPORT_FILE})"
    if report["status"] == "already_done":
        return (
            f"nothing to do: {mr_path} already holds the dataset of these settings ({written} clips; "
            f"{skipped}); --overwrite True redoes it"
        )
    dropped = sum(report["dropped_untagged"].values())
    padded = report.get("padded", {}).get("count", 0)
    short = f"{padded} clips shorter than {SHORT_SECONDS:g} s zero-padded (listed there too); " if padded else ""
    return (
        f"wrote {written} clips to {mr_path}; {skipped}; {short}{dropped} clips without any kept tag left out; "
        f"computed {report['computed']} clips in {report['seconds']:.1f} s ({report['clips_per_s']:.1f} clips/s)"
    )


def padded_entry(clips: list[dict]) -> dict:
    """The report's "padded" entry: the clips shorter than SHORT_SECONDS, zero-padded as every short clip."""
    return {"under_seconds": SHORT_SECONDS, "count": len(clips), "clips": clips}


def skip_hints(skipped: list[dict], total: int, audio_path: str | Path) -> list[str]:
    """One sentence per pattern among the skipped clips that has a fix: symlinked folders, misplaced audio."""
    hints = []
    linked = [entry for entry in skipped if SYMLINK_REASON in entry["reason"]]
    if linked:
        hints.append(
            f"{len(linked)} clips were skipped because their path {SYMLINK_REASON} (first: {linked[0]['mp3_path']}); "
            f"if you made those links (shared storage), pass --follow_symlinks True"
        )
    missing = [entry["mp3_path"] for entry in skipped if entry["reason"] == MISSING_REASON]
    if len(missing) >= MISSING_MIN and len(missing) >= MISSING_SHARE * total:
        where = _where_audio_is(audio_path, missing)
        hints.append(f"{len(missing)} of {total} clips are missing in {audio_path}; {where}")
    return hints


def _where_audio_is(audio_path: str | Path, missing: list[str]) -> str:
    """Where the missing clips probably are: the folder one level down that holds most of them."""
    root = Path(audio_path)
    try:
        folders = sorted(child for child in root.iterdir() if child.is_dir())
    except OSError:
        folders = []
    probes = missing[:_PROBES]
    found = {folder: sum((folder / path).is_file() for path in probes) for folder in folders}
    best = max(found, key=found.get, default=None)
    if best is None or found[best] == 0:
        first = missing[0].split("/", 1)[0]
        return f"audio_path must hold the folders of the annotation's mp3_path (like {root / first}/)"
    return f"the audio is probably in {best} (pass --audio_path {best})"
