"""Turn an MTAT-format dataset (annotations_final.csv + mp3 folders) into MindRecord shards.

    python preprocess.py --audio_path ./data/mtat --mr_path ./data/mindrecord
"""

from __future__ import annotations

import logging
import sys

from src.entry import run_entry

log = logging.getLogger("fcn4")


def run(config) -> int:
    from src.preprocessing import build

    report = build(config)
    written = ", ".join(f"{name} {count}" for name, count in report["written"].items())
    log.info("wrote %s clips to %s; skipped %d (listed in preprocess_report.json); %.1f clips/s",
             written, config.mr_path, len(report["skipped"]), report["clips_per_s"])
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: MTAT-format audio -> log-mel MindRecord shards")


if __name__ == "__main__":
    sys.exit(main())
