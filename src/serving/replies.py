"""The JSON bodies of the service's replies: the model, a tagged track, a track's embeddings.

A tagged track has the keys of a track in tag.py's JSON report (src.inference.tag_report.track_json:
top, mean, max, window_starts_s, taggram, and with thresholds `passing`), plus `decisions` (every tag's
yes/no) when the model has thresholds, and the model's name and version (the sha256 of its file).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.evaluation.thresholds import decide
from src.features import CLIP_SECONDS
from src.inference.tag_report import track_json
from src.inference.tagging import Track
from src.inference.tagging_model import Decisions, TaggingModel
from src.serving.limits import Limits
from src.serving.uploads import Upload

VERSION_CHARS = 12  # of the model file's sha256 in `version`


@dataclass(frozen=True)
class ModelCard:
    """What every reply says about the model, and GET /v1/model says in full."""

    model: TaggingModel
    decisions: Decisions | None
    sha256: str
    batch_size: int

    @property
    def identity(self) -> dict:
        return {"name": self.model.path.name, "version": self.sha256[:VERSION_CHARS]}

    def describe(self, limits: Limits, hop_s: float, max_wait_s: float) -> dict:
        backend, head = self.model.backend, self.model.head
        thresholds = None
        if self.decisions is not None:
            thresholds = {"rule": self.decisions.description, "thresholds": self.decisions.thresholds}
        return {
            **self.identity,
            "sha256": self.sha256,
            "backend": backend.kind,
            "description": backend.describe(),
            "input_kind": backend.input_kind,
            "input_shape": list(backend.input_shape),
            "tags": self.model.tags,
            "embedding_size": backend.embedding_size,
            "head": None if head is None else {"tags": len(head.tags), "embedding_size": head.embedding_size},
            "thresholds_present": self.decisions is not None,
            "thresholds": thresholds,
            "window_seconds": CLIP_SECONDS,
            "hop_seconds": hop_s,
            "batch_size": self.batch_size,
            "max_wait_ms": round(max_wait_s * 1000, 3),
            "limits": {
                "max_upload_mb": limits.max_upload_bytes / 2**20,
                "max_seconds": limits.max_seconds,
                "max_windows": limits.max_windows,
                "max_queue": limits.max_queue,
            },
        }


def tag_reply(card: ModelCard, upload: Upload, track: Track, hop_s: float, top_k: int, aggregate: str) -> dict:
    """POST /v1/tag's body for a scored track."""
    decisions = card.decisions
    thresholds, sources = (None, None) if decisions is None else (decisions.thresholds, decisions.sources)
    reply = {
        "model": card.identity,
        **_about(upload, track, hop_s),
        "aggregate": aggregate,
        "tags": card.model.tags,
        **track_json(track, card.model.tags, top_k, aggregate, thresholds, sources),
    }
    if decisions is not None:
        yes = decide(track.aggregate(aggregate)[np.newaxis], decisions.thresholds)[0]
        reply["decisions"] = {
            "rule": decisions.description,
            "yes": {tag: bool(flag) for tag, flag in zip(card.model.tags, yes, strict=True)},
        }
    return reply


def embed_reply(card: ModelCard, upload: Upload, track: Track, hop_s: float) -> dict:
    """POST /v1/embed's body: the (windows, D) embeddings and their (D,) mean."""
    return {
        "model": card.identity,
        **_about(upload, track, hop_s),
        "window_starts_s": [round(float(s), 3) for s in track.starts_s],
        "embedding_size": int(track.embeddings.shape[1]),
        "windows": track.embeddings.tolist(),
        "mean": track.embeddings.mean(axis=0).tolist(),
    }


def _about(upload: Upload, track: Track, hop_s: float) -> dict:
    return {
        "file": {"name": upload.filename, "bytes": upload.size},
        "duration_s": round(track.duration_s, 3),
        "window_seconds": CLIP_SECONDS,
        "hop_seconds": hop_s,
    }
