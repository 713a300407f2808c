"""Deterministic generator of a small MagnaTagATune-format demo corpus.

The project ships no MagnaTagATune audio, so the demo and the tests train and evaluate on this
corpus instead. Every clip is synthesised from five latent, strongly audible factors (instrument,
drums, tempo, loudness, voice) and every tag is a fixed function of those factors, so the tags can
be learned from the audio alone and carry no label noise. The files follow MTAT's layout
(`annotations_final.csv` next to 16 kHz mono mp3 clips in folders `0`-`f`), so every data path of
the toolkit runs on this corpus unchanged.

Usage: python -m src.demo_data --out DIR [--num_clips N] [--seed S] [--inject_broken] [--split_lists]

May import: core
"""

import argparse
import csv
import functools
import io
import itertools
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from src.core.fileio import atomic_write_bytes
from src.core.tag_list import REFERENCE_TAGS

SAMPLE_RATE = 16000
CSV_NAME = "annotations_final.csv"
FOLDERS = tuple("0123456789abcdef")
SEGMENTS = ("0-29", "30-59", "59-88", "88-117", "117-146", "146-175", "175-204", "204-233")

TOP50_TAGS = REFERENCE_TAGS
# Rarer real MTAT tags, so that a top-50 selection has columns to drop.
EXTRA_TAGS = ("english", "jazz", "orchestra", "hard rock", "funky", "heavy metal")
# CSV column order: MTAT's own order restricted to these tags, with `english` last as in MTAT.
TAG_COLUMNS = (
    "no voice", "hard rock", "harpsichord", "sitar", "male vocal", "vocals", "beats", "funky",
    "classical", "female", "jazz", "guitar", "quiet", "solo", "female voice", "ambient", "new age",
    "synth", "voice", "strings", "male voice", "loud", "classic", "drums", "electronic", "no vocal",
    "choral", "weird", "opera", "fast", "country", "violin", "no vocals", "heavy metal", "man",
    "harp", "pop", "female vocal", "piano", "orchestra", "slow", "male", "vocal", "indian",
    "woman", "rock", "dance", "singing", "cello", "techno", "flute", "beat", "soft", "choir",
    "metal", "english",
)  # fmt: skip

# The three files that are empty (0 bytes) in the official MTAT archive.
EMPTY_MTAT_PATHS = (
    "6/norine_braun-now_and_zen-08-gently-117-146.mp3",
    "8/jacob_heringman-josquin_des_prez_lute_settings-19-gintzler__pater_noster-204-233.mp3",
    "9/american_baroque-dances_and_suites_of_rameau_and_couperin-25-le_petit_rien_xiveme_ordre_couperin-88-117.mp3",
)
TRUNCATED_PATH = "c/broken_demo-damaged_files-01-truncated_download-0-29.mp3"
UNDECODABLE_PATH = "d/broken_demo-damaged_files-02-random_bytes-30-59.mp3"
MISSING_PATH = "e/broken_demo-damaged_files-03-lost_file-59-88.mp3"
# Rows written by `inject_broken=True` whose audio cannot be loaded; loaders must skip and report them.
BROKEN_PATHS = (*EMPTY_MTAT_PATHS, TRUNCATED_PATH, UNDECODABLE_PATH, MISSING_PATH)
TRUNCATED_BYTES = 300

INSTRUMENTS = ("piano", "guitar", "violin", "cello", "flute", "harpsichord", "sitar", "harp", "synth")
ORCHESTRAL = frozenset({"piano", "violin", "cello", "flute", "harpsichord", "harp"})
# Design weights, as repeated slots: guitar and synth carry three genre tags each, and a clip is
# sung or not with equal odds (by a male or a female singer or a choir).
INSTRUMENT_SLOTS = (*INSTRUMENTS, "guitar", "synth")
VOICE_SLOTS = ("none", "none", "none", "male", "female", "choir")

# Independent random streams per purpose, so that adding rows or files never shifts another stream.
_DESIGN, _IDS, _NAMES, _CLIP, _BROKEN = range(5)


@dataclass(frozen=True)
class Factors:
    """The latent, audible causes of a clip's tags."""

    instrument: str
    drums: bool
    fast: bool
    loud: bool
    voice: str


def _plays(*instruments: str) -> Callable[[Factors], bool]:
    return lambda f: f.instrument in instruments


