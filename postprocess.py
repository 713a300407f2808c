"""Score the Ascend 310 app's outputs: the metrics of eval.py, ending with the reference's `AUC: x.xxxxx` line.

    python postprocess.py --post_result_path ./result_Files --label_path ./preprocess_Result/label_ids.npy

`AUC` is the model zoo's histogram AUC (src.evaluation.metrics.reference_auc), comparable with its README;
the exact macro ROC-AUC and PR-AUC are printed above it. Tag names come from mr_path/tags.txt
when it matches the label width, else tag0, tag1, ... (only the per-tag table needs them).
"""

from __future__ import annotations

import sys
from pathlib import Path

from src.core.file_names import TAGS_FILE
from src.core.fileio import atomic_write_json, check_writable_file
from src.core.tag_list import tags_or_numbered
from src.entry import run_entry
from src.evaluation.metrics import format_per_tag_table, require_scorable, summarize, summary_line
from src.inference.bin_protocol import read_labels, read_results
from src.model_utils.config import Config


def run(config: Config) -> int:
    if config.result_file:
        check_writable_file(config.result_file, "result_file")
    labels = read_labels(config.label_path)
    scores = read_results(config.post_result_path, labels)
    summary = summarize(labels, scores, tags_or_numbered(Path(config.mr_path) / TAGS_FILE, labels.shape[1]))
    require_scorable(summary, config.label_path)
    summary.update({"results": str(config.post_result_path), "labels": str(config.label_path)})
    print(format_per_tag_table(summary))
    if config.result_file:
        atomic_write_json(config.result_file, summary)
    print(f"{summary['num_samples']} clips: {summary_line(summary)}")
    print(f"AUC: {summary['reference_auc']:.5f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: AUC of the Ascend 310 inference results")


if __name__ == "__main__":
    sys.exit(main())
