"""Serve a trained FCN-4 over HTTP: an API to tag audio files and a page to drop a track and see its taggram.

    python serve.py --model fcn-4.onnx                       # http://127.0.0.1:8000/ ; the API under /v1/
    python serve.py --model zoo --port 8080                  # the model zoo's FCN-4 (a checkpoint: MindSpore)
    python serve.py --model checkpoints/MusicTagger-best.ckpt --head my_tags.npz --host 0.0.0.0
    curl -F file=@song.mp3 http://127.0.0.1:8000/v1/tag

One model, loaded once, through the same backends, tag names, head and thresholds as tag.py
(src.inference.tagging_model); requests' windows are scored together in one model call (--batch_size,
--max_wait_ms); --max_queue requests at most are inside at once, one more gets 503; uploads go to a
temporary folder per request, removed whatever happens. The routes, the error replies and the page
are src.serving's. Ctrl-C or SIGTERM stops taking connections, lets the requests in progress finish
(up to --shutdown_timeout s) and exits 0.

Own argparse rather than the YAML config, as tag.py: the ONNX path must not touch MindSpore.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from pathlib import Path

from src.core.cli import run_command
from src.core.errors import UserError
from src.features import CLIP_SECONDS
from src.inference.tagging_model import add_model_arguments

log = logging.getLogger("fcn4")

# flag -> (lowest, highest) accepted; the help of each flag says what it bounds.
RANGES = {
    "port": (0, 65535),
    "max_upload_mb": (0.001, 4096.0),
    "max_seconds": (1.0, 86400.0),
    "max_windows": (1, 100000),
    "batch_size": (1, 4096),
    "max_wait_ms": (0.0, 10000.0),
    "max_queue": (1, 100000),
    "workers": (1, 256),
    "top_k": (1, 1000),
    "hop_seconds": (0.1, 3600.0),
    "shutdown_timeout": (0.0, 3600.0),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="FCN-4: serve a trained model over HTTP (API and web page)", allow_abbrev=False
    )
    parser.add_argument(
        "--model",
        required=True,
        help="checkpoint (.ckpt), MindIR (.mindir), ONNX (.onnx) or MindSpore Lite (.mslite) file, or zoo: the "
        "model zoo's trained FCN-4 (ONNX and Lite models need no MindSpore)",
    )
    parser.add_argument(
        "--head", default="", help="tag with your own tags: a linear head (.npz) train_head.py fitted on this model"
    )
    parser.add_argument(
        "--thresholds",
        default="",
        help="per-tag thresholds for yes/no decisions (default: a --head's own, else CKPT.thresholds.json beside "
        "the model when eval.py wrote one; when none is found: no decisions)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0: any free one)")
    parser.add_argument("--max_upload_mb", type=float, default=100.0, help="largest upload in MB (default 100; 413)")
    parser.add_argument(
        "--max_seconds", type=float, default=1800.0, help="longest track in seconds (default 1800; longer: 413)"
    )
    parser.add_argument(
        "--max_windows",
        type=int,
        default=128,
        help="most windows per request, which bounds a request's memory: 0.5 MB each (default 128; more: 413)",
    )
    parser.add_argument(
        "--batch_size",
        type=int,
        default=8,
        help="windows per model call, from one or several requests (an exported model uses its own batch)",
    )
    parser.add_argument(
        "--max_wait_ms",
        type=float,
        default=10.0,
        help="longest wait for other requests to fill a batch, in ms (default 10)",
    )
    parser.add_argument(
        "--max_queue",
        type=int,
        default=32,
        help="most requests inside the service at once (uploading, decoding, waiting for the model); "
        "one more gets 503 (default 32)",
    )
    parser.add_argument("--workers", type=int, default=2, help="threads decoding uploads (default 2)")
    parser.add_argument("--top_k", type=int, default=5, help="tags ranked in a reply unless it asks (default 5)")
    parser.add_argument(
        "--hop_seconds",
        type=float,
        default=CLIP_SECONDS,
        help=f"start-to-start distance of the {CLIP_SECONDS} s windows unless a request asks (default: no overlap)",
    )
    parser.add_argument(
        "--upload_dir", default="", help="folder for the per-request temporary folders (default: the system's)"
    )
    parser.add_argument(
        "--cors_origins",
        default="",
        help="comma-separated origins whose pages may call the API (default: none, CORS off)",
    )
    parser.add_argument(
        "--shutdown_timeout",
        type=float,
        default=30.0,
        help="seconds requests in progress get to finish on Ctrl-C / SIGTERM (default 30)",
    )
    add_model_arguments(parser)
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    for name, (low, high) in RANGES.items():
        value = getattr(args, name)
        if not low <= value <= high:
            raise UserError(f"--{name} {value:g}: expected a value from {low:g} to {high:g}")
    if args.upload_dir:
        from src.core.fileio import check_writable_dir

        check_writable_dir(args.upload_dir, "--upload_dir")


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, made before the model loads so that a taken port fails at once."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise UserError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None


def run(args: argparse.Namespace) -> int:
    from src.inference.formats import backend_class
    from src.model.pretrained import resolve

    check_args(args)
    path = resolve(args.model)  # `zoo`: the model zoo's checkpoint, verified in the cache folder
    backend_class(path)  # an unknown suffix fails before anything is loaded
    sock = listen(args.host, args.port)
    service = open_service(args, path)
    try:
        serve(service, sock, args)
    finally:
        service.card.model.backend.close()
    log.info("stopped")
    return 0


def open_service(args: argparse.Namespace, path: Path):
    """The model loaded as tag.py loads it (tags, head, thresholds), warmed up, behind its limits and batcher."""
    from src.core.fileio import file_sha256
    from src.inference.tagging_model import find_decisions, open_tagging_model
    from src.serving.limits import Limits
    from src.serving.replies import ModelCard
    from src.serving.service import Settings, TaggingService

    model = open_tagging_model(path, args.device_target, args.mode, args.tags_file, args.head, args.backend)
    decisions = find_decisions(model, args.thresholds, required=False)
    card = ModelCard(model, decisions, file_sha256(path), model.backend.batch_size or args.batch_size)
    log.info("runtime: %s", model.runtime)
    log.info("model: %s; %s", model.backend.describe(), decisions.description if decisions else "no thresholds")
    limits = Limits(round(args.max_upload_mb * 2**20), args.max_seconds, args.max_windows, args.max_queue)
    if args.upload_dir:
        Path(args.upload_dir).mkdir(parents=True, exist_ok=True)
    wait_s, upload_dir = args.max_wait_ms / 1000, args.upload_dir or None
    settings = Settings(limits, card.batch_size, wait_s, args.workers, args.top_k, args.hop_seconds, upload_dir)
    service = TaggingService(card, settings)
    service.warm_up()
    return service


def serve(service, sock: socket.socket, args: argparse.Namespace) -> None:
    """Serve until Ctrl-C or SIGTERM, then let the requests in progress finish (--shutdown_timeout)."""
    import uvicorn

    from src.serving.app import create_app

    origins = [origin.strip() for origin in args.cors_origins.split(",") if origin.strip()]
    config = uvicorn.Config(
        create_app(service, origins),
        log_config=None,  # the fcn4 log format (src.core.cli) for uvicorn's lines too
        access_log=False,  # src.serving.app logs one line per request itself
        server_header=False,
        timeout_graceful_shutdown=args.shutdown_timeout,
    )
    host, port = sock.getsockname()[:2]
    limits = service.settings.limits
    log.info(
        "serving on http://%s:%d/ (batch %d, wait <= %g ms, queue <= %d, uploads <= %g MB, tracks <= %g s)",
        f"[{host}]" if ":" in host else host,
        port,
        service.card.batch_size,
        args.max_wait_ms,
        limits.max_queue,
        args.max_upload_mb,
        limits.max_seconds,
    )
    for stop in (signal.SIGINT, signal.SIGTERM):  # uvicorn re-raises the signal it stopped on: it is handled
        signal.signal(stop, lambda *_: None)
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