# Tag -> rule over the factors. Synonymous tags share one rule, as their MTAT annotators meant.
_RULES: tuple[tuple[tuple[str, ...], Callable[[Factors], bool]], ...] = (
    *(((name,), _plays(name)) for name in INSTRUMENTS if name not in {"sitar", "synth"}),
    (("sitar", "indian"), _plays("sitar")),
    (("synth", "electronic"), _plays("synth")),
    (("strings",), _plays("violin", "cello")),
    (("drums", "beat", "beats"), lambda f: f.drums),
    (("fast",), lambda f: f.fast),
    (("slow",), lambda f: not f.fast),
    (("loud",), lambda f: f.loud),
    (("quiet", "soft"), lambda f: not f.loud),
    (("no voice", "no vocal", "no vocals"), lambda f: f.voice == "none"),
    (("voice", "vocal", "vocals", "singing"), lambda f: f.voice != "none"),
    (("male", "man", "male vocal", "male voice"), lambda f: f.voice == "male"),
    (("female", "woman", "female vocal", "female voice"), lambda f: f.voice == "female"),
    (("choir", "choral"), lambda f: f.voice == "choir"),
    (("classical", "classic"), lambda f: f.instrument in ORCHESTRAL and not f.drums),
    (("opera",), lambda f: f.voice in {"female", "choir"} and not f.drums),
    (("solo",), lambda f: f.voice == "none" and not f.drums),
    (("new age",), lambda f: f.instrument in {"flute", "harp", "piano"} and not f.loud),
    (("ambient",), lambda f: f.instrument == "synth" and not f.drums),
    (("weird",), lambda f: f.instrument == "synth" and not f.fast),
    (("techno",), lambda f: f.instrument == "synth" and f.drums),
    (("dance",), lambda f: f.drums and f.fast),
    (("pop",), lambda f: f.drums and f.voice in {"male", "female"}),
    (("rock",), lambda f: f.instrument == "guitar" and f.drums),
    (("metal",), lambda f: f.instrument == "guitar" and f.loud),
    (("country",), lambda f: f.instrument == "guitar" and not f.drums),
    # The extra tags: narrower conjunctions, hence rarer than any of the 50.
    (("english",), lambda f: f.voice == "male" and f.drums and f.loud),
    (("jazz",), lambda f: f.instrument == "piano" and f.drums and not f.fast),
    (("orchestra",), lambda f: f.instrument in {"violin", "cello"} and f.voice == "choir"),
    (("hard rock",), lambda f: f.instrument == "guitar" and f.drums and f.loud and f.fast),
    (("funky",), lambda f: f.instrument == "guitar" and f.drums and f.fast and not f.loud),
    (("heavy metal",), lambda f: f.instrument == "guitar" and f.drums and f.loud and f.voice == "male"),
)
TAG_RULES: dict[str, Callable[[Factors], bool]] = {tag: rule for tags, rule in _RULES for tag in tags}


def _rng(seed: int, stream: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, *key)))


def factor_design() -> list[Factors]:
    """The weighted full factorial design that clips are drawn from."""
    levels = itertools.product(INSTRUMENT_SLOTS, (False, True), (False, True), (False, True), VOICE_SLOTS)
    return [Factors(*combo) for combo in levels]


def design_factors(num_rows: int, seed: int) -> list[Factors]:
    """Factors per row: the design shuffled, without replacement, cycle after cycle.

    Drawing without replacement keeps every tag close to its design rate even in small corpora.
    """
    design = factor_design()
    rng = _rng(seed, _DESIGN)
    rows: list[Factors] = []
    while len(rows) < num_rows:
        rows.extend(design[k] for k in rng.permutation(len(design)))
    return rows[:num_rows]


def label_matrix(factors: Sequence[Factors]) -> np.ndarray:
    """0/1 labels, one column per `TAG_COLUMNS` entry."""
    labels = np.array([[TAG_RULES[tag](f) for tag in TAG_COLUMNS] for f in factors], dtype=np.uint8)
    return _cap_extra_tags(labels)


def _cap_extra_tags(labels: np.ndarray) -> np.ndarray:
    """Keep every extra tag strictly rarer than each top-50 tag, whatever the corpus size.

    The design rates already order them; the cap only bites in corpora too small for those rates.
    """
    top = [TAG_COLUMNS.index(tag) for tag in TOP50_TAGS]
    limit = max(int(labels[:, top].sum(axis=0).min()) - 1, 0)
    for tag in EXTRA_TAGS:
        column = labels[:, TAG_COLUMNS.index(tag)]
        column[np.flatnonzero(column)[limit:]] = 0
    return labels


