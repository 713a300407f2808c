"""A request's way through the service: admitted (or 503), its upload streamed into a fresh temporary
folder (removed whatever happens), decoded on a decoder thread, its windows scored by the batcher.

The event loop only moves bytes; decoding and features run on `workers` threads (librosa releases
the GIL), the model on the batcher's one thread.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from starlette.requests import Request

from src.core.errors import first_line
from src.features import CLIP_SAMPLES, warm_up
from src.inference.backends import run_all
from src.inference.tagging import Track, waveform_track
from src.serving.audio import decode_upload
from src.serving.batching import Batcher
from src.serving.limits import Admission, Limits, ServiceError
from src.serving.replies import ModelCard
from src.serving.uploads import Upload, receive_upload

log = logging.getLogger("fcn4")


@dataclass(frozen=True)
class Settings:
    """serve.py's choices: the limits, the batching, the decoder threads, the defaults of a request."""

    limits: Limits
    batch_size: int
    max_wait_s: float
    workers: int
    top_k: int
    hop_seconds: float
    upload_dir: str | None = None  # where the per-request temporary folders go (None: the system's)


class TaggingService:
    """The loaded model behind the routes, with its batcher, decoder threads and admission count."""

    def __init__(self, card: ModelCard, settings: Settings) -> None:
        self.card = card
        self.settings = settings
        backend = card.model.backend
        self.batcher = Batcher(
            lambda inputs: run_all(backend, inputs, card.batch_size), card.batch_size, settings.max_wait_s
        )
        self.decoder = ThreadPoolExecutor(settings.workers, thread_name_prefix="serve-decode")
        self.admission = Admission(settings.limits.max_queue)

    def warm_up(self) -> None:
        """Pay librosa's one-time set-up and the model's first call (graph compile, ONNX session) before the
        first request does."""
        warm_up()
        backend = self.card.model.backend
        silence = waveform_track(np.zeros(CLIP_SAMPLES, np.float32), self.settings.hop_seconds, backend.input_kind)
        run_all(backend, silence.inputs, self.card.batch_size)

    def start(self) -> None:
        self.batcher.start()

    def stop(self) -> None:
        """Score what is still queued, then stop the batcher and the decoder threads."""
        self.batcher.stop()
        self.decoder.shutdown(wait=True)

    @property
    def ready(self) -> bool:
        return self.batcher.alive and not self.admission.full

    async def score(self, request: Request, hop_s: float) -> tuple[Upload, Track]:
        """The request's upload and its scored Track (scores of the model's tags, or of the head's, and the
        model's embeddings when it has them); ServiceError for anything the request got wrong."""
        with self.admission.enter():
            upload, track = await self._decode(request, hop_s)
            try:
                pending = self.batcher.submit(track.inputs)
            except RuntimeError as exc:
                raise ServiceError(503, f"the model is not available: {exc}") from None
            try:
                probabilities, embedded = await asyncio.wrap_future(pending)
            except Exception as exc:  # noqa: BLE001 - the batcher logged it; the request gets one line
                raise ServiceError(500, f"the model call failed: {type(exc).__name__}: {first_line(exc)}") from None
        track.inputs = None
        track.embeddings = embedded
        track.scores = self.card.model.scores(probabilities, embedded).astype(np.float32)
        return upload, track

    async def _decode(self, request: Request, hop_s: float) -> tuple[Upload, Track]:
        """The upload, received into a temporary folder that is gone when this returns or raises, and decoded."""
        limits, input_kind = self.settings.limits, self.card.model.backend.input_kind
        with tempfile.TemporaryDirectory(prefix="fcn4-upload-", dir=self.settings.upload_dir) as folder:
            upload = await receive_upload(request, Path(folder), limits.max_upload_bytes)
            loop = asyncio.get_running_loop()
            track = await loop.run_in_executor(self.decoder, decode_upload, upload.path, hop_s, input_kind, limits)
        return upload, track
