"""How tagged tracks are shown: text on the terminal, a CSV or JSON table, taggram and bar-chart PNGs;
and which existing files these may replace (only earlier reports and plots, never anything else)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from src.core.errors import UserError
from src.core.fileio import atomic_path
from src.evaluation.thresholds import PER_TAG, decide
from src.features import CLIP_SECONDS
from src.inference.tagging import Track

CSV_COLUMNS = ("path", "duration_s", "windows", "error", "top_tags")  # then one column per tag
JSON_KEYS = frozenset({"aggregate", "tags", "tracks", "skipped"})
# Every line format_text writes: a track's header, a skipped track, one of its top tags.
TEXT_LINE = re.compile(
    r".+  \(\d+\.\d s, \d+ window\(s\), (mean|max) over windows\)"
    r"|.+: skipped \(.*\)"
    r"|  .+  \d\.\d{3}(  \(>= \d\.\d{3}(, pooled)?\))?"
    r"|  \(no tag passes its threshold\)"
)
PASSING_COLUMN = "passing_tags"  # after CSV_COLUMNS, with thresholds
PLOT_SUFFIXES = ("_taggram.png", "_tags.png")
PNG_MAGIC, MATPLOTLIB_MARK = b"\x89PNG\r\n\x1a\n", b"Software\x00Matplotlib"
HEAD_BYTES = 1 << 16  # what is read of an existing file to recognise it


def top_tags(track: Track, tags: list[str], k: int, aggregate: str) -> list[tuple[str, float]]:
    """The k most probable (tag, probability) pairs of a track, most probable first."""
    scores = track.aggregate(aggregate)
    order = np.argsort(-scores, kind="stable")[:k]
    return [(tags[i], float(scores[i])) for i in order]


def passing_tags(
    track: Track, tags: list[str], aggregate: str, thresholds: list[float | None], sources: list[str] | None = None
) -> list[tuple[str, float, float, str]]:
    """The (tag, probability, threshold, how the threshold was chosen: src.evaluation.thresholds.SOURCES; all PER_TAG
    without sources) of every tag that passes its threshold, most probable first."""
    scores = track.aggregate(aggregate)
    passed = decide(scores[None, :], thresholds)[0]
    sources = sources or [PER_TAG] * len(tags)
    order = np.argsort(-scores, kind="stable")
    return [(tags[i], float(scores[i]), thresholds[i], sources[i]) for i in order if passed[i]]


def format_text(
    track: Track,
    tags: list[str],
    k: int,
    aggregate: str,
    thresholds: list[float | None] | None = None,
    sources: list[str] | None = None,
) -> str:
    """A few lines per track: the file, its length and window count, then its top-k tags (with
    thresholds: the tags that pass theirs, with the threshold, marked `pooled` when it is not the tag's own)."""
    if track.error:
        return f"{track.path}: skipped ({track.error})"
    header = f"{track.path}  ({track.duration_s:.1f} s, {len(track.starts_s)} window(s), {aggregate} over windows)"
    if thresholds is not None:
        passing = passing_tags(track, tags, aggregate, thresholds, sources)
        width = max([len(tag) for tag, *_ in passing], default=0)
        lines = [
            f"  {tag:<{width}}  {score:.3f}  (>= {limit:.3f}{'' if source == PER_TAG else ', pooled'})"
            for tag, score, limit, source in passing
        ]
        return "\n".join([header, *(lines or ["  (no tag passes its threshold)"])])
    top = top_tags(track, tags, k, aggregate)
    width = max(len(tag) for tag, _ in top)
    return "\n".join([header, *(f"  {tag:<{width}}  {score:.3f}" for tag, score in top)])


@dataclass(frozen=True)
class Report:
    """One tag.py report (text, csv or json) of tracks scored with `tags`, rendered a track at a time: `piece`
    is what one track adds (a str, or for json a dict), `write` the whole report from the pieces in order.

    text: format_text's lines per track. csv: path, duration_s, windows, error, top_tags ("tag:p; ..."), with
    thresholds passing_tags (the same form), then every tag's probability. json: `meta`, then `tracks` (top-k,
    mean, max, window starts and the per-window taggram; with thresholds also `passing`, and the report's
    `thresholds` and `threshold_sources` per tag) and `skipped`.
    """

    fmt: str
    tags: list[str]
    k: int
    aggregate: str
    thresholds: list[float | None] | None = None
    sources: list[str] | None = None
    meta: dict = field(default_factory=dict)

    def piece(self, track: Track) -> str | dict:
        if self.fmt == "text":
            return format_text(track, self.tags, self.k, self.aggregate, self.thresholds, self.sources)
        if self.fmt == "csv":
            return self._csv_row(track)
        if track.error:
            return {"skipped": {"path": str(track.path), "reason": track.error}}
        scored = track_json(track, self.tags, self.k, self.aggregate, self.thresholds, self.sources)
        return {"track": {"path": str(track.path), **scored}}

    def write(self, handle: IO[str], pieces: Callable[[], Iterable]) -> None:
        """The report of the tracks whose pieces `pieces()` yields (called twice for json: tracks, then skipped)."""
        if self.fmt == "text":
            handle.writelines(piece + "\n" for piece in pieces())
            return
        if self.fmt == "csv":
            extra = [] if self.thresholds is None else [PASSING_COLUMN]
            handle.write(csv_line([*CSV_COLUMNS, *extra, *self.tags]))
            handle.writelines(pieces())
            return
        sources = self.sources or [PER_TAG] * len(self.tags)
        chosen = {} if self.thresholds is None else {"thresholds": self.thresholds, "threshold_sources": sources}
        head = {**self.meta, "aggregate": self.aggregate, "tags": self.tags, **chosen}
        handle.write(json.dumps(head)[:-1] + ', "tracks": [')
        for key, closing in (("track", '], "skipped": ['), ("skipped", "]}\n")):
            handle.write(", ".join(json.dumps(piece[key]) for piece in pieces() if key in piece))
            handle.write(closing)

    def render(self, tracks: list[Track]) -> str:
        """The whole report of `tracks` as one string."""
        out = io.StringIO()
        self.write(out, lambda: map(self.piece, tracks))
        return out.getvalue()

    def _csv_row(self, track: Track) -> str:
        extra = [] if self.thresholds is None else [""]
        if track.error:
            return csv_line([track.path, "", 0, track.error, "", *extra, *[""] * len(self.tags)])
        top = _listed(top_tags(track, self.tags, self.k, self.aggregate))
        passing = (
            []
            if self.thresholds is None
            else [_listed(passing_tags(track, self.tags, self.aggregate, self.thresholds))]
        )
        scores = (f"{p:.6f}" for p in track.aggregate(self.aggregate))
        return csv_line([track.path, f"{track.duration_s:.3f}", len(track.starts_s), "", top, *passing, *scores])


def csv_line(row: list) -> str:
    """One CSV line (with its newline) of `row`."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue()


def track_json(
    track: Track,
    tags: list[str],
    k: int,
    aggregate: str,
    thresholds: list[float | None] | None = None,
    sources: list[str] | None = None,
) -> dict:
    """One scored track as the json report (and the tagging service, src.serving) gives it: duration, top-k,
    with thresholds the passing tags, mean, max, window starts and the per-window taggram."""
    passing = {} if thresholds is None else {"passing": _passing_json(track, tags, aggregate, thresholds, sources)}
    return {
        "duration_s": round(track.duration_s, 3),
        "top": [{"tag": tag, "probability": round(p, 6)} for tag, p in top_tags(track, tags, k, aggregate)],
        **passing,
        "mean": _rounded(track.aggregate("mean")),
        "max": _rounded(track.aggregate("max")),
        "window_starts_s": [round(float(s), 3) for s in track.starts_s],
        "taggram": [_rounded(row) for row in track.scores],
    }


def _listed(pairs: list[tuple]) -> str:
    """`tag:p; tag:p` of (tag, probability, ...) tuples."""
    return "; ".join(f"{tag}:{score:.4f}" for tag, score, *_ in pairs)


def _passing_json(
    track: Track, tags: list[str], aggregate: str, thresholds: list[float | None], sources: list[str]
) -> list[dict]:
    return [
        {"tag": tag, "probability": round(p, 6), "threshold": limit, "threshold_source": source}
        for tag, p, limit, source in passing_tags(track, tags, aggregate, thresholds, sources)
    ]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def is_report(path: Path) -> bool:
    """Whether an existing file is a report tag.py wrote (text, CSV or JSON), or empty: safe to replace."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
        text = head.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if not text or text.startswith(",".join(CSV_COLUMNS) + ","):
        return True
    if text.startswith('{"'):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(report, dict) and report.keys() >= JSON_KEYS
    lines = text.splitlines()[: -1 if len(head) == HEAD_BYTES else None]  # the last may be cut short
    return bool(lines) and all(TEXT_LINE.fullmatch(line) for line in lines)


def check_report_target(output: Path, inputs: Iterable[Path]) -> None:
    """UserError unless writing the report to `output` destroys nothing: not an input (the same file,
    by any name), and, if it exists, a report tag.py wrote before."""
    if not os.path.lexists(output):
        return
    if output.exists():
        for path in inputs:
            if os.path.exists(path) and os.path.samefile(output, path):
                raise UserError(f"--output {output} is the input {path}; choose another file for the report")
    if not (output.is_file() and is_report(output)):
        raise UserError(f"--output {output} exists and is not a tag.py report; choose another name or remove it")


def plot_names(paths: list[Path]) -> dict[Path, str]:
    """A distinct file-name stem per file (its stem, then stem-2, stem-3 ... on clashes)."""
    names: dict[Path, str] = {}
    used: set[str] = set()
    for path in paths:
        stem, n = path.stem, 1
        while (name := stem if n == 1 else f"{stem}-{n}") in used:
            n += 1
        used.add(name)
        names[path] = name
    return names


def plot_paths(folder: Path, name: str) -> list[Path]:
    """The taggram and bar-chart PNGs of one track."""
    return [folder / f"{name}{suffix}" for suffix in PLOT_SUFFIXES]


def check_plot_targets(folder: Path, names: Iterable[str]) -> None:
    """UserError when a plot would replace a file that is not a plot tag.py wrote (a Matplotlib PNG)."""
    for name in names:
        for path in plot_paths(folder, name):
            if path.exists() and not _is_plot(path):
                raise UserError(
                    f"--plot_dir: {path} exists and is not a plot tag.py wrote; choose another --plot_dir or remove it"
                )


def _is_plot(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:  # a folder, an unreadable file
        return False
    return head.startswith(PNG_MAGIC) and MATPLOTLIB_MARK in head


def save_plots(track: Track, tags: list[str], folder: Path, name: str, k: int, aggregate: str) -> list[Path]:
    """`<name>_taggram.png` (tags x time) and `<name>_tags.png` (top-k bars, mean and max) in folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = plot_paths(folder, name)

    fig, ax = plt.subplots(figsize=(max(6.0, 0.4 * len(track.starts_s) + 4), 0.18 * len(tags) + 1.5))
    image = ax.pcolormesh(
        _time_edges(track.starts_s), np.arange(len(tags) + 1) - 0.5, track.scores.T, vmin=0.0, vmax=1.0, cmap="viridis"
    )
    ax.set_yticks(range(len(tags)), tags, fontsize=7)
    ax.set_xlabel("time (s); each column is the window centred there")
    ax.set_title(f"{track.path.name}: taggram ({len(track.starts_s)} windows of {CLIP_SECONDS} s)", fontsize=9)
    fig.colorbar(image, ax=ax, label="probability")
    _save(fig, paths[0])

    top = top_tags(track, tags, k, aggregate)
    index = [tags.index(tag) for tag, _ in top][::-1]
    fig, ax = plt.subplots(figsize=(6.0, 0.35 * len(index) + 1.2))
    rows = np.arange(len(index))
    ax.barh(rows + 0.2, track.aggregate("max")[index], height=0.4, label="max over windows", color="#f2a541")
    ax.barh(rows - 0.2, track.aggregate("mean")[index], height=0.4, label="mean over windows", color="#3b6ea5")
    ax.set_yticks(rows, [tags[i] for i in index])
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("probability")
    ax.set_title(f"{track.path.name}: top {len(index)} tags ({track.duration_s:.1f} s)", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    _save(fig, paths[1])
    return paths


def _time_edges(starts_s: np.ndarray) -> np.ndarray:
    """Column edges (s) of a taggram: midway between window centres, the outer ones at the windows' ends."""
    centres = starts_s + CLIP_SECONDS / 2
    inner = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[starts_s[0]], inner, [starts_s[-1] + CLIP_SECONDS]])


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
