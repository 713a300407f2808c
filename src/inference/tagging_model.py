"""The model a tagging command works with: the backend, its tag names, an optional trained head, and the
per-tag thresholds that turn probabilities into yes/no decisions.

tag.py and the tagging service (serve.py, src.serving) both open their model here, so a model file
gets the same tag names, the same head checks and the same thresholds whichever of them runs it.
Nothing here imports MindSpore (an ONNX model is run by ONNX Runtime alone).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.core.file_names import thresholds_file
from src.heads.linear import LinearHead
from src.inference.backends import Backend
from src.inference.runtimes import AUTO, BACKEND_CHOICES, RUNTIMES


@dataclass(frozen=True)
class TaggingModel:
    """A loaded model ready to tag: `tags` are the head's when there is one, else the model's (label order);
    `runtime` says which runtime runs it and why (src.inference.runtimes)."""

    path: Path
    backend: Backend
    tags: list[str]
    head: LinearHead | None = None
    runtime: str = ""

    def scores(self, probabilities: np.ndarray, embeddings: np.ndarray | None) -> np.ndarray:
        """(windows, C) probabilities of `tags`: the head's on the (windows, D) embeddings, else the model's."""
        return self.head.predict(embeddings) if self.head else probabilities


@dataclass(frozen=True)
class Decisions:
    """Per-tag thresholds (None: the tag is never given) and, per tag, how each was chosen (PER_TAG or
    POOLED); `description` says where they come from, in words."""

    thresholds: list[float | None]
    sources: list[str]
    description: str


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--tags_file, --backend, --device_target and --mode: how tag.py and serve.py open a model."""
    from src.core.runtime import MODES  # the mode names only: src.core.runtime imports MindSpore inside its functions

    parser.add_argument(
        "--tags_file", default="", help="tag names, one per line, label 0 first (default: found beside the model)"
    )
    parser.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default=AUTO,
        help="runtime of a checkpoint (or zoo): auto (default) picks the fastest exact one installed, "
        f"{', '.join(f'{name} ({runtime.label})' for name, runtime in RUNTIMES.items())}; auto compiles the "
        "checkpoint once into that format, checked against it, and caches it. An exported file runs on its own",
    )
    parser.add_argument(
        "--device_target",
        choices=("auto", "Ascend", "GPU", "CPU"),
        default="auto",
        help="device of a checkpoint or MindIR model (ONNX uses ONNX Runtime's)",
    )
    parser.add_argument(
        "--mode",
        choices=tuple(MODES),
        default="graph",
        help="MindSpore execution mode of a checkpoint or MindIR model: graph (default) or pynative "
        "(op by op, slower; for debugging)",
    )


def open_tagging_model(
    model: str | os.PathLike,
    device_target: str = "auto",
    mode: str | None = None,
    tags_file: str = "",
    head: str = "",
    backend: str = AUTO,
) -> TaggingModel:
    """Open `model` (a .ckpt, .mindir, .onnx or .mslite file; `zoo` must already be resolved) on `backend`
    (src.inference.runtimes: auto is the fastest exact runtime installed) with its tag names
    (src.core.tag_list.resolve_tags: `tags_file`, else found beside the model) or, given `head` (a .npz that
    train_head.py fitted), that head's tags; a model without embeddings is refused for a head."""
    from src.core.tag_list import resolve_tags
    from src.inference.runtimes import open_runtime

    path = Path(model)
    loaded_backend, runtime = open_runtime(path, backend, device_target, mode)
    try:
        loaded = _open_head(head, loaded_backend, str(model)) if head else None
        own = loaded_backend.own_tags
        tags = loaded.tags if loaded else resolve_tags(path, loaded_backend.num_classes, tags_file, own=own)
    except Exception:
        loaded_backend.close()
        raise
    return TaggingModel(path, loaded_backend, tags, loaded, runtime)


def _open_head(path: str, backend: Backend, model: str) -> LinearHead:
    from src.heads.linear import check_fits, load_head
    from src.inference.backends import require_embeddings

    head = load_head(path)
    check_fits(head, require_embeddings(backend, "--head"), model)
    return head


def find_decisions(model: TaggingModel, given: str = "", required: bool = True) -> Decisions | None:
    """The thresholds to decide with: `given` (a thresholds file, --thresholds), else a head's own (chosen on
    val by train_head.py), else those eval.py saved beside the model; each checked against the tags (and a
    checkpoint's sha256). Not `required`: None when none of the three exists, instead of a UserError."""
    from src.evaluation.decisions import for_tagging

    if model.head and not given:
        head = model.head
        description = f"the head's: {head.describe_thresholds()}"
        return Decisions(head.decision_thresholds(), head.threshold_sources(), description)
    if not (given or required or thresholds_file(model.path.parent, model.path).is_file()):
        return None
    found = for_tagging(model.path, given, model.tags)
    return Decisions(found.thresholds, found.tag_sources(), found.describe())
