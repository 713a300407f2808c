"""The network with its embedding as a second output, as it is exported and run from a checkpoint.

Output 0 stays the (N, C) probabilities (the 310 protocol, postprocess.py and older readers take
output 0 only); output 1 is the (N, D) embedding the dense layer classifies (MusicTaggerCNN.embed).
"""

from __future__ import annotations

import mindspore.nn as nn
import mindspore.ops as ops


class TagsAndEmbedding(nn.Cell):
    """(probabilities, embedding) of a log-mel network, or of a waveform when `frontend` (a LogMelFrontEnd) is given.

    Inputs: (N, *input shape) float32. Outputs: (N, num_classes) and (N, channels[4]) float32.
    `params` is the wrapped network's ModelParams.
    """

    def __init__(self, network: nn.Cell, frontend: nn.Cell | None = None) -> None:
        super().__init__()
        self.network = network
        self.frontend = frontend
        self.params = network.params
        # MindSpore 2.10's ONNX export renames a node's output that is also a graph output, leaving the dense
        # layer reading a name no node writes (ONNX Runtime refuses the file); a copy as output 1 avoids that.
        self.copy = ops.Identity()

    def construct(self, x):
        if self.frontend is not None:
            x = self.frontend(x)
        embedding = self.network.embed(x)
        return self.network.classify(embedding), self.copy(embedding)
