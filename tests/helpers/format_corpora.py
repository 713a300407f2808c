"""Small generated corpora in MTG-Jamendo's and musicnn-training's MSD layouts, for the end-to-end tests.

The audio is demo_data's synthesis (every tag a fixed function of audible factors), written where each
layout puts it; the annotation files are written as the published ones are (see the format modules in
src/preprocess/formats/). Each corpus also holds the broken rows a real copy has: a missing file, an
empty one, undecodable bytes and (MTG-Jamendo) a PATH leaving the audio folder.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from src import demo_data
from src.core.fileio import atomic_write_bytes
from src.preprocess.formats import msd_lastfm, mtg_jamendo

# MTG-Jamendo tag -> the demo_data rule that decides it (instrument, drums, voice, tempo, loudness).
JAMENDO_TAGS = {
    "instrument---guitar": "guitar",
    "genre---classical": "classical",
    "instrument---drums": "drums",
    "mood/theme---energetic": "fast",
    "instrument---voice": "vocal",
    "mood/theme---relaxing": "quiet",
}
# MSD last.fm tags (a few of the 50, in 50tagList.txt's order) -> the demo_data rule that decides them.
MSD_TAGS = {"rock": "rock", "pop": "pop", "electronic": "electronic", "male vocalists": "male", "guitar": "guitar"}
SPLIT_FILES = {"train": "train", "val": "validation", "test": "test"}


@dataclass
class Corpus:
    """Where a generated corpus is: its audio root, its annotation file or folder, its split lists (if any),
    and the annotation paths of its broken rows, each with the reason preprocessing must report."""

    audio: Path
    info: Path
    lists: dict[str, Path] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)


def _tags(factors: demo_data.Factors, table: dict[str, str]) -> list[str]:
    return [tag for tag, rule in table.items() if demo_data.TAG_RULES[rule](factors)]


def _write_broken(audio: Path, broken: dict[str, str]) -> None:
    """The files behind the broken rows: empty, undecodable bytes; missing and unsafe ones are not written."""
    for path, reason in broken.items():
        if reason == "empty file":
            atomic_write_bytes(audio / path, b"")
        elif reason.startswith("undecodable"):
            atomic_write_bytes(audio / path, np.random.default_rng(0).bytes(4096))


def jamendo_corpus(root: Path, durations: list[float], seed: int = 0) -> Corpus:
    """An MTG-Jamendo checkout (data/autotagging_top50tags.tsv and data/splits/split-0/) and its audio folder.

    One track per duration (seconds), then four broken tracks (missing, 90 s: two windows with
    track_windows 2; empty; undecodable; a PATH out of the audio folder); rows go to train, train, train,
    validation, test in turn.
    """
    audio, data = root / "audio", root / "mtg-jamendo-dataset" / "data"
    broken = {
        "12/912.mp3": "missing file",
        "13/913.mp3": "empty file",
        "14/914.mp3": "undecodable",
        "../outside/915.mp3": "must be relative to the audio root",
    }
    ids = [1000 + 37 * i for i in range(len(durations))] + [912, 913, 914, 915]
    paths = [f"{track % 100:02d}/{track}.mp3" for track in ids[: len(durations)]] + list(broken)
    seconds = [*durations, 90.0, 40.0, 40.0, 40.0]
    factors = demo_data.design_factors(len(ids), seed)
    jobs = [demo_data.ClipJob(audio / paths[i], factors[i], seed, i, seconds[i]) for i in range(len(durations))]
    demo_data.write_clips(jobs, workers=2)
    _write_broken(audio, broken)
    rows = [(ids[i], paths[i], seconds[i], _tags(factors[i], JAMENDO_TAGS)) for i in range(len(ids))]
    order = ("train", "train", "train", "val", "test")
    split_dir = data / "splits" / "split-0"
    lists = {
        name: _jamendo_tsv(
            split_dir / f"autotagging_top50tags-{SPLIT_FILES[name]}.tsv",
            [row for i, row in enumerate(rows) if order[i % len(order)] == name],
            sort=True,
        )
        for name in SPLIT_FILES
    }
    return Corpus(audio, _jamendo_tsv(data / "autotagging_top50tags.tsv", rows), lists, broken)


def _jamendo_tsv(path: Path, rows: list[tuple[int, str, float, list[str]]], sort: bool = False) -> Path:
    """The published layout; the split files list a track's tags sorted, the subset files as they come."""
    lines = [mtg_jamendo.HEADER_TEXT]
    for track, mp3, seconds, tags in rows:
        fields = [f"track_{track:07d}", f"artist_{track // 4:06d}", f"album_{track // 2:06d}", mp3, f"{seconds:.1f}"]
        lines.append("\t".join([*fields, *(sorted(tags) if sort else tags)]))
    return atomic_write_bytes(path, "".join(f"{line}\n" for line in lines).encode())


def msd_corpus(root: Path, counts: dict[str, int], seconds: float, seed: int = 0) -> Corpus:
    """musicnn-training's data/index/msd/ folder (train/val/test_gt_msd.tsv, with sota-music-tagging-models'
    50tagList.txt) and audio at A/B/C/<id>.mp3: counts[split] tracks per split, each split followed by one
    broken track (missing, empty, undecodable in turn)."""
    audio, folder = root / "audio", root / "musicnn-training" / "data" / "index" / "msd"
    total = sum(counts.values()) + len(counts)
    alphabet = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    rng = np.random.default_rng(seed)
    ids = ["TR" + "".join(rng.choice(alphabet, 16)) for _ in range(total)]
    factors = demo_data.design_factors(total, seed)
    reasons = iter(("missing file", "empty file", "undecodable"))
    lines: dict[str, list[str]] = {split: [] for split in counts}
    broken: dict[str, str] = {}
    jobs = []
    position = 0
    for split, count in counts.items():
        for k in range(count + 1):
            tags = set(_tags(factors[position], MSD_TAGS))
            lines[split].append(f"{ids[position]}\t{[int(tag in tags) for tag in LASTFM_50]}\n")
            path = msd_lastfm.audio_path(ids[position])
            if k < count:
                jobs.append(demo_data.ClipJob(audio / path, factors[position], seed, position, seconds))
            else:
                broken[path] = next(reasons)
            position += 1
    demo_data.write_clips(jobs, workers=2)
    _write_broken(audio, broken)
    for split, split_lines in lines.items():
        atomic_write_bytes(folder / msd_lastfm.GT_FILES[split], "".join(split_lines).encode())
    atomic_write_bytes(folder / "50tagList.txt", "".join(f"{tag}\n" for tag in LASTFM_50).encode())
    return Corpus(audio, folder, broken=broken)


# sota-music-tagging-models' split/msd/50tagList.txt, in its order (the labels' column order).
LASTFM_50 = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
    "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
    "House", "happy",
)  # fmt: skip
