"""Tag your own audio with a trained FCN-4: top-k tags per file, or a CSV/JSON table for a folder.

    python tag.py --model fcn-4.onnx song.mp3 more_music/
    python tag.py --model zoo song.mp3       # the model zoo's trained FCN-4, downloaded once (src.model.pretrained)
    python tag.py --model checkpoints/MusicTagger-best.ckpt music/ --format csv --output tags.csv   # resumable
    python tag.py --model fcn-4.mindir long_mix.flac --hop_seconds 10 --plot_dir plots/
    python tag.py --model checkpoints/MusicTagger-best.ckpt music/ --only_passing   # yes/no: tags over their thresholds

Any mp3/wav/flac/ogg, any sample rate or length: the features are those of training
(src.features); tracks longer than 29.12 s are tagged window by window (see src.inference.tagging).
The model is a checkpoint (.ckpt), a MindIR (.mindir), an ONNX file (.onnx, run by ONNX Runtime
without importing MindSpore) or a MindSpore Lite model (.mslite, run by the Lite app). A checkpoint
runs on the fastest exact runtime installed unless --backend says otherwise (src.inference.runtimes).
An export with waveform input (export.py --export_input waveform) computes the log-mel features inside
its graph: tag.py then only decodes and resamples. With --output (and --embeddings), the outputs are
built up track by track: an interrupted run is continued by the same command (src.inference.tag_outputs).
Tag names: --tags_file, else FILE.tags.txt written by export.py, tags.txt beside the model, or for
a checkpoint the run's mr_path/tags.txt.

Own argparse rather than the YAML config: file arguments and shell globs, and the ONNX path
must not touch MindSpore, which the config entry points set up.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from src.core.cli import run_command
from src.core.errors import UserError
from src.features import CLIP_SECONDS
from src.inference.tagging_model import add_model_arguments

log = logging.getLogger("fcn4")

FORMATS = ("text", "csv", "json")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="FCN-4: tag audio files with a trained model", allow_abbrev=False)
    parser.add_argument("audio", nargs="+", help="audio files (mp3, wav, flac, ogg) and/or folders (recursive)")
    parser.add_argument(
        "--model",
        required=True,
        help="checkpoint (.ckpt), MindIR (.mindir), ONNX (.onnx) or MindSpore Lite (.mslite) file, or zoo: the "
        "model zoo's trained FCN-4 (downloaded once into the cache folder; a checkpoint, so MindSpore is needed)",
    )
    parser.add_argument("--top_k", type=int, default=5, help="tags shown per file (default 5)")
    parser.add_argument(
        "--hop_seconds",
        type=float,
        default=CLIP_SECONDS,
        help=f"start-to-start distance of the {CLIP_SECONDS} s windows of a longer track "
        f"(default {CLIP_SECONDS}: no overlap)",
    )
    parser.add_argument(
        "--aggregate",
        choices=("mean", "max"),
        default="mean",
        help="a track's probability per tag: mean or max over its windows (for the ranking and the CSV; JSON has both)",
    )
    parser.add_argument(
        "--batch_size", type=int, default=8, help="windows per model call (an exported model uses its own export batch)"
    )
    parser.add_argument("--workers", type=int, default=2, help="threads decoding audio ahead of the model (0: none)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="text (default), csv or json")
    parser.add_argument(
        "--output",
        default="",
        help="write the report to this file instead of stdout (an existing file is replaced only if it is "
        "an earlier tag.py report, never an input)",
    )
    parser.add_argument(
        "--plot_dir",
        default="",
        help="save NAME_taggram.png and NAME_tags.png per file here (replacing only plots tag.py wrote)",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--embeddings",
        default="",
        help="also write each file's embeddings into this folder: NAME_windows.npy (windows, D), NAME_mean.npy (D,) "
        "and the index embeddings.csv (replacing only files an earlier index there lists)",
    )
    parser.add_argument(
        "--head",
        default="",
        help="tag with your own tags: a linear head (.npz) train_head.py fitted on this model's embeddings",
    )
    parser.add_argument(
        "--only_passing",
        action="store_true",
        help="show only the tags that pass their per-tag thresholds (eval.py --eval_split val chose them into "
        "CKPT.thresholds.json beside a checkpoint; with --head, the head's own; `pooled` marks a tag with too few "
        "val positives for its own); CSV gains a passing_tags column, JSON a passing list",
    )
    parser.add_argument(
        "--thresholds",
        default="",
        help="thresholds file for --only_passing (implies it), e.g. for an exported model: the run's "
        "CKPT.thresholds.json (default: beside the model)",
    )
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    limits = (("top_k", args.top_k, 1), ("batch_size", args.batch_size, 1), ("workers", args.workers, 0))
    for name, value, low in limits:
        if value < low:
            raise UserError(f"--{name} {value}: must be >= {low}")
    if not args.hop_seconds > 0:
        raise UserError(f"--hop_seconds {args.hop_seconds}: must be > 0")


def run(args: argparse.Namespace) -> int:
    from src.inference.backends import require_embeddings
    from src.inference.formats import backend_class
    from src.inference.tagging import collect_audio
    from src.inference.tagging_model import open_tagging_model
    from src.model.pretrained import resolve

    check_args(args)
    args.model = str(resolve(args.model))  # `zoo`: the model zoo's checkpoint, verified in the cache folder
    backend_class(args.model)  # an unknown suffix fails before any audio is looked at
    files = collect_audio(args.audio)
    names = _check_outputs(args, files)
    model = open_tagging_model(args.model, args.device_target, args.mode, args.tags_file, args.head, args.backend)
    try:
        if args.embeddings:
            require_embeddings(model.backend, "--embeddings")
        return _tag(args, model, files, names)
    finally:
        model.backend.close()


def _tag(args: argparse.Namespace, model, files: list[Path], names: dict[Path, str]) -> int:
    """Tag the files an earlier run of the same command did not finish, writing each to every output as it comes."""
    from tqdm import tqdm

    from src.core.fileio import file_sha256
    from src.inference.tag_outputs import TagOutputs
    from src.inference.tag_report import Report
    from src.inference.tagging import tag_tracks

    thresholds, sources = _thresholds(args, model)
    meta = {
        "model": args.model,
        "backend": model.backend.kind,
        "hop_seconds": args.hop_seconds,
        "window_seconds": CLIP_SECONDS,
    }
    report = Report(args.format, model.tags, args.top_k, args.aggregate, thresholds, sources, meta)
    settings = {
        "model_sha256": file_sha256(args.model),
        "head_sha256": file_sha256(args.head) if args.head else "",
        "hop_seconds": args.hop_seconds,
    }
    folders = _path(args.output), _path(args.plot_dir), _path(args.embeddings)
    outputs = TagOutputs(report, settings, names, *folders, args.hop_seconds, echo=tqdm.write)
    done = outputs.check()
    todo = [path for path in files if path not in done]
    log.info("runtime: %s", model.runtime)
    earlier = f" ({len(done)} more done by an earlier run of this command)" if done else ""
    log.info("tagging %d file(s) with %s%s", len(todo), model.backend.describe(), earlier)

    outputs.open()
    tagged = windows = 0
    began = time.perf_counter()
    try:
        for track in tag_tracks(
            model.backend, todo, args.hop_seconds, args.batch_size, args.workers, progress=not args.no_progress
        ):
            if track.error:
                log.warning("skipped %s: %s", track.path, track.error)
            else:
                track.scores = model.scores(track.scores, track.embeddings)
                tagged += 1
                windows += len(track.starts_s)
            outputs.add(track)
    except BaseException:  # Ctrl-C, a failing model: what is done stays for the same command to continue
        if tagged or done:
            outputs.close()
        else:
            outputs.discard_new()
        raise
    elapsed = time.perf_counter() - began
    if not tagged and not done:
        outputs.discard_new()
        raise UserError(f"none of the {len(files)} file(s) could be decoded (see the warnings above)")
    for path in outputs.finish():
        log.info("wrote %s", path)
    if args.plot_dir:
        log.info("plots: a taggram and a bar-chart PNG per tagged file in %s", args.plot_dir)
    log.info(
        "tagged %d file(s), %d window(s) in %.1f s (%.2f files/s); skipped %d%s",
        tagged,
        windows,
        elapsed,
        tagged / elapsed if elapsed > 0 else 0.0,
        len(todo) - tagged,
        earlier,
    )
    return 0


def _path(value: str) -> Path | None:
    return Path(value) if value else None


def _check_outputs(args: argparse.Namespace, files: list[Path]) -> dict[Path, str]:
    """Refuse, before any work, outputs that cannot be written or would replace an input or a file
    tag.py did not write; returns the plot name of each file."""
    from src.core.fileio import check_writable_dir, check_writable_file
    from src.inference import tag_report

    if args.output:
        output = check_writable_file(args.output, "--output")
        inputs = [*files, Path(args.model), *[Path(p) for p in (args.tags_file, args.head, args.thresholds) if p]]
        tag_report.check_report_target(output, inputs)
    names = tag_report.plot_names(files)
    if args.plot_dir:
        check_writable_dir(args.plot_dir, "--plot_dir")
        tag_report.check_plot_targets(Path(args.plot_dir), names.values())
    if args.embeddings:
        check_writable_dir(args.embeddings, "--embeddings")  # its files: checked by src.inference.tag_outputs
    return names


def _thresholds(args: argparse.Namespace, model) -> tuple[list[float | None], list[str]] | tuple[None, None]:
    """The per-tag thresholds and how each was chosen (per tag or pooled) when only the passing tags are
    asked for (--only_passing or --thresholds): --thresholds, else a --head's own (chosen on val by
    train_head.py), else those beside the model (src.inference.tagging_model); (None, None) when not asked for."""
    if not (args.only_passing or args.thresholds):
        return None, None
    from src.inference.tagging_model import find_decisions

    found = find_decisions(model, args.thresholds)
    log.info("showing the tags that pass their thresholds (%s)", found.description)
    return found.thresholds, found.sources


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
