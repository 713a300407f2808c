"""Raw-audio models on this CPU: decode + librosa log-mel + model vs decode + waveform model, side by side.

    python benchmarks/raw_audio.py [--batch_size 4] [--tracks 8] [--repeats 2]

One run: a random full-size FCN-4 is exported as export.py does it (src.inference.exporting) with log-mel
and with waveform input (the log-mel front end inside the graph), to MindIR (run by MindSpore) and ONNX (run
by ONNX Runtime). Generated 29.1 s mp3 tracks are tagged as tag.py tags them (src.inference.tagging,
serially, workers=0, so a figure is the whole per-track cost: decode, features where Python computes them,
model), best of --repeats after a warm-up pass. Then the front end's share of the waveform model's time:
LogMelFrontEnd alone vs the whole WaveformTagger on one (B, 349440) batch, in MindSpore (graph mode) and,
exported alone, in ONNX Runtime; librosa's log-mel of the same windows is timed beside them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from src.inference.backends import INPUT_SHAPES  # noqa: E402 - after the path set-up; imports no MindSpore

FORMATS = ("MINDIR", "ONNX")  # the exports that run on this host


def best_seconds(call: Callable[[], object], repeats: int) -> tuple[float, object]:
    """(the fastest of `repeats` timed calls after one warm-up call, the last call's result)."""
    result = call()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - began)
    return min(times), result


def export_models(folder: Path, batch_size: int) -> dict[tuple[str, str], Path]:
    """(backend kind, input kind) -> the exported file, for every format and input of one random full-size FCN-4."""
    from src.inference.exporting import export_model
    from src.inference.formats import EXPORT_FORMATS
    from src.musictagger import MusicTaggerCNN

    network = MusicTaggerCNN()
    network.set_train(False)
    models = {}
    for file_format in FORMATS:
        for input_kind in INPUT_SHAPES:
            report = export_model(network, str(folder / f"fcn4_{input_kind}"), file_format, batch_size, input_kind)
            models[(EXPORT_FORMATS[file_format].backend.kind, input_kind)] = report.path
    return models


def tagging_rates(models: dict, files: list[Path], batch_size: int, repeats: int) -> dict:
    """Per (backend, input): seconds per track tagging `files`, and the (tracks, C) scores."""
    from src.features import CLIP_SECONDS
    from src.inference.formats import open_backend
    from src.inference.tagging import tag_tracks

    rates = {}
    for key, path in models.items():
        backend = open_backend(path, "CPU")
        seconds, tracks = best_seconds(
            lambda backend=backend: list(tag_tracks(backend, files, CLIP_SECONDS, batch_size, 0, progress=False)),
            repeats,
        )
        rates[key] = {"s_track": seconds / len(files), "scores": np.concatenate([t.scores for t in tracks])}
    return rates


def python_front(files: list[Path], repeats: int) -> dict:
    """Seconds per track to decode alone, and to decode + compute librosa's log-mel (no model)."""
    from src.features import CLIP_SECONDS, load_audio
    from src.inference.tagging import load_track

    decode, _ = best_seconds(lambda: [load_audio(path) for path in files], repeats)
    features, _ = best_seconds(lambda: [load_track(path, CLIP_SECONDS, "logmel") for path in files], repeats)
    return {"decode": decode / len(files), "features": features / len(files)}


