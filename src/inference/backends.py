"""One interface over the three things that can score audio windows: a checkpoint, a MindIR, an ONNX file.

Every backend maps (N, *input_shape) float32 model inputs to (N, C) float32 tag probabilities and, when
the model has it, the (N, D) embedding before the dense layer (a checkpoint always; an export made since
exports gained it as output 1; an older one-output export has none: `embedding_size` None). A
model takes one of two inputs (INPUT_SHAPES), told apart by the shape of its input: log-mel
features (N, 1, 96, 1366), or raw 12 kHz samples (N, 349440) for an export whose log-mel front
end runs inside the graph; a checkpoint is always log-mel.
Exported models have a fixed batch (the export's `export_batch_size`); `predict_all` pads the
last batch for them, so callers never see that. Nothing here imports MindSpore at module level,
and the ONNX backend never imports it at all, so tagging with ONNX Runtime works on machines
without MindSpore. Which file suffix opens with which backend is src.inference.formats' table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from src.core.errors import UserError, first_line
from src.features import CLIP_SAMPLES, FEATURE_SHAPE
from src.inference.bin_protocol import pad_batch

ONNX_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")  # a GPU when onnxruntime-gpu has one
# Input kind -> the shape of one model input (no batch): the export_input config key's choices.
INPUT_SHAPES: dict[str, tuple[int, ...]] = {"logmel": FEATURE_SHAPE, "waveform": (CLIP_SAMPLES,)}


class Backend:
    """A loaded model. `batch_size` is the fixed batch of an exported model, None for any batch;
    `input_kind` a key of INPUT_SHAPES."""

    kind = ""
    needs_mindspore = True  # open_backend sets MindSpore's device (and the mode when asked) before loading
    own_tags: list[str] | None = None  # tag names the model file itself records (a checkpoint's run info)

    def __init__(
        self,
        path: Path,
        batch_size: int | None,
        num_classes: int,
        input_kind: str = "logmel",
        embedding_size: int | None = None,
    ) -> None:
        self.path = path
        self.batch_size = batch_size
        self.num_classes = num_classes
        self.input_kind = input_kind
        self.embedding_size = embedding_size

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one model input, without the batch: (1, 96, 1366) or (349440,)."""
        return INPUT_SHAPES[self.input_kind]

    def run(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(B, *input_shape) float32 -> ((B, C) probabilities, (B, D) embeddings or None when the model has
        none); B must equal batch_size when that is set."""
        raise NotImplementedError

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """(B, *input_shape) float32 -> (B, C) float32 probabilities (output 0); B as for run."""
        return self.run(inputs)[0]

    def close(self) -> None:
        """Release what the model holds outside this process (the Lite backend's app); a no-op elsewhere."""

    def describe(self) -> str:
        batch = "any batch" if self.batch_size is None else f"batch {self.batch_size}"
        embedding = f", {self.embedding_size}-d embedding" if self.embedding_size else ""
        return f"{self.kind} {self.path} ({batch}, {self.input_kind} input, {self.num_classes} tags{embedding})"


def run_all(backend: Backend, inputs: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, *input_shape) -> ((N, C), (N, D) or None) in batches; a fixed-batch backend's batch wins over
    `batch_size`, and its last batch is padded."""
    step = backend.batch_size or batch_size
    scores = [np.zeros((0, backend.num_classes), np.float32)]
    embeddings = [np.zeros((0, backend.embedding_size or 0), np.float32)]
    for start in range(0, len(inputs), step):
        chunk = inputs[start : start + step]
        padded = pad_batch(chunk, step) if backend.batch_size else chunk
        probabilities, embedding = backend.run(padded)
        scores.append(probabilities[: len(chunk)])
        if embedding is not None:
            embeddings.append(embedding[: len(chunk)])
    embedded = np.concatenate(embeddings) if backend.embedding_size else None
    return np.concatenate(scores), embedded


def predict_all(backend: Backend, inputs: np.ndarray, batch_size: int) -> np.ndarray:
    """(N, *input_shape) -> (N, C) probabilities in batches, as run_all."""
    return run_all(backend, inputs, batch_size)[0]


def embedding_output_size(path: Path, outputs: list[list]) -> int | None:
    """The embedding width of an export whose output shapes are `outputs` (batch first): None for an
    export from before embeddings (one output); UserError for any other output layout."""
    if len(outputs) == 1:
        return None
    if len(outputs) != 2 or len(outputs[1]) != 2 or not isinstance(outputs[1][-1], int):
        raise UserError(
            f"{path}: model outputs have shapes {outputs}, FCN-4 has [batch, tags] and optionally [batch, embedding]"
        )
    return int(outputs[1][-1])


def require_embeddings(backend: Backend, why: str) -> int:
    """The backend's embedding width; UserError when the model has no embedding output (`why` names the option)."""
    if backend.embedding_size is None:
        raise UserError(
            f"{backend.path}: this {backend.kind} export has no embedding output (exported before embeddings "
            f"existed), so {why} cannot be used; export it again with export.py, or use its checkpoint"
        )
    return backend.embedding_size


def check_input_shape(path: Path, shape: list) -> tuple[int | None, str]:
    """(the fixed batch or None, the input kind) of an exported model's input `shape`, after checking
    that it is one of INPUT_SHAPES with a batch in front."""
    kinds = [kind for kind, item in INPUT_SHAPES.items() if list(shape[1:]) == list(item)]
    if not kinds:
        expected = " or ".join(f"[batch, {', '.join(map(str, item))}] ({kind})" for kind, item in INPUT_SHAPES.items())
        raise UserError(f"{path}: model input has shape {shape}, expected {expected} (not an FCN-4 export)")
    batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
    return batch, kinds[0]


class CheckpointBackend(Backend):
    """The MindSpore network rebuilt from a checkpoint, shaped and named by the run info it carries
    (else model_params.json beside it; src.model.loading); it takes log-mel features."""

    kind = "checkpoint"

    def __init__(self, path: Path) -> None:
        from src.inference.with_embedding import TagsAndEmbedding
        from src.model.loading import load_checkpoint_network

        self.network, self.own_tags = load_checkpoint_network(path)
        self.cell = TagsAndEmbedding(self.network)
        self.cell.set_train(False)
        params = self.network.params
        super().__init__(path, None, params.num_classes, embedding_size=params.channels[-1])

    def run(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import mindspore as ms

        probabilities, embedding = self.cell(ms.Tensor(features))
        return probabilities.asnumpy(), embedding.asnumpy()


class MindIRBackend(Backend):
    """An exported MindIR run through `mindspore.load` + `nn.GraphCell` on the device set up before."""

    kind = "MindIR"

    def __init__(self, path: Path) -> None:
        import mindspore as ms
        import mindspore.nn as nn

        if not path.is_file():
            raise UserError(f"MindIR {path} does not exist")
        try:
            self.cell = nn.GraphCell(ms.load(str(path)))
        except (RuntimeError, ValueError, TypeError) as exc:
            raise UserError(f"{path}: not a loadable MindIR ({first_line(exc)})") from None
        graph = mindir_graph(path)
        outputs = _mindir_output_shapes(graph)
        if len(graph.input) != 1 or len(outputs) not in (1, 2):
            raise UserError(
                f"{path}: graph has {len(graph.input)} inputs and {len(outputs)} outputs, FCN-4 has 1 and 1 or 2"
            )
        batch, input_kind = check_input_shape(path, list(graph.input[0].tensor[0].dims))
        embedding = embedding_output_size(path, outputs)
        super().__init__(path, batch, int(outputs[0][-1]), input_kind, embedding)

    def run(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        import mindspore as ms

        outputs = self.cell(ms.Tensor(inputs))
        if self.embedding_size is None:
            return outputs.asnumpy(), None
        return outputs[0].asnumpy(), outputs[1].asnumpy()


def mindir_graph(path: Path):
    """The graph proto of a MindIR file: its input and output shapes, which GraphCell does not expose.

    Parsed with the file format's own protobuf schema, as the deprecated `mindspore.load_mindir` does.
    """
    from mindspore.train.mind_ir_pb2 import ModelProto

    model = ModelProto()
    model.ParseFromString(path.read_bytes())
    return model.graph


def _mindir_output_shapes(graph) -> list[list[int]]:
    """The shape of each output of a MindIR graph: a graph of several outputs has one tuple output."""
    shapes = []
    for output in graph.output:
        if output.tensor:
            shapes.append(list(output.tensor[0].dims))
        else:
            shapes += [list(value.tensors[0].dims) for value in output.attr_info.values if value.tensors]
    return shapes


class OnnxBackend(Backend):
    """An exported ONNX model run by ONNX Runtime; MindSpore is not imported."""

    kind = "ONNX"
    needs_mindspore = False

    def __init__(self, path: Path) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError(
                f"{path}: ONNX models need the onnxruntime package (pip install -r requirements.txt)"
            ) from None
        if not path.is_file():
            raise UserError(f"ONNX model {path} does not exist")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its graph-optimizer notes are not the user's business
        try:
            providers = [p for p in ONNX_PROVIDERS if p in ort.get_available_providers()]
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types for a bad file
            raise UserError(f"{path}: not a loadable ONNX model ({first_line(exc)})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) not in (1, 2):
            raise UserError(
                f"{path}: model has {len(inputs)} inputs and {len(outputs)} outputs, FCN-4 has 1 and 1 or 2"
            )
        self.input_name = inputs[0].name
        batch, input_kind = check_input_shape(path, list(inputs[0].shape))
        embedding = embedding_output_size(path, [list(output.shape) for output in outputs])
        super().__init__(path, batch, int(outputs[0].shape[-1]), input_kind, embedding)

    def run(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        outputs = self.session.run(None, {self.input_name: inputs})
        return outputs[0], (outputs[1] if self.embedding_size else None)
