"""Probes for ResNet (section 7.6): building a student's network with stand-ins for the
pieces that failed their own checks, loading the reference's weights into it, shapes
layer by layer, and the book's training loop."""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):  # the stand-in keeps the contract's names
    def __init__(self, in_channels, out_channels, use_1x1conv=False, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv3 = nn.Conv2d(in_channels, out_channels, 1, stride=stride) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, X):
        Y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(X)))))
        return F.relu(Y + (self.conv3(X) if self.conv3 is not None else X))


def _resnet_block(in_channels, out_channels, num_residuals, first_block=False):
    return nn.Sequential(
        *[
            Residual(in_channels, out_channels, use_1x1conv=True, stride=2)
            if i == 0 and not first_block
            else Residual(out_channels, out_channels)
            for i in range(num_residuals)
        ]
    )


STAND_INS = {"Residual": Residual, "resnet_block": _resnet_block}


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
