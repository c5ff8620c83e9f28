"""A known wrong DenseBlock, written from the reference's forward pass with one change
(instructor-only: never shipped in a student pack; its values are in the answer key).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def dense_reversed(net, X, train):
    """The DenseBlock ``net`` (the reference's, with its weights) concatenating (Y, X)
    instead of (X, Y)."""
    for blk in net.net:
        bn, conv = blk[0], blk[2]
        # The running statistics are cloned so that a training-mode pass leaves them as drawn.
        Y = F.conv2d(
            F.relu(
                F.batch_norm(
                    X, bn.running_mean.clone(), bn.running_var.clone(), bn.weight, bn.bias, training=train, eps=bn.eps
                )
            ),
            conv.weight,
            conv.bias,
            padding=1,
        )
        X = torch.cat((Y, X), dim=1)
    return X