def frontend_share(models: dict, folder: Path, batch_size: int, repeats: int) -> dict:
    """Seconds per window: front end alone and whole waveform model, MindSpore and ONNX Runtime; librosa's log-mel."""
    import mindspore as ms
    import mindspore.onnx
    import onnxruntime as ort

    from src.features import CLIP_SAMPLES, log_mel
    from src.inference.backends import OnnxBackend
    from src.model.frontend import LogMelFrontEnd, WaveformTagger
    from src.musictagger import MusicTaggerCNN

    batch = np.random.default_rng(0).normal(0.0, 0.1, (batch_size, CLIP_SAMPLES)).astype(np.float32)
    frontend, tagger = LogMelFrontEnd(), WaveformTagger(MusicTaggerCNN())
    tagger.set_train(False)
    tensor = ms.Tensor(batch)
    onnx_path = folder / "frontend_alone.onnx"
    mindspore.onnx.export(frontend, tensor, file_name=str(onnx_path), input_names=["waveform"], output_names=["logmel"])
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    whole_onnx = OnnxBackend(models[("ONNX", "waveform")])
    calls = {
        "ms_front": lambda: frontend(tensor).asnumpy(),
        "ms_whole": lambda: tagger(tensor).asnumpy(),
        "onnx_front": lambda: session.run(None, {"waveform": batch}),
        "onnx_whole": lambda: whole_onnx.predict(batch),
        "librosa": lambda: [log_mel(row) for row in batch],
    }
    return {name: best_seconds(call, repeats)[0] / batch_size for name, call in calls.items()}


def report(args: argparse.Namespace, rates: dict, python: dict, share: dict) -> None:
    """Print the figures and their ratios."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "AVX2 (toolkit default)")
    print(
        f"full FCN-4, CPU, {os.cpu_count()} cores, oneDNN ISA cap {isa}; export batch {args.batch_size}; "
        f"{args.tracks} mp3 tracks of 29.1 s (16 kHz), tagged serially, best of {args.repeats}"
    )
    print(f"{'backend':8s} {'input':9s} {'ms/track':>9s} {'tracks/s':>9s} {'max |p - p(logmel)|':>20s}")
    for (backend, kind), rate in rates.items():
        diff = np.abs(rate["scores"] - rates[(backend, "logmel")]["scores"]).max()
        print(f"{backend:8s} {kind:9s} {1e3 * rate['s_track']:9.1f} {1 / rate['s_track']:9.2f} {diff:20.2e}")
    for backend in ("MindIR", "ONNX"):
        logmel, waveform = rates[(backend, "logmel")]["s_track"], rates[(backend, "waveform")]["s_track"]
        print(f"{backend}: decode + waveform model at {logmel / waveform:.2f}x the speed of decode + features + model")
    print(
        f"decode alone {1e3 * python['decode']:.1f} ms/track; decode + librosa log-mel "
        f"{1e3 * python['features']:.1f} ms/track (librosa log-mel of one batch's windows: "
        f"{1e3 * share['librosa']:.1f} ms/window)"
    )
    for name, engine in (("ms", "MindSpore"), ("onnx", "ONNX Runtime")):
        front, whole = share[f"{name}_front"], share[f"{name}_whole"]
        print(
            f"{engine}: front end alone {1e3 * front:.1f} ms/window, whole waveform model {1e3 * whole:.1f} ms/window: "
            f"the front end is {100 * front / whole:.1f}% of the model's time and runs at "
            f"{share['librosa'] / front:.2f}x librosa's speed"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=4, help="export batch (windows per model call)")
    parser.add_argument("--tracks", type=int, default=8, help="generated 29.1 s mp3 tracks to tag")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per figure (the best is kept)")
    args = parser.parse_args()

    from src import demo_data, features
    from src.core.runtime import setup_runtime
    from src.inference.tagging import collect_audio

    setup_runtime("CPU")
    features.warm_up()
    with tempfile.TemporaryDirectory(prefix="fcn4_raw_audio_bench_") as tmp:
        folder = Path(tmp)
        demo_data.generate_corpus(folder / "music", num_clips=args.tracks, seed=1, workers=2)
        files = collect_audio([folder / "music"])
        models = export_models(folder, args.batch_size)
        rates = tagging_rates(models, files, args.batch_size, args.repeats)
        python = python_front(files, args.repeats)
        share = frontend_share(models, folder, args.batch_size, args.repeats)
    report(args, rates, python, share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
