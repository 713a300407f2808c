"""Full FCN-4 inference on this CPU: checkpoint network vs exported MindIR vs ONNX Runtime, side by side.

    python benchmarks/inference.py [--batch_size 8] [--steps 3] [--tracks 12]

One run: export.py writes the MindIR and the ONNX file of a random full-size checkpoint, then
each backend runs in its own process (so its memory is its own) and reports
  * model samples/s on random log-mel batches (after one warm-up call) and
  * end-to-end tagging tracks/s on generated 29.1 s mp3 tracks: decode + features + model,
    as tag.py does it (src.inference.tagging.tag_tracks, 2 decode threads), after librosa's warm-up,
with the process's resident memory once the model is loaded and its peak (VmHWM). A
features-only pass gives the decode + features rate without any model, for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from src.inference.formats import EXPORT_FORMATS  # noqa: E402 - after the path set-up; imports no MindSpore
from src.inference.lite_app import tools_built  # noqa: E402

# What tag.py runs: every format that loads back here (LITE when the ascend310_infer tools are built).
BENCHED = [name for name, fmt in EXPORT_FORMATS.items() if fmt.backend and (name != "LITE" or tools_built())]


def memory_mib() -> dict:
    """Current and peak resident memory of this process (MiB), from /proc/self/status."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[name].split()[0]) / 1024 for key, name in (("rss", "VmRSS"), ("peak", "VmHWM"))}


def child(model: str, music: str, batch_size: int, steps: int) -> dict:
    """Measure one backend in this process; prints its figures as one JSON line."""
    import numpy as np

    from src import features
    from src.inference.formats import open_backend
    from src.inference.tagging import collect_audio, tag_tracks

    features.warm_up()
    began = time.perf_counter()
    backend = open_backend(model, "CPU")
    load_s = time.perf_counter() - began
    loaded = memory_mib()["rss"]
    batch = np.random.default_rng(0).normal(-30, 20, (backend.batch_size or batch_size, *features.FEATURE_SHAPE))
    batch = batch.astype(np.float32)
    backend.predict(batch)
    began = time.perf_counter()
    for _ in range(steps):
        backend.predict(batch)
    samples_s = len(batch) * steps / (time.perf_counter() - began)

    files = collect_audio([music])
    began = time.perf_counter()
    tracks = list(tag_tracks(backend, files, features.CLIP_SECONDS, batch_size, workers=2, progress=False))
    tracks_s = len(tracks) / (time.perf_counter() - began)
    return {
        "load_s": load_s,
        "samples_s": samples_s,
        "tracks_s": tracks_s,
        "loaded_mib": loaded,
        "peak_mib": memory_mib()["peak"],
        "windows": sum(len(t.starts_s) for t in tracks),
    }


def features_only(music: str) -> dict:
    """Decode + features of every track, one thread, no model: the tagging ceiling."""
    from src import features
    from src.inference.tagging import collect_audio, load_track

    features.warm_up()
    files = collect_audio([music])
    began = time.perf_counter()
    for path in files:
        load_track(path, features.CLIP_SECONDS)
    return {"tracks_s": len(files) / (time.perf_counter() - began)}


def make_checkpoint(folder: str) -> dict:
    """folder/fcn4.ckpt: a random full-size network (+ model_params.json)."""
    from src.core.runtime import setup_runtime
    from src.model import checkpoint
    from src.musictagger import MusicTaggerCNN

    setup_runtime("CPU")
    network = MusicTaggerCNN()
    checkpoint.save(network, Path(folder) / "fcn4.ckpt")
    network.params.save(folder)
    return {"checkpoint": str(Path(folder) / "fcn4.ckpt")}


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(folder: Path, batch_size: int, tracks: int) -> dict:
    """A random full-size checkpoint, its exports in every format that loads back (through export.py), mp3 tracks."""
    models = {"checkpoint": run_child("--make_checkpoint", str(folder))["checkpoint"]}
    for file_format in BENCHED:
        subprocess.run(
            [
                sys.executable,
                "export.py",
                "--ckpt_file",
                models["checkpoint"],
                "--file_name",
                str(folder / "fcn4"),
                "--file_format",
                file_format,
                "--export_batch_size",
                str(batch_size),
                "--device_target",
                "CPU",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        fmt = EXPORT_FORMATS[file_format]
        models[fmt.backend.kind] = str(folder / f"fcn4{fmt.suffix}")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "src.demo_data",
            "--out",
            str(folder / "music"),
            "--num_clips",
            str(tracks),
            "--seed",
            "1",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return models


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=8, help="model batch (also the export batch)")
    parser.add_argument("--steps", type=int, default=3, help="timed model calls per backend")
    parser.add_argument("--tracks", type=int, default=12, help="generated 29.1 s mp3 tracks to tag")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "MUSIC"), help=argparse.SUPPRESS)
    parser.add_argument("--features_only", metavar="MUSIC", help=argparse.SUPPRESS)
    parser.add_argument("--make_checkpoint", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_checkpoint:
        print(json.dumps(make_checkpoint(args.make_checkpoint)))
        return 0
    if args.child:
        print(json.dumps(child(*args.child, args.batch_size, args.steps)))
        return 0
    if args.features_only:
        print(json.dumps(features_only(args.features_only)))
        return 0

    with tempfile.TemporaryDirectory(prefix="fcn4_infer_bench_") as tmp:
        folder = Path(tmp)
        models = prepare(folder, args.batch_size, args.tracks)
        music = str(folder / "music")
        results = {
            name: run_child("--child", path, music, "--batch_size", str(args.batch_size), "--steps", str(args.steps))
            for name, path in models.items()
        }
        decode = run_child("--features_only", music)
        sizes = {name: Path(path).stat().st_size / 2**20 for name, path in models.items()}

    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "AVX2 (toolkit default)")
    print(
        f"full FCN-4 (17.4 M parameters), CPU, {os.cpu_count()} cores, oneDNN ISA cap {isa}; "
        f"batch {args.batch_size}, {args.steps} timed calls; {args.tracks} tracks of 29.1 s (mp3, 16 kHz)"
    )
    header = (
        f"{'backend':12s} {'file MiB':>9s} {'load s':>7s} {'samples/s':>10s} {'tracks/s':>9s} "
        f"{'RSS loaded MiB':>15s} {'peak MiB':>9s}"
    )
    print(header)
    for name, r in results.items():
        print(
            f"{name:12s} {sizes[name]:9.1f} {r['load_s']:7.2f} {r['samples_s']:10.2f} {r['tracks_s']:9.2f} "
            f"{r['loaded_mib']:15.0f} {r['peak_mib']:9.0f}"
        )
    base = results["checkpoint"]
    for name in BENCHED:
        kind = EXPORT_FORMATS[name].backend.kind
        print(
            f"{kind} / checkpoint: model {results[kind]['samples_s'] / base['samples_s']:.2f}x, "
            f"end-to-end {results[kind]['tracks_s'] / base['tracks_s']:.2f}x"
        )
    print(f"decode + features alone (1 thread, no model): {decode['tracks_s']:.1f} tracks/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