def clip_ids(num_rows: int, seed: int) -> list[int]:
    """Increasing ids starting at 2 with small gaps, like MTAT's."""
    gaps = _rng(seed, _IDS).integers(1, 4, size=num_rows)
    gaps[0] = 0
    return (2 + np.cumsum(gaps)).tolist()


_FIRST_NAMES = ("anna", "bruno", "clara", "dmitri", "elena", "farid", "greta", "hugo", "ines", "jonas",
                "kira", "luca", "mira", "nils", "olga", "pablo")  # fmt: skip
_LAST_NAMES = ("achterberg", "bellini", "castro", "dvorak", "eklund", "fontaine", "gallo", "haas",
               "ivanova", "jansen", "kowalski", "lindqvist", "moreau", "novak", "oliveira",
               "petrov")  # fmt: skip
_ADJECTIVES = ("amber", "bright", "crimson", "distant", "early", "faded", "golden", "hidden", "silver",
               "quiet", "northern", "open", "restless", "secret", "velvet", "wild")  # fmt: skip
_NOUNS = ("rivers", "lanterns", "harbours", "gardens", "echoes", "mirrors", "meadows", "signals",
          "shadows", "islands", "winters", "voyages", "letters", "embers", "valleys", "tides")  # fmt: skip
_TITLE_WORDS = ("dawn", "rain", "waltz", "night", "song", "dance", "light", "road", "fire", "sea",
                "dream", "wind", "stone", "bird", "moon", "home", "prelude", "air", "theme",
                "march")  # fmt: skip
TRACKS_PER_ALBUM = 4
# The demo's train/val/test split by folder (whole albums, as MTAT's): 10/16, 3/16, 3/16 of the clips, so
# that val (which picks the best epoch and the thresholds) and the held-out test are both big enough.
DEMO_SPLIT = {**dict.fromkeys("0123456789", "train"), **dict.fromkeys("abc", "val"), **dict.fromkeys("def", "test")}


def clip_paths(num_clips: int, seed: int) -> list[str]:
    """MTAT-like relative mp3 paths, spread round-robin over the 16 folders.

    As in MTAT, all tracks of an album share one folder, so a folder split never splits an album.
    """
    rng = _rng(seed, _NAMES)
    adjectives, nouns = rng.permutation(_ADJECTIVES), rng.permutation(_NOUNS)
    paths = []
    for index in range(num_clips):
        folder = index % len(FOLDERS)
        album_no = index // (len(FOLDERS) * TRACKS_PER_ALBUM) * len(FOLDERS) + folder
        album_rng = _rng(seed, _NAMES, album_no)
        artist = f"{album_rng.choice(_FIRST_NAMES)}_{album_rng.choice(_LAST_NAMES)}"
        album = _album_name(album_no, adjectives, nouns)
        track = index // len(FOLDERS) % TRACKS_PER_ALBUM + 1
        title = "_".join(rng.choice(_TITLE_WORDS, size=rng.integers(1, 4)))
        segment = SEGMENTS[rng.integers(len(SEGMENTS))]
        paths.append(f"{FOLDERS[folder]}/{artist}-{album}-{track:02d}-{title}-{segment}.mp3")
    return paths


def _album_name(album_no: int, adjectives: np.ndarray, nouns: np.ndarray) -> str:
    """A name unique per album number (the volume suffix keeps it unique past 256 albums)."""
    per_volume = len(adjectives) * len(nouns)
    volume, rest = divmod(album_no, per_volume)
    name = f"{adjectives[rest % len(adjectives)]}_{nouns[rest // len(adjectives)]}"
    return f"{name}_vol_{volume + 1}" if volume else name


# ---------------------------------------------------------------------------------------------
# Synthesis. Everything is vectorised over samples (float32 audio, float64 phase accumulation);
# Python loops only run over notes, singers or drum hits. Content stays below 5.5 kHz so that it
# survives 32 kbps mp3 and resampling to 12 kHz.

MAX_HARMONIC_HZ = 5000.0
TABLE_SIZE = 8192  # large enough for nearest-sample wavetable lookup
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
LOUD_DBFS, QUIET_DBFS = -16.0, -34.0


