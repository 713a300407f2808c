"""What a tagging run writes, a track at a time: the report (a file, or stdout), plots, embeddings.

Each track goes to every output as soon as it is scored and is then dropped, so memory stays flat however
many files a run tags (a csv or json report on stdout is the exception: it is held until the end; give
--output for large runs). The report file and the embeddings index are built up in PartialOutput files
(src.inference.partial_output): the same command continues an interrupted run, skipping the tracks they
all hold, and the final files appear, atomically, only when the run ends.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from src.inference import embeddings, tag_report
from src.inference.partial_output import PartialOutput
from src.inference.tagging import Track

REPORT, EMBEDDINGS = "report", "embeddings"


class TagOutputs:
    """The outputs of one run. `settings` is what a continued run must share with the interrupted one (the model,
    the hop; the report adds how it is rendered); `names` gives each file its plot and embedding file stem;
    `output` None prints the report (text as tracks come, through `echo`)."""

    def __init__(
        self,
        report: tag_report.Report,
        settings: dict[str, Any],
        names: dict[Path, str],
        output: Path | None = None,
        plot_dir: Path | None = None,
        embeddings_dir: Path | None = None,
        hop_s: float = 0.0,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.report, self.names, self.output = report, names, output
        self.plot_dir, self.embeddings_dir, self.hop_s, self.echo = plot_dir, embeddings_dir, hop_s, echo
        self._partials: dict[str, PartialOutput] = {}
        self._done: dict[str, set[str]] = {}
        self._printed: list = []  # a csv or json report's pieces, for stdout at the end
        if output is not None:
            rendered = {
                "format": report.fmt,
                "top_k": report.k,
                "aggregate": report.aggregate,
                "tags": report.tags,
                "thresholds": report.thresholds,
                "threshold_sources": report.sources,
            }
            self._partials[REPORT] = PartialOutput(output, {**settings, **rendered})
        if embeddings_dir is not None:
            planned = embeddings.planned_files(names.values())
            self._partials[EMBEDDINGS] = PartialOutput(embeddings_dir / embeddings.INDEX_FILE, settings, planned)

    def check(self) -> set[Path]:
        """Refuse, before any work, an unfinished run of other settings and files this run may not replace;
        returns the files every resumable output already holds (none without one)."""
        for name, partial in self._partials.items():
            planned, self._done[name] = partial.earlier()
            if name == EMBEDDINGS:
                embeddings.check_targets(self.embeddings_dir, self.names.values(), planned)
        held = set.intersection(*self._done.values()) if self._done else set()
        return {path for path in self.names if str(path) in held}

    def open(self) -> None:
        for partial in self._partials.values():
            partial.open()

    def add(self, track: Track) -> None:
        """Write one track to every output that lacks it."""
        key, name = str(track.path), self.names.get(track.path, "")
        if self.plot_dir is not None and not track.error:
            report = self.report
            tag_report.save_plots(track, report.tags, self.plot_dir, name, report.k, report.aggregate)
        if EMBEDDINGS in self._partials and key not in self._done[EMBEDDINGS]:
            self._partials[EMBEDDINGS].add(key, embeddings.save(self.embeddings_dir, track, name, self.hop_s))
        if REPORT in self._partials:
            if key not in self._done[REPORT]:
                self._partials[REPORT].add(key, self.report.piece(track))
        elif self.report.fmt == "text":
            if not track.error:  # a skipped file is a warning in the log, not a line of the report
                self.echo(self.report.piece(track))
        else:
            self._printed.append(self.report.piece(track))

    def finish(self) -> list[Path]:
        """Write the final files from what the partials hold (and a held report to stdout); returns the files."""
        written = []
        if EMBEDDINGS in self._partials:
            index = self._partials[EMBEDDINGS]
            written.append(index.finish(lambda handle: embeddings.write_index(handle, index.pieces())))
        if REPORT in self._partials:
            report = self._partials[REPORT]
            written.append(report.finish(lambda handle: self.report.write(handle, report.pieces)))
        elif self.report.fmt != "text":
            self.report.write(sys.stdout, lambda: iter(self._printed))
        return written

    def close(self) -> None:
        """Stop writing; the partial files stay for the same command to continue."""
        for partial in self._partials.values():
            partial.close()

    def discard_new(self) -> None:
        """Close, and remove the partial files this run started (a run that tagged nothing leaves nothing)."""
        self.close()
        for name, partial in self._partials.items():
            if not self._done.get(name):
                partial.partial.unlink(missing_ok=True)
