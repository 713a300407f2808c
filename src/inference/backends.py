"""One interface over the three things that can score log-mel batches: a checkpoint, a MindIR, an ONNX file.

Every backend maps (N, 1, 96, 1366) float32 features to (N, C) float32 tag probabilities.
Exported models have a fixed batch (the export's `export_batch_size`); `predict_all` pads the
last batch for them, so callers never see that. Nothing here imports MindSpore at module level,
and the ONNX backend never imports it at all, so tagging with ONNX Runtime works on machines
without MindSpore. Which file suffix opens with which backend is src.inference.formats' table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from src.errors import UserError, first_line
from src.features import FEATURE_SHAPE
from src.inference.bin_protocol import pad_batch

ONNX_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")  # a GPU when onnxruntime-gpu has one


class Backend:
    """A loaded model. `batch_size` is the fixed batch of an exported model, None for any batch."""

    kind = ""
    needs_mindspore = True  # open_backend sets MindSpore up (device, graph mode) before loading
    own_tags: list[str] | None = None  # tag names the model file itself records (a checkpoint's run info)

    def __init__(self, path: Path, batch_size: int | None, num_classes: int) -> None:
        self.path = path
        self.batch_size = batch_size
        self.num_classes = num_classes

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(B, 1, 96, 1366) float32 -> (B, C) float32; B must equal batch_size when that is set."""
        raise NotImplementedError

    def describe(self) -> str:
        batch = "any batch" if self.batch_size is None else f"batch {self.batch_size}"
        return f"{self.kind} {self.path} ({batch}, {self.num_classes} tags)"


def predict_all(backend: Backend, features: np.ndarray, batch_size: int) -> np.ndarray:
    """(N, 1, 96, 1366) -> (N, C) in batches; a fixed-batch backend's batch wins over `batch_size`."""
    step = backend.batch_size or batch_size
    scores = []
    for start in range(0, len(features), step):
        chunk = features[start : start + step]
        padded = pad_batch(chunk, step) if backend.batch_size else chunk
        scores.append(backend.predict(padded)[: len(chunk)])
    return np.concatenate(scores) if scores else np.zeros((0, backend.num_classes), np.float32)


def _check_input_shape(path: Path, shape: list) -> int | None:
    """The fixed batch of an exported model input `shape`, after checking it takes FCN-4 features."""
    if len(shape) != 4 or list(shape[1:]) != list(FEATURE_SHAPE):
        raise UserError(
            f"{path}: model input has shape {shape}, expected [batch, {', '.join(map(str, FEATURE_SHAPE))}]"
            f" (not an FCN-4 export)"
        )
    return shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None


class CheckpointBackend(Backend):
    """The MindSpore network rebuilt from a checkpoint, shaped and named by the run info it carries
    (else model_params.json beside it; src.model_loading)."""

    kind = "checkpoint"

    def __init__(self, path: Path) -> None:
        from src.model_loading import load_checkpoint_network

        self.network, self.own_tags = load_checkpoint_network(path)
        super().__init__(path, None, self.network.params.num_classes)

    def predict(self, features: np.ndarray) -> np.ndarray:
        import mindspore as ms

        return self.network(ms.Tensor(features)).asnumpy()


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
        graph = _mindir_graph(path)
        if len(graph.input) != 1 or len(graph.output) != 1:
            raise UserError(
                f"{path}: graph has {len(graph.input)} inputs and {len(graph.output)} outputs, FCN-4 has 1 and 1"
            )
        batch = _check_input_shape(path, list(graph.input[0].tensor[0].dims))
        super().__init__(path, batch, int(graph.output[0].tensor[0].dims[-1]))

    def predict(self, features: np.ndarray) -> np.ndarray:
        import mindspore as ms

        return self.cell(ms.Tensor(features)).asnumpy()


def _mindir_graph(path: Path):
    """The graph proto of a MindIR file: its input and output shapes, which GraphCell does not expose.

    Parsed with the file format's own protobuf schema, as the deprecated `mindspore.load_mindir` does.
    """
    from mindspore.train.mind_ir_pb2 import ModelProto

    model = ModelProto()
    model.ParseFromString(path.read_bytes())
    return model.graph


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
        if len(inputs) != 1 or len(outputs) != 1:
            raise UserError(f"{path}: model has {len(inputs)} inputs and {len(outputs)} outputs, FCN-4 has 1 and 1")
        self.input_name = inputs[0].name
        batch = _check_input_shape(path, list(inputs[0].shape))
        super().__init__(path, batch, int(outputs[0].shape[-1]))

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: features})[0]
