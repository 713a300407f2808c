"""Tests of the demo corpus generator: MTAT's file format, determinism, broken files and the CLI.

Everything runs on real files: real mp3 encoding and real decoding.
"""

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from src.demo_data import (
    BROKEN_PATHS,
    CSV_NAME,
    EMPTY_MTAT_PATHS,
    EXTRA_TAGS,
    FOLDERS,
    MISSING_PATH,
    SAMPLE_RATE,
    TAG_COLUMNS,
    TOP50_TAGS,
    TRUNCATED_BYTES,
    TRUNCATED_PATH,
    UNDECODABLE_PATH,
    factor_design,
    generate_corpus,
    label_matrix,
)
from tests.helpers.processes import ROOT

NUM_CLIPS = 48
DURATION_S = 3.0
MTAT_NAME = re.compile(r"^[0-9a-f]/[a-z0-9_]+-[a-z0-9_]+-\d\d-[a-z0-9_]+-\d+-\d+\.mp3$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    return generate_corpus(root, num_clips=NUM_CLIPS, seed=0, duration_s=DURATION_S, inject_broken=True)


def read_rows(root: Path) -> tuple[list[str], list[list[str]]]:
    with open(root / CSV_NAME, newline="", encoding="utf-8") as handle:
        header, *rows = csv.reader(handle, delimiter="\t")
    return header, rows


def clip_rows(root: Path) -> list[list[str]]:
    """The rows of normal (not broken) clips."""
    return [row for row in read_rows(root)[1] if row[-1] not in BROKEN_PATHS]


def tag_counts(root: Path) -> dict[str, int]:
    header, rows = read_rows(root)
    return {tag: sum(row[header.index(tag)] == "1" for row in rows) for tag in TAG_COLUMNS}


def test_csv_is_in_mtat_format(corpus: Path) -> None:
    lines = (corpus / CSV_NAME).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + NUM_CLIPS + len(BROKEN_PATHS)
    for line in lines:
        fields = line.split("\t")
        assert len(fields) == len(TAG_COLUMNS) + 2
        assert all(len(f) >= 2 and f.startswith('"') and f.endswith('"') for f in fields), line[:80]
    header, rows = read_rows(corpus)
    assert header == ["clip_id", *TAG_COLUMNS, "mp3_path"]
    assert set(TAG_COLUMNS) == set(TOP50_TAGS) | set(EXTRA_TAGS) and len(TAG_COLUMNS) == 56
    assert header[-2] == "english"
    assert {value for row in rows for value in row[1:-1]} == {"0", "1"}
    ids = [int(row[0]) for row in rows]
    assert ids[0] == 2 and all(a < b for a, b in zip(ids, ids[1:], strict=False))


def test_paths_are_mtat_like_and_cover_every_folder(corpus: Path) -> None:
    paths = [row[-1] for row in clip_rows(corpus)]
    assert len(set(paths)) == NUM_CLIPS
    assert all(MTAT_NAME.match(path) for path in paths), paths[:3]
    assert {path.split("/")[0] for path in paths} == set(FOLDERS)
    assert all((corpus / path).is_file() for path in paths)


def test_clips_decode_as_16k_mono_of_the_requested_duration(corpus: Path) -> None:
    for row in clip_rows(corpus):
        info = sf.info(str(corpus / row[-1]))
        assert (info.samplerate, info.channels) == (SAMPLE_RATE, 1)
        assert abs(info.duration - DURATION_S) < 0.1


def test_loud_clips_are_much_louder_than_quiet_ones(corpus: Path) -> None:
    header, _ = read_rows(corpus)
    levels: dict[str, list[float]] = {"1": [], "0": []}
    for row in clip_rows(corpus):
        audio, _ = sf.read(str(corpus / row[-1]), dtype="float32")
        levels[row[header.index("loud")]].append(20 * np.log10(np.sqrt(np.mean(audio**2))))
    assert min(levels["1"]) - max(levels["0"]) > 12


def test_every_top50_tag_has_positives_and_negatives(corpus: Path) -> None:
    header, _ = read_rows(corpus)
    rows = clip_rows(corpus)
    for tag in TOP50_TAGS:
        values = {row[header.index(tag)] for row in rows}
        assert values == {"0", "1"}, tag


def test_extra_tags_are_strictly_rarer_than_every_top50_tag(corpus: Path) -> None:
    counts = tag_counts(corpus)
    assert max(counts[tag] for tag in EXTRA_TAGS) < min(counts[tag] for tag in TOP50_TAGS)


def test_design_rates_suit_a_macro_auc() -> None:
    labels = label_matrix(factor_design())
    rates = dict(zip(TAG_COLUMNS, labels.mean(axis=0), strict=True))
    assert all(0.05 <= rates[tag] <= 0.6 for tag in TOP50_TAGS), rates
    assert max(rates[tag] for tag in EXTRA_TAGS) < min(rates[tag] for tag in TOP50_TAGS)


def test_same_seed_gives_identical_output_whatever_the_workers(tmp_path: Path) -> None:
    first = generate_corpus(tmp_path / "a", num_clips=4, seed=5, duration_s=2.0)
    second = generate_corpus(tmp_path / "b", num_clips=4, seed=5, duration_s=2.0, workers=2)
    other = generate_corpus(tmp_path / "c", num_clips=4, seed=6, duration_s=2.0)
    csv_bytes = [(root / CSV_NAME).read_bytes() for root in (first, second, other)]
    assert csv_bytes[0] == csv_bytes[1] != csv_bytes[2]
    path = clip_rows(first)[0][-1]
    audio = [sf.read(str(root / path))[0] for root in (first, second)]
    np.testing.assert_array_equal(audio[0], audio[1])
    other_audio = sf.read(str(other / clip_rows(other)[0][-1]))[0]
    assert other_audio.shape != audio[0].shape or not np.array_equal(other_audio, audio[0])
    assert not set(BROKEN_PATHS) & {row[-1] for row in read_rows(first)[1]}


def test_inject_broken_writes_exactly_the_broken_files(corpus: Path) -> None:
    header, rows = read_rows(corpus)
    assert [row[-1] for row in rows[-len(BROKEN_PATHS) :]] == list(BROKEN_PATHS)
    assert len({row[0] for row in rows}) == len(rows)
    for path in EMPTY_MTAT_PATHS:
        assert (corpus / path).stat().st_size == 0
    assert (corpus / TRUNCATED_PATH).stat().st_size == TRUNCATED_BYTES
    assert (corpus / UNDECODABLE_PATH).stat().st_size > 0
    assert not (corpus / MISSING_PATH).exists()
    for path in (*EMPTY_MTAT_PATHS, TRUNCATED_PATH, UNDECODABLE_PATH):
        with pytest.raises(sf.LibsndfileError):
            sf.read(str(corpus / path))
    assert not list(corpus.rglob("*.tmp"))


def test_rejects_an_empty_corpus(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="num_clips"):
        generate_corpus(tmp_path, num_clips=0)


@pytest.mark.e2e
def test_cli_writes_a_full_length_corpus(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    command = [sys.executable, "-m", "src.demo_data", "--out", str(out), "--num_clips", "2", "--seed", "3"]
    result = subprocess.run([*command, "--inject_broken"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1 and "2 clips" in result.stdout
    rows = clip_rows(out)
    assert len(rows) == 2
    assert abs(sf.info(str(out / rows[0][-1])).duration - 29.1) < 0.1
