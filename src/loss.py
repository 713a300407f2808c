"""Binary cross-entropy on the sigmoid outputs, the reference FCN-4 loss.

May import: (nothing in src)
"""

from __future__ import annotations

import mindspore as ms
import mindspore.nn as nn
import mindspore.ops as ops


class BCELoss(nn.Cell):
    """Mean BCE over samples and tags; casts to float32 so mixed precision keeps a float32 loss.

    Inputs: probabilities (N, C), labels (N, C) of 0/1. Output: scalar float32.
    """

    def __init__(self) -> None:
        super().__init__()
        self.bce = ops.BinaryCrossEntropy(reduction="mean")

    def construct(self, probs, labels):
        return self.bce(ops.cast(probs, ms.float32), ops.cast(labels, ms.float32), None)
