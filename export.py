"""Export an FCN-4 checkpoint to MINDIR (default), ONNX or AIR with input [export_batch_size, 1, 96, 1366].

    python export.py --ckpt_file ./checkpoints/MusicTagger-best.ckpt --file_name fcn-4 --file_format MINDIR

The exported file is loaded back and run on a random batch; the largest difference from the
checkpoint network is printed, and a file outside tolerance is not kept. The run's tags.txt,
when found, is copied to FILE_NAME.tags.txt so that tag.py can name the outputs.

Batch: the reference exported with the training `batch_size` because its 310 .bin files were
written with it too; what matters is only that the two agree (the 310 app feeds each file as
one model input). Here `export_batch_size` (default 1) sets both, for export.py and for
`preprocess.py --preprocess_mode 310`, independently of the training batch.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from src.entry import run_entry
from src.errors import UserError
from src.file_names import TAGS_FILE, TAGS_SIDECAR_SUFFIX
from src.inference.exporting import TOLERANCE, export_model
from src.inference.tag_lookup import find_tag_list
from src.model_loading import checkpoint_file, load_network
from src.musictagger import ModelParams
from src.runtime import setup_runtime
from src.tag_list import read_tag_list, write_tag_list

log = logging.getLogger("fcn4")


def run(config) -> int:
    if config.export_batch_size < 1:
        raise UserError(f"export_batch_size={config.export_batch_size}: must be >= 1")
    device = setup_runtime(config.device_target, config.device_id, config.seed, config.mixed_precision)
    if config.file_format == "AIR" and device != "Ascend":
        raise UserError(f"file_format=AIR can only be produced on Ascend (this run uses {device}); "
                        f"use MINDIR or ONNX")
    ckpt = checkpoint_file(config.checkpoint_path, config.ckpt_file, config.model_name, config.prefix)
    network = load_network(ckpt, ModelParams.from_config(config))
    report = export_model(network, config.file_name, config.file_format, config.export_batch_size)
    if report.max_abs_diff is None:
        print(f"exported {report.path} (input {list(report.input_shape)}); AIR is not checked here "
              f"(MindSpore cannot load it back)")
    else:
        print(f"exported {report.path} (input {list(report.input_shape)}, "
              f"{report.path.stat().st_size / 2**10:,.0f} KiB): max |exported - checkpoint| = "
              f"{report.max_abs_diff:.3g} on a random batch (tolerance {TOLERANCE[config.file_format]:g})")
    _write_tags_sidecar(ckpt, Path(config.mr_path) / TAGS_FILE, Path(config.file_name + TAGS_SIDECAR_SUFFIX),
                        network.params.num_classes)
    return 0


def _write_tags_sidecar(ckpt: Path, mr_tags: Path, target: Path, num_classes: int) -> None:
    """Copy the run's tag list beside the export, if one with the right length is found."""
    source = next((p for p in [*find_tag_list(ckpt), mr_tags] if p.is_file()), None)
    if source is None:
        log.warning("no tags.txt found beside %s or in mr_path; tag.py will need --tags_file", ckpt)
        return
    tags = read_tag_list(source)
    if len(tags) != num_classes:
        log.warning("%s lists %d tags, the model predicts %d: not copied; tag.py will need --tags_file",
                    source, len(tags), num_classes)
        return
    write_tag_list(target, tags)
    log.info("tag names %s -> %s", source, target)


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, "FCN-4: export a checkpoint (MINDIR, ONNX or AIR) and check the exported file")


if __name__ == "__main__":
    sys.exit(main())
