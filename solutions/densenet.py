"""Task 6.3 - Densely connected networks, DenseNet (Dive into Deep Learning, section 7.7).

Where ResNet *adds* a block's input to its output, DenseNet *concatenates* them on the
channel axis, so every layer sees the feature maps of all the layers before it. A dense
block of ``num_convs`` convolution blocks with ``out_channels`` each (the growth rate)
turns ``c`` channels into ``c + num_convs * out_channels``; transition layers between
dense blocks keep that growth in check by shrinking the channels with a 1x1 convolution
and halving the height and width with average pooling.

Fill in every part marked ``# YOUR CODE HERE``. You may use the layers of ``torch.nn``.
"""

import torch
from torch import nn


def conv_block(in_channels, out_channels):
    """The "batch norm, activation, convolution" block of DenseNet:
    ``nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
    nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))``.
    """
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.BatchNorm2d(in_channels), nn.ReLU(), nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
    )
    ### END SOLUTION


class DenseBlock(nn.Module):
    """``num_convs`` conv blocks, the i-th (from 0) taking ``in_channels + i * out_channels``
    channels and producing ``out_channels``.

    ``forward`` runs them in turn, each time concatenating the block's output to its
    input on the channel axis -- input first, ``torch.cat((X, Y), dim=1)`` -- so that
    ``X`` grows by ``out_channels`` per block. Set the attribute ``self.out_channels`` to
    the number of channels that come out, ``in_channels + num_convs * out_channels``.
    """

    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        ### BEGIN SOLUTION
        layer = []
        for i in range(num_convs):
            layer.append(conv_block(in_channels + i * out_channels, out_channels))
        self.net = nn.Sequential(*layer)
        self.out_channels = in_channels + num_convs * out_channels
        ### END SOLUTION

    def forward(self, X):
        ### BEGIN SOLUTION
        for blk in self.net:
            Y = blk(X)
            # Concatenate the input and the output of each block on the channel axis.
            X = torch.cat((X, Y), dim=1)
        return X
        ### END SOLUTION


def transition_block(in_channels, out_channels):
    """A transition layer: ``nn.BatchNorm2d(in_channels)``, ReLU, a 1x1 convolution to
    ``out_channels`` (which shrinks the channels), and ``nn.AvgPool2d(kernel_size=2,
    stride=2)`` (which halves the height and width), in one ``nn.Sequential``.
    """
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=1),
        nn.AvgPool2d(kernel_size=2, stride=2),
    )
    ### END SOLUTION


def densenet(num_classes=10, in_channels=1, growth_rate=32, num_convs_in_dense_blocks=(4, 4, 4, 4)):
    """DenseNet as in the book.

    The same first module as ResNet (``Conv2d(in_channels, 64, 7, stride=2, padding=3)``,
    ``BatchNorm2d(64)``, ReLU, ``MaxPool2d(3, stride=2, padding=1)``); then, for each
    entry of ``num_convs_in_dense_blocks``, a ``DenseBlock`` with that many conv blocks
    and ``growth_rate`` channels each, followed -- except after the last one -- by a
    ``transition_block`` that halves the number of channels (``num_channels // 2``);
    then ``BatchNorm2d``, ReLU, ``AdaptiveAvgPool2d((1, 1))``, ``Flatten`` and a
    ``Linear`` layer to ``num_classes``. With the defaults the channels go 64, 192, 96,
    224, 112, 240, 120, 248.
    """
    ### BEGIN SOLUTION
    b1 = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    num_channels = 64  # the current number of channels
    blks = []
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        blks.append(DenseBlock(num_convs, num_channels, growth_rate))
        # The number of output channels of the previous dense block.
        num_channels += num_convs * growth_rate
        # Between dense blocks, a transition layer halves the number of channels.
        if i != len(num_convs_in_dense_blocks) - 1:
            blks.append(transition_block(num_channels, num_channels // 2))
            num_channels = num_channels // 2
    return nn.Sequential(
        b1,
        *blks,
        nn.BatchNorm2d(num_channels),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(num_channels, num_classes),
    )
    ### END SOLUTION