@dataclass(frozen=True)
class Timbre:
    """How an instrument sounds: register, harmonic spectrum and envelope."""

    midi: tuple[int, int]
    tilt: float  # harmonic k has amplitude k ** -tilt
    pluck: float = 0.0  # pluck/strike position along the string (notches in the spectrum); 0 = none
    decay_s: float = 0.0  # 0 = sustained (bowed, blown, held), else exponential decay
    attack_s: float = 0.004
    vibrato: float = 0.0  # relative depth of a ~5.5 Hz vibrato
    odd_only: bool = False
    detune_cents: float = 0.0  # two detuned oscillators (sustained timbres only)
    noise: float = 0.0  # breath or bow noise, relative level
    glide_s: float = 0.0  # portamento between notes
    ring: int = 1  # how many successive notes ring together (struck and plucked timbres)
    chord: tuple[int, ...] = (0,)  # intervals strummed with each melody note, in semitones


TIMBRES = {
    "piano": Timbre((60, 88), tilt=1.6, pluck=0.12, decay_s=0.9, ring=2),
    "guitar": Timbre((40, 64), tilt=1.0, pluck=0.2, decay_s=0.6, chord=(0, 7, 12)),
    "violin": Timbre((67, 91), tilt=0.9, attack_s=0.06, vibrato=0.007, noise=0.12),
    "cello": Timbre((36, 55), tilt=0.9, attack_s=0.08, vibrato=0.005, noise=0.12),
    "flute": Timbre((72, 96), tilt=3.0, attack_s=0.05, vibrato=0.004, noise=0.25),
    "harpsichord": Timbre((53, 81), tilt=0.4, pluck=0.08, decay_s=0.3, attack_s=0.001, ring=2),
    "sitar": Timbre((50, 62), tilt=0.3, pluck=0.05, decay_s=1.2, glide_s=0.06),
    "harp": Timbre((43, 79), tilt=1.8, pluck=0.3, decay_s=2.5, attack_s=0.006, ring=4),
    "synth": Timbre((45, 69), tilt=1.0, odd_only=True, attack_s=0.01, detune_cents=14.0),
}
# The pianist's left hand: a bass note per beat under the melody, which no other instrument has.
PIANO_BASS = Timbre((33, 50), tilt=1.6, pluck=0.12, decay_s=1.5)
STRUM_S = 0.015  # delay between the strings of a strummed chord
VOICE_TIMBRE = Timbre((40, 76), tilt=1.0, attack_s=0.06, vibrato=0.015)
# MIDI ranges per singer; the choir sings four-part chords.
SINGERS = {"male": ((40, 52),), "female": ((62, 76),), "choir": ((40, 52), (47, 59), (55, 67), (62, 74))}
CHORD = (0, 7, 4, 12)
FORMANT_SCALE = {"male": 1.0, "female": 1.2, "choir": 1.08}
# F1-F3 of five vowels (adult male), plus a fixed F4 near the singer's formant.
VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240))
F4_HZ = 3300.0
FORMANT_BANDWIDTHS = (80.0, 100.0, 140.0, 220.0)


def synthesize(factors: Factors, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """One clip's audio (float32, mono, `SAMPLE_RATE`), audibly carrying every factor."""
    n = round(duration_s * SAMPLE_RATE)
    beat_s = 60.0 / (rng.uniform(140, 170) if factors.fast else rng.uniform(60, 80))
    key = int(rng.integers(12))
    mix = _unit_rms(_instrument_part(factors.instrument, n, beat_s, factors.fast, key, rng))
    if factors.drums:
        mix += 0.9 * _unit_rms(_drum_part(n, beat_s, factors.fast, rng))
    if factors.voice != "none":
        mix += 1.4 * _unit_rms(_voice_part(factors.voice, n, beat_s, key, rng))
    level_db = (LOUD_DBFS if factors.loud else QUIET_DBFS) + rng.uniform(-1.5, 1.5)
    return np.tanh(_unit_rms(mix) * np.float32(10 ** (level_db / 20))).astype(np.float32)


def _unit_rms(y: np.ndarray) -> np.ndarray:
    return (y / max(float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))), 1e-9)).astype(np.float32)


def _onsets(n: int, step_s: float) -> np.ndarray:
    return np.round(np.arange(0, n / SAMPLE_RATE + step_s, step_s) * SAMPLE_RATE).astype(np.int64)


