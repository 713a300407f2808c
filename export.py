"""Export an FCN-4 checkpoint to MINDIR (default), ONNX, AIR or LITE with input [export_batch_size, 1, 96, 1366].

    python export.py --ckpt_file ./checkpoints/MusicTagger-best.ckpt --file_name fcn-4 --file_format FASTEST

    python export.py --ckpt_file ./checkpoints/MusicTagger-best.ckpt --file_name fcn-4 --file_format MINDIR
    python export.py --ckpt_file ./checkpoints/MusicTagger-best.ckpt --file_name fcn-4-audio --export_input waveform
    python export.py --ckpt_file zoo --file_name fcn4-zoo --file_format ONNX   # the model zoo's trained FCN-4

With `--export_input waveform` the model takes [export_batch_size, 349440] mono samples at 12 kHz
(29.12 s) instead: the log-mel front end (src/model/frontend.py) runs inside the exported graph.

LITE writes FILE_NAME.mslite for MindSpore Lite (the 310 app built against Lite runs it): the ONNX
export converted by Lite's converter; it needs the tools of
`bash scripts/get_lite_sdk.sh && bash ascend310_infer/build.sh` (src/inference/lite_app.py).

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

from src.core.file_names import TAGS_SIDECAR_SUFFIX, THRESHOLDS_SUFFIX, thresholds_file
from src.core.fileio import atomic_write_text
from src.core.runtime import setup_runtime
from src.core.tag_list import find_tag_list, read_tag_list, tag_list_candidates, write_tag_list
from src.entry import run_entry
from src.inference.exporting import check_export_target, export_model
from src.inference.formats import EXPORT_FORMATS, check_export_device
from src.inference.lite_app import APP, CONVERTER, lite_tool
from src.inference.runtimes import fastest_format
from src.model.loading import checkpoint_file, load_checkpoint_network
from src.model_utils.config import Config

log = logging.getLogger("fcn4")

FASTEST = "FASTEST"  # the file_format choice that picks the fastest format this machine runs


def run(config: Config) -> int:
    if config.file_format == FASTEST:
        config.file_format = fastest_format()
        log.info(
            "file_format %s: %s, the fastest format this machine runs (src/inference/runtimes.py)",
            FASTEST,
            config.file_format,
        )
    check_export_target(config.file_name, config.file_format)
    if config.file_format == "LITE":
        for tool in (CONVERTER, APP):  # fail before any work when the Lite tools are not built
            lite_tool(tool)
    device = setup_runtime(config.device_target, config.device_id, config.seed, config.mixed_precision, config.mode)
    check_export_device(config.file_format, device)
    ckpt = checkpoint_file(config.checkpoint_path, config.ckpt_file, config.model_name, config.prefix)
    network, own_tags = load_checkpoint_network(ckpt)
    report = export_model(network, config.file_name, config.file_format, config.export_batch_size, config.export_input)
    if report.differences is None:
        print(
            f"exported {report.path} ({config.export_input} input {list(report.input_shape)}); {config.file_format} "
            f"is not checked here (MindSpore cannot load it back)"
        )
    else:
        print(
            f"exported {report.path} ({config.export_input} input {list(report.input_shape)}, "
            f"{report.path.stat().st_size / 2**10:,.0f} KiB): max |exported - checkpoint| on a random batch: "
            f"{report.describe()} (tolerance {EXPORT_FORMATS[config.file_format].tolerance:g} of max(1, |value|))"
        )
    target = Path(config.file_name + TAGS_SIDECAR_SUFFIX)
    _write_tags_sidecar(ckpt, own_tags, config.mr_path, target, network.params.num_classes)
    _copy_thresholds(ckpt, Path(config.file_name + THRESHOLDS_SUFFIX))
    return 0


def _copy_thresholds(ckpt: Path, target: Path) -> None:
    """The per-tag thresholds eval.py chose for the checkpoint, beside the export, where tag.py --only_passing
    looks for them (nothing when none were chosen)."""
    source = thresholds_file(ckpt.parent, ckpt)
    if source.is_file():
        atomic_write_text(target, source.read_text(encoding="utf-8"))
        log.info("per-tag thresholds %s -> %s", source, target)


def _write_tags_sidecar(ckpt: Path, own_tags: list[str] | None, mr_path: str, target: Path, num_classes: int) -> None:
    """Write the model's tag names beside the export: the checkpoint's own, else a run's tag list with the
    right length if one is found (else a warning: tag.py will then need --tags_file)."""
    if own_tags is not None:
        write_tag_list(target, own_tags)
        log.info("tag names recorded in %s -> %s", ckpt, target)
        return
    source = find_tag_list(tag_list_candidates(ckpt, mr_path))
    if source is None:
        log.warning("no tags.txt found beside %s or in mr_path; tag.py will need --tags_file", ckpt)
        return
    tags = read_tag_list(source)
    if len(tags) != num_classes:
        log.warning(
            "%s lists %d tags, the model predicts %d: not copied; tag.py will need --tags_file",
            source,
            len(tags),
            num_classes,
        )
        return
    write_tag_list(target, tags)
    log.info("tag names %s -> %s", source, target)


def main(argv: list[str] | None = None) -> int:
    return run_entry(run, argv, f"FCN-4: export a checkpoint ({', '.join(EXPORT_FORMATS)}) and check the exported file")


if __name__ == "__main__":
    sys.exit(main())
