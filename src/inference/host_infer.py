"""The Ascend 310 app's protocol run on this host: the chain without a 310.

    python -m src.inference.host_infer --mindir_path fcn-4.mindir --input0_path ./preprocess_Result/00_data

Same flags, inputs and outputs as ascend310_infer/out/main: every `*.bin` of --input0_path in
name order through the exported model, each file holding one batch of the model's own input (log-mel
features, or samples for a waveform export), output 0 of `name.bin` to `./result_Files/name_0.bin`,
the mean Predict latency to `./time_Result/test_perform_static.txt`. The model is any export tag.py
runs (src.inference.formats): a MindIR through MindSpore (CPU or GPU), an ONNX file through ONNX
Runtime, a MindSpore Lite model through the Lite app serving every batch. scripts/run_infer_310.sh
runs it when INFER_BACKEND=host.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from src.core.cli import run_command
from src.core.errors import UserError
from src.core.fileio import atomic_path, atomic_write_text
from src.inference import bin_protocol


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="FCN-4: run the 310 .bin protocol with a MindIR on this host")
    parser.add_argument(
        "--mindir_path", required=True, help="FCN-4 model exported by export.py (MINDIR, ONNX or LITE's .mslite)"
    )
    parser.add_argument("--input0_path", default=".", help="folder holding the preprocessed *.bin batches")
    parser.add_argument(
        "--device_target",
        default="auto",
        choices=["auto", "GPU", "CPU"],
        help="where MindSpore runs a MindIR (auto: GPU if usable, else CPU)",
    )
    parser.add_argument("--device_id", type=int, default=0, help="GPU index (ignored on CPU)")
    parser.add_argument(
        "--mode", default="graph", choices=["graph", "pynative"], help="MindSpore execution mode (pynative: debugging)"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    from src.core.runtime import setup_runtime
    from src.inference.formats import backend_class

    folder = Path(args.input0_path)
    if not folder.is_dir():
        raise UserError(f"--input0_path '{folder}' is not an existing folder (run preprocess.py first)")
    inputs = sorted(p for p in folder.iterdir() if p.suffix == ".bin" and p.is_file())
    if not inputs:
        raise UserError(f"no .bin file in '{folder}' (run preprocess.py first)")
    if args.device_id < 0:
        raise UserError(f"--device_id must be >= 0, got {args.device_id}")
    model = backend_class(args.mindir_path)
    if model.needs_mindspore:
        setup_runtime(args.device_target, args.device_id, mode=args.mode)
    backend = model(Path(args.mindir_path))
    try:
        latencies = _run_all(backend, inputs)
    finally:
        backend.close()
    summary = bin_protocol.perf_summary(latencies)
    atomic_write_text(Path(bin_protocol.TIME_DIR) / bin_protocol.PERF_FILE, summary)
    print(summary, end="")
    return 0


def _run_all(backend, inputs: list[Path]) -> list[float]:
    """Score every .bin, writing output 0 of each; the Predict latencies in ms."""
    results = Path(bin_protocol.RESULT_DIR)
    results.mkdir(exist_ok=True)
    latencies = []
    for path in inputs:
        print(f"Start predict input file: {path}", flush=True)
        batch = bin_protocol.read_input(path, backend.batch_size, backend.input_shape)
        began = time.perf_counter()
        scores = backend.predict(batch)
        latencies.append((time.perf_counter() - began) * 1000.0)
        with atomic_path(results / bin_protocol.output_name(path, 0)) as tmp:
            scores.astype("float32", copy=False).tofile(tmp)
    return latencies


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