@dataclass(frozen=True)
class _Clock:
    """Per sample: the sounding note and the seconds since its onset.

    Before the first onset `since` stays 0, where every envelope is 0, so those samples are silent.
    """

    index: np.ndarray
    since: np.ndarray


def _note_clock(onsets: np.ndarray, n: int) -> _Clock:
    lengths = np.diff(np.minimum(np.append(onsets, n), n), prepend=0)
    index = np.repeat(np.arange(len(onsets) + 1) - 1, lengths).clip(0)
    since = np.maximum(np.arange(n) - onsets[index], 0).astype(np.float32) / np.float32(SAMPLE_RATE)
    return _Clock(index, since)


def _melody(count: int, midi_range: tuple[int, int], key: int, rng: np.random.Generator) -> np.ndarray:
    """A random walk on the major scale, reflected at the edges of the register."""
    low, high = midi_range
    notes = np.array([m for m in range(low, high + 1) if (m - key) % 12 in MAJOR_SCALE])
    walk = rng.integers(len(notes)) + np.cumsum(rng.choice([-2, -1, 1, 1, 2], size=count))
    period = 2 * (len(notes) - 1)
    folded = np.mod(walk, period)
    return notes[np.where(folded >= len(notes), period - folded, folded)].astype(np.float64)


def _hz(midi: np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi) - 69) / 12)


def _wavetable(tilt: float, pluck: float, odd_only: bool, harmonics: int) -> np.ndarray:
    k = np.arange(1, harmonics + 1)
    amps = k**-tilt
    if pluck:
        amps *= np.abs(np.sin(np.pi * k * pluck)) + 0.05
    if odd_only:
        amps[1::2] = 0.0
    table = amps @ np.sin(2 * np.pi * np.outer(k, np.arange(TABLE_SIZE) / TABLE_SIZE))
    return table / np.abs(table).max()


@functools.lru_cache(maxsize=64)
def _band_tables(timbre: Timbre, tilt: float) -> np.ndarray:
    """One wavetable per octave of the register, each band-limited to `MAX_HARMONIC_HZ`, flattened."""
    low_hz = float(_hz(timbre.midi[0] - 1))
    bands = (timbre.midi[1] - timbre.midi[0] + 2) // 12 + 1
    harmonics = [max(1, int(MAX_HARMONIC_HZ / (low_hz * 2 ** (band + 1)))) for band in range(bands)]
    tables = [_wavetable(tilt, timbre.pluck, timbre.odd_only, count) for count in harmonics]
    return np.concatenate(tables).astype(np.float32)


def _table_offsets(note_hz: np.ndarray, timbre: Timbre) -> np.ndarray:
    """Per note, where its octave's table starts in `_band_tables`."""
    low_hz = float(_hz(timbre.midi[0] - 1))
    bands = (timbre.midi[1] - timbre.midi[0] + 2) // 12 + 1
    band = np.clip(np.floor(np.log2(note_hz / low_hz)), 0, bands - 1).astype(np.int64)
    return band * TABLE_SIZE


