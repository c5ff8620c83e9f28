"""Probes for DenseNet (section 7.7): building a student's network with stand-ins for the
pieces that failed their own checks, loading the reference's weights into it, shapes
layer by layer, and the book's training loop."""

from __future__ import annotations

import torch
from torch import nn


def _conv_block(in_channels, out_channels):
    return nn.Sequential(
        nn.BatchNorm2d(in_channels), nn.ReLU(), nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
    )


class DenseBlock(nn.Module):  # the stand-in keeps the contract's names
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.net = nn.Sequential(*[_conv_block(in_channels + i * out_channels, out_channels) for i in range(num_convs)])
        self.out_channels = in_channels + num_convs * out_channels

    def forward(self, X):
        for blk in self.net:
            X = torch.cat((X, blk(X)), dim=1)
        return X


def _transition_block(in_channels, out_channels):
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=1),
        nn.AvgPool2d(kernel_size=2, stride=2),
    )


STAND_INS = {"conv_block": _conv_block, "DenseBlock": DenseBlock, "transition_block": _transition_block}


from .networks import (  # noqa: F401, E402 - probes are looked up by name here
    _MISSING,
    _build,
    _images,
    _train,
    _train_loop,
    attribute,
    forward,
    load,
    patched,
    set_mode,
    shapes,
    train_network,
)


def build(student, stub, use, args=(), kwargs=None, seed=0):
    """``student.<stub>(*args, **kwargs)``, with stand-ins for the pieces not in ``use``."""
    return _build(student, STAND_INS, {}, stub, use, args, kwargs or {}, seed)


def train(student, stub, use, seed, train_x, train_y, test_x, test_y, **settings):
    """Build ``student.<stub>()`` and train it (see batch_norm.train_network)."""
    return _train(student, STAND_INS, {}, stub, use, seed, (train_x, train_y, test_x, test_y), settings)
