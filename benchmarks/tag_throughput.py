"""Tagging a folder with tag.py, as a user does, on every runtime side by side: files/s of the whole job (decode +
log-mel front end + network), the decode and front-end share of it, and peak memory from 100 to 1,000 files.

    python -m benchmarks.tag_throughput [--files 100] [--rss_files 100 1000] [--backends lite onnx mindspore]

One run, full-size FCN-4 (random weights), generated 29.1 s mp3 clips (16 kHz, the demo corpus). Each runtime
tags the same folder through tag.py (--backend, --format csv --output, 2 decode threads) after a first run on one
file that compiles the checkpoint into the runtime's format (timed apart). Figures: job files/s (tag.py's own
"tagged ... files/s", model load excluded), model-only windows/s (the runtime on ready log-mel batches of 8),
and decode and log-mel milliseconds per file measured on one thread, as a share of the job's time per file. The
peak resident memory is that of the whole process tree (tag.py and the Lite app), sampled every 0.1 s; the
folder of --rss_files files repeats the generated clips under distinct names.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAGGED = re.compile(r"tagged (\d+) file\(s\), (\d+) window\(s\) in ([\d.]+) s \(([\d.]+) files/s\)")
SAMPLE_S = 0.1


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (MiB), from /proc."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0) / 1024
        stack += [int(child) for child in children]
    return total


def run_tag(model: Path, music: Path, backend: str, output: Path, env: dict) -> dict:
    """tag.py on a folder; its figures, the wall time and the peak RSS of its process tree."""
    command = [sys.executable, "tag.py", "--model", str(model), "--backend", backend, str(music)]
    command += ["--format", "csv", "--output", str(output), "--no_progress", "--device_target", "CPU"]
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss_mib(process.pid))
            time.sleep(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - began
    sampler.join()
    found = TAGGED.search(stderr)
    if process.returncode != 0 or not found:
        raise SystemExit(f"tag.py --backend {backend} failed:\n{stderr[-3000:]}")
    files, windows, seconds, rate = found.groups()
    return {"files": int(files), "windows": int(windows), "tag_s": float(seconds), "files_s": float(rate),
            "wall_s": wall, "peak_mib": peak[0]}  # fmt: skip


def model_only(checkpoint: str, backend: str, batch: int, steps: int) -> dict:
    """Windows/s of one runtime on ready log-mel batches (this process; printed as one JSON line)."""
    import numpy as np

    from src.features import FEATURE_SHAPE
    from src.inference.runtimes import open_runtime

    loaded, _ = open_runtime(checkpoint, backend, "CPU", mode="graph")  # tag.py's mode
    inputs = np.random.default_rng(0).normal(-30, 20, (batch, *FEATURE_SHAPE)).astype(np.float32)
    try:
        loaded.predict(inputs)
        began = time.perf_counter()
        for _ in range(steps):
            loaded.predict(inputs)
        return {"windows_s": batch * steps / (time.perf_counter() - began)}
    finally:
        loaded.close()


def front_end(music: Path, files: int) -> dict:
    """Decode and log-mel milliseconds per file on one thread (printed as one JSON line)."""
    from src import features
    from src.inference.tagging import collect_audio

    features.warm_up()
    paths = collect_audio([music])[:files]
    decode = log_mel = 0.0
    for path in paths:
        began = time.perf_counter()
        samples = features.load_audio(path)
        decode += time.perf_counter() - began
        began = time.perf_counter()
        features.log_mel(features.fix_length(samples))
        log_mel += time.perf_counter() - began
    return {"decode_ms": 1000 * decode / len(paths), "log_mel_ms": 1000 * log_mel / len(paths)}


def child(*args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "benchmarks.tag_throughput", *args], cwd=ROOT, capture_output=True,
                            text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"benchmark child {args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def prepare(folder: Path, files: int, rss_files: list[int]) -> tuple[Path, Path, dict[int, Path]]:
    """A random full-size checkpoint, `files` generated clips, and folders of each --rss_files count."""
    from src.core.runtime import setup_runtime
    from src.core.tag_list import REFERENCE_TAGS, write_tag_list
    from src.model import checkpoint as checkpoints
    from src.musictagger import MusicTaggerCNN

    setup_runtime("CPU")
    network = MusicTaggerCNN()
    checkpoint = checkpoints.save(network, folder / "run" / "MusicTagger-best.ckpt")
    network.params.save(folder / "run")
    write_tag_list(folder / "run" / "tags.txt", REFERENCE_TAGS)
    corpus = folder / "corpus"
    subprocess.run([sys.executable, "-m", "src.demo_data", "--out", str(corpus), "--num_clips", str(files),
                    "--seed", "1"], cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    clips = sorted(corpus.rglob("*.mp3"))
    folders = {}
    for count in sorted({files, *rss_files}):
        music = folder / f"music_{count}"
        music.mkdir()
        for index in range(count):
            (music / f"{index:05d}.mp3").symlink_to(clips[index % len(clips)])
        folders[count] = music
    return checkpoint, folders[files], folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100, help="distinct clips tagged per runtime")
    parser.add_argument("--rss_files", type=int, nargs="+", default=[100, 1000], help="folder sizes for the RSS check")
    parser.add_argument("--backends", nargs="+", default=["lite", "onnx", "mindspore"])
    parser.add_argument("--model_only", nargs=2, metavar=("CHECKPOINT", "BACKEND"), help=argparse.SUPPRESS)
    parser.add_argument("--front_end", metavar="MUSIC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.model_only:
        print(json.dumps(model_only(*args.model_only, batch=8, steps=3)))
        return 0
    if args.front_end:
        print(json.dumps(front_end(Path(args.front_end), 20)))
        return 0

    with tempfile.TemporaryDirectory(prefix="fcn4_tag_bench_") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "FCN4_CACHE": str(folder / "cache")}
        checkpoint, music, by_count = prepare(folder, args.files, args.rss_files)
        one = folder / "one"
        one.mkdir()
        (one / "clip.mp3").symlink_to(next(music.iterdir()).resolve())
        shares = child("--front_end", str(music))
        rows = {}
        for backend in args.backends:
            began = time.perf_counter()
            run_tag(checkpoint, one, backend, folder / f"{backend}_one.csv", env)  # compiles the checkpoint once
            first_s = time.perf_counter() - began
            job = run_tag(checkpoint, music, backend, folder / f"{backend}.csv", env)
            rows[backend] = {**job, "first_run_s": first_s, **child("--model_only", str(checkpoint), backend)}
            print(f"# {backend}: {rows[backend]}", flush=True)
        fastest = max(rows, key=lambda name: rows[name]["files_s"])
        rss = {count: run_tag(checkpoint, path, fastest, folder / f"rss_{count}.csv", env) for count, path in
               sorted(by_count.items()) if count in args.rss_files}  # fmt: skip

    per_file_ms = shares["decode_ms"] + shares["log_mel_ms"]
    print(f"full FCN-4, CPU, {os.cpu_count()} cores; {args.files} clips of 29.1 s (mp3, 16 kHz), one window each")
    print(f"decode {shares['decode_ms']:.1f} ms/file + log-mel {shares['log_mel_ms']:.1f} ms/file on one thread")
    print(f"{'runtime':<10}{'files/s':>9}{'vs mindspore':>14}{'model windows/s':>17}{'decode+log-mel share':>22}"
          f"{'first run s':>13}{'peak MiB':>10}")  # fmt: skip
    base = rows.get("mindspore", rows[fastest])["files_s"]
    for name, row in rows.items():
        share = per_file_ms / (1000 / row["files_s"])
        print(f"{name:<10}{row['files_s']:>9.2f}{row['files_s'] / base:>13.2f}x{row['windows_s']:>17.2f}"
              f"{share:>21.0%}{row['first_run_s']:>13.1f}{row['peak_mib']:>10.0f}")  # fmt: skip
    print(f"fastest: {fastest}; peak resident memory of tag.py + its app, by folder size:")
    for count, row in rss.items():
        print(f"  {count:>5} files: {row['peak_mib']:.0f} MiB, {row['files_s']:.2f} files/s")
    counts = sorted(rss)
    if len(counts) > 1:
        print(f"  {counts[-1]} / {counts[0]} files: {rss[counts[-1]]['peak_mib'] / rss[counts[0]]['peak_mib']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