def _positions(hz: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Indices into `_band_tables` of an oscillator following `hz` (phase accumulated in float64)."""
    cycles = np.cumsum(hz, dtype=np.float64)
    cycles *= TABLE_SIZE / SAMPLE_RATE
    positions = cycles.astype(np.int64)
    positions &= TABLE_SIZE - 1
    positions += offsets
    return positions


def _vibrato(n: int, depth: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n, dtype=np.float32) / np.float32(SAMPLE_RATE)
    rate, phase = rng.uniform(4.8, 6.2), rng.uniform(0, 2 * np.pi)
    return 1 + np.float32(depth) * np.sin(np.float32(2 * np.pi * rate) * t + np.float32(phase))


def _line(clock: _Clock, midi: np.ndarray, timbre: Timbre, gate_s: float, rng: np.random.Generator) -> np.ndarray:
    """A monophonic line of notes (`gate_s` only matters for sustained timbres)."""
    note_hz = _hz(midi).astype(np.float32)
    hz = note_hz[clock.index]
    if timbre.glide_s:
        previous = note_hz[np.maximum(clock.index - 1, 0)]
        hz = hz * (previous / hz) ** np.exp(-clock.since / timbre.glide_s)
    if timbre.vibrato:
        hz = hz * _vibrato(len(hz), timbre.vibrato, rng)
    offsets = _table_offsets(note_hz, timbre)[clock.index]
    tables = _band_tables(timbre, timbre.tilt)
    if timbre.detune_cents:
        ratio = 2 ** (timbre.detune_cents / 1200)
        tone = 0.5 * (tables[_positions(hz * ratio, offsets)] + tables[_positions(hz / ratio, offsets)])
    else:
        positions = _positions(hz, offsets)
        tone = tables[positions]
        if timbre.decay_s:  # struck and plucked strings lose their high partials first
            dull = _band_tables(timbre, timbre.tilt + 1.5)[positions]
            tone = dull + np.exp(-clock.since / np.float32(0.25 * timbre.decay_s)) * (tone - dull)
    if timbre.noise:
        tone = tone + np.float32(timbre.noise) * _unit_rms(_band_noise(len(hz), 800.0, 4500.0, rng))
    return tone * _envelope(clock.since, timbre, gate_s)


def _envelope(since: np.ndarray, timbre: Timbre, gate_s: float) -> np.ndarray:
    """Struck and plucked notes decay freely; sustained ones ramp up, hold and stop at the gate."""
    if timbre.decay_s:
        attack = 1 - np.exp(-since / np.float32(timbre.attack_s))
        return attack * np.exp(-since / np.float32(timbre.decay_s))
    attack = np.minimum(since / np.float32(timbre.attack_s), 1)
    return attack * np.clip((np.float32(gate_s) - since) / np.float32(0.04), 0, 1)


def _band_noise(n: int, low_hz: float, high_hz: float, rng: np.random.Generator) -> np.ndarray:
    return signal.sosfilt(_bandpass(low_hz, high_hz), rng.standard_normal(n, dtype=np.float32))


@functools.lru_cache(maxsize=32)
def _bandpass(low_hz: float, high_hz: float) -> np.ndarray:
    return signal.butter(4, (low_hz, high_hz), btype="bandpass", fs=SAMPLE_RATE, output="sos")


def _instrument_part(
    instrument: str, n: int, beat_s: float, fast: bool, key: int, rng: np.random.Generator
) -> np.ndarray:
    """The melody: eighth notes, staccato when fast; one legato note per beat when slow.

    Successive notes go to `ring` different strings, so that each rings over the next ones.
    """
    timbre = TIMBRES[instrument]
    step_s = beat_s / 2 if fast else beat_s
    onsets = _onsets(n, step_s)
    midi = _melody(len(onsets), timbre.midi, key, rng)
    gate_s = step_s * (0.55 if fast else 0.95)
    y = np.zeros(n, dtype=np.float32)
    for strum, interval in enumerate(timbre.chord):
        delay = round(strum * STRUM_S * SAMPLE_RATE)
        for s in range(timbre.ring):
            clock = _note_clock(onsets[s :: timbre.ring] + delay, n)
            y += _line(clock, midi[s :: timbre.ring] + interval, timbre, gate_s, rng)
    if instrument == "piano":
        y = y + 0.7 * _piano_left_hand(n, beat_s * (1 if fast else 2), key, rng)
    if instrument in {"violin", "cello"}:
        y = y + 1.5 * signal.sosfilt(_bandpass(1800.0, 2800.0), y).astype(np.float32)
    if instrument == "sitar":
        y = _sitar_colour(y, onsets[::4], timbre, key, rng)
    return y


def _piano_left_hand(n: int, step_s: float, key: int, rng: np.random.Generator) -> np.ndarray:
    onsets = _onsets(n, step_s)
    return _line(_note_clock(onsets, n), _melody(len(onsets), PIANO_BASS.midi, key, rng), PIANO_BASS, 0.0, rng)


def _sitar_colour(y: np.ndarray, onsets: np.ndarray, timbre: Timbre, key: int, rng: np.random.Generator) -> np.ndarray:
    """A re-plucked tonic drone and the jawari bridge's buzz, the sitar's unmistakable marks."""
    tonic = timbre.midi[0] + (key - timbre.midi[0]) % 12 - 12
    drone = Timbre((tonic, tonic + 12), tilt=timbre.tilt, pluck=timbre.pluck, decay_s=2.5)
    y = y + 0.5 * _line(_note_clock(onsets, len(y)), np.full(len(onsets), float(tonic)), drone, 0.0, rng)
    return y + 1.5 * signal.sosfilt(_bandpass(3000.0, 4500.0), y).astype(np.float32)


def _drum_part(n: int, beat_s: float, fast: bool, rng: np.random.Generator) -> np.ndarray:
    """Kick, snare and hi-hat on a steady grid: four-on-the-floor when fast, backbeat when slow."""
    kick, snare, hat = _drum_sounds(rng)
    y = np.zeros(n + len(kick), dtype=np.float32)
    beat = beat_s * SAMPLE_RATE
    for i, start in enumerate(np.arange(0, n, beat).astype(np.int64)):
        if fast or i % 2 == 0:
            y[start : start + len(kick)] += kick
        if i % 2 == 1:
            y[start : start + len(snare)] += 0.8 * snare
    for start in np.arange(0, n, beat / 2).astype(np.int64):
        y[start : start + len(hat)] += rng.uniform(0.25, 0.45) * hat
    return y[:n]


def _drum_sounds(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    sweep_hz = 50 + 110 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(sweep_hz) / SAMPLE_RATE) * np.exp(-t / 0.12)
    rattle = _unit_rms(_band_noise(len(t), 1000.0, 5000.0, rng))
    snare = (0.6 * rattle + np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.07)
    hat = _unit_rms(_band_noise(len(t), 3500.0, 5500.0, rng)) * np.exp(-t / 0.025)
    return kick, snare, hat


def _voice_part(kind: str, n: int, beat_s: float, key: int, rng: np.random.Generator) -> np.ndarray:
    """Sung syllables: a glottal source through vowel formants, with consonant bursts.

    Solo singers sing one note per beat with a few rests; the choir holds four-part chords.
    """
    step_s = beat_s * (2 if kind == "choir" else 1)
    onsets = _onsets(n, step_s)
    clock = _note_clock(onsets, n)
    singers = SINGERS[kind]
    root = _melody(len(onsets), singers[0], key, rng)
    source = np.zeros(n, dtype=np.float32)
    for singer, interval in zip(singers, CHORD, strict=False):
        detune_semitones = rng.uniform(-0.12, 0.12) if kind == "choir" else 0.0
        midi = _fold(root + interval, singer) + detune_semitones
        source += _line(clock, midi, VOICE_TIMBRE, 0.92 * step_s, rng)
    if kind != "choir":
        source *= (rng.random(len(onsets)) > 0.15)[clock.index]
    voiced = _formants(source, clock, len(onsets), FORMANT_SCALE[kind], rng)
    return _unit_rms(voiced) + 0.8 * _consonants(clock, len(onsets), rng)


def _fold(midi: np.ndarray, midi_range: tuple[int, int]) -> np.ndarray:
    """Move each note by octaves into the singer's register."""
    return midi_range[0] + np.mod(midi - midi_range[0], 12)


def _formants(source: np.ndarray, clock: _Clock, notes: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Filter each note through its vowel's formant cascade (three vowels per clip)."""
    vowels = rng.choice(len(VOWELS), size=3, replace=False)
    note_vowel = rng.choice(vowels, size=notes)[clock.index]
    out = np.zeros_like(source)
    for vowel in vowels:
        chosen = note_vowel == vowel
        out[chosen] = signal.sosfilt(_formant_sos(int(vowel), scale), source)[chosen]
    return out


@functools.lru_cache(maxsize=32)
def _formant_sos(vowel: int, scale: float) -> np.ndarray:
    """A cascade of unit-DC-gain resonators (Klatt), one per formant."""
    sections = []
    for centre, bandwidth in zip((*VOWELS[vowel], F4_HZ), FORMANT_BANDWIDTHS, strict=True):
        r = np.exp(-np.pi * bandwidth * scale / SAMPLE_RATE)
        b1 = -2 * r * np.cos(2 * np.pi * centre * scale / SAMPLE_RATE)
        sections.append([1 + b1 + r * r, 0.0, 0.0, 1.0, b1, r * r])
    return np.array(sections)


def _consonants(clock: _Clock, notes: int, rng: np.random.Generator) -> np.ndarray:
    """Short fricative bursts (3-5.5 kHz) on about half of the syllables."""
    has_consonant = (rng.random(notes) < 0.5)[clock.index]
    envelope = has_consonant * np.exp(-clock.since / np.float32(0.025)) * (clock.since < 0.12)
    return _unit_rms(_band_noise(len(clock.index), 3000.0, 5500.0, rng)) * envelope


# ---------------------------------------------------------------------------------------------
# Files.


@dataclass(frozen=True)
class ClipJob:
    """One clip to synthesise: its file, its factors, and the (seed, index) of its random stream."""

    path: Path
    factors: Factors
    seed: int
    index: int
    duration_s: float


def _write_clip(job: ClipJob) -> None:
    audio = synthesize(job.factors, job.duration_s, _rng(job.seed, _CLIP, job.index))
    atomic_write_bytes(job.path, _mp3_bytes(audio))


def _mp3_bytes(audio: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, SAMPLE_RATE, format="MP3")
    return buffer.getvalue()


def write_clips(jobs: list[ClipJob], workers: int) -> None:
    """Synthesise and write every job's mp3; the bytes depend on the jobs only, never on `workers`."""
    if workers <= 1:
        for job in jobs:
            _write_clip(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_write_clip, jobs, chunksize=4))


def write_broken_files(root: Path, factors: Factors, seed: int) -> None:
    """The broken files of `BROKEN_PATHS`: empty, truncated, undecodable, and one left missing."""
    for path in EMPTY_MTAT_PATHS:
        atomic_write_bytes(root / path, b"")
    valid = _mp3_bytes(synthesize(factors, 2.0, _rng(seed, _BROKEN)))
    atomic_write_bytes(root / TRUNCATED_PATH, valid[:TRUNCATED_BYTES])
    # Fixed bytes, checked to be rejected by the decoder, whatever the corpus seed.
    atomic_write_bytes(root / UNDECODABLE_PATH, np.random.default_rng(0).bytes(4096))
    (root / MISSING_PATH).unlink(missing_ok=True)


def annotations_csv(ids: Sequence[int], labels: np.ndarray, paths: Sequence[str]) -> bytes:
    """MTAT's format: tab-separated, every field (header included) in double quotes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["clip_id", *TAG_COLUMNS, "mp3_path"])
    for clip_id, row, path in zip(ids, labels.tolist(), paths, strict=True):
        writer.writerow([clip_id, *row, path])
    return buffer.getvalue().encode("utf-8")


def generate_corpus(
    root: str | Path,
    num_clips: int = 400,
    seed: int = 0,
    duration_s: float = 29.1,
    inject_broken: bool = False,
    workers: int = 1,
) -> Path:
    """Write `root/annotations_final.csv` and the mp3 clips; return `root`.

    The output depends only on (num_clips, seed, duration_s, inject_broken), never on `workers`.
    With `inject_broken`, the rows of `BROKEN_PATHS` follow the normal clips.
    """
    if num_clips < 1 or duration_s <= 0:
        raise ValueError(f"need num_clips >= 1 and duration_s > 0, got {num_clips} and {duration_s}")
    root = Path(root)
    paths = clip_paths(num_clips, seed) + (list(BROKEN_PATHS) if inject_broken else [])
    factors = design_factors(len(paths), seed)
    jobs = [ClipJob(root / paths[i], factors[i], seed, i, duration_s) for i in range(num_clips)]
    write_clips(jobs, workers)
    if inject_broken:
        write_broken_files(root, factors[num_clips], seed)
    atomic_write_bytes(root / CSV_NAME, annotations_csv(clip_ids(len(paths), seed), label_matrix(factors), paths))
    return root


def write_split_lists(root: str | Path, num_clips: int, seed: int) -> list[Path]:
    """`root/{train,val,test}_list.txt`: the clips of each DEMO_SPLIT split, one mp3_path per line
    (preprocess.py --split file reads them)."""
    paths = clip_paths(num_clips, seed)
    written = []
    for split in ("train", "val", "test"):
        listed = [path for path in paths if DEMO_SPLIT[path.split("/", 1)[0]] == split]
        written.append(atomic_write_bytes(Path(root) / f"{split}_list.txt", "".join(f"{p}\n" for p in listed).encode()))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: write a corpus and print one summary line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="corpus folder to write")
    parser.add_argument("--num_clips", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duration_s", type=float, default=29.1)
    parser.add_argument("--inject_broken", action="store_true", help="add rows with broken files")
    parser.add_argument(
        "--split_lists", action="store_true", help="also write train/val/test_list.txt (the demo's folder split)"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    root = generate_corpus(
        args.out, args.num_clips, args.seed, args.duration_s, args.inject_broken, workers=args.workers
    )
    if args.split_lists:
        write_split_lists(root, args.num_clips, args.seed)
    broken = f" + {len(BROKEN_PATHS)} broken rows" if args.inject_broken else ""
    print(f"wrote {args.num_clips} clips{broken} to {root} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
