"""Task 6.2 - Residual networks, ResNet (Dive into Deep Learning, section 7.6).

A residual block learns the *difference* f(x) - x rather than f(x) itself: its output is
``relu(g(x) + x)``, where ``g`` is two 3x3 convolutions with batch normalisation. When the
block changes the number of channels or the resolution, a 1x1 convolution (with the same
stride) reshapes the shortcut ``x`` so that the two can be added. Stacking such blocks
gives ResNet-18, which trains well although it is 18 layers deep.

Fill in every part marked ``# YOUR CODE HERE``. You may use ``nn.Conv2d``,
``nn.BatchNorm2d`` and the other layers of ``torch.nn``.
"""

from torch import nn
from torch.nn import functional as F


class Residual(nn.Module):
    """A residual block.

    Attributes (the names matter: they are the keys of ``state_dict()``):

    * ``conv1``: 3x3 convolution ``in_channels -> out_channels``, padding 1, stride ``stride``
    * ``bn1``: ``nn.BatchNorm2d(out_channels)``
    * ``conv2``: 3x3 convolution ``out_channels -> out_channels``, padding 1 (stride 1)
    * ``bn2``: ``nn.BatchNorm2d(out_channels)``
    * ``conv3``: when ``use_1x1conv``, a 1x1 convolution ``in_channels -> out_channels``
      with stride ``stride`` that reshapes the shortcut; otherwise ``None``.

    ``forward(X)`` is ``relu(bn2(conv2(relu(bn1(conv1(X))))) + shortcut)``, where the
    shortcut is ``conv3(X)`` or ``X`` itself. The addition comes *before* the last ReLU.
    """

    def __init__(self, in_channels, out_channels, use_1x1conv=False, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)
        else:
            self.conv3 = None
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        ### END SOLUTION

    def forward(self, X):
        ### BEGIN SOLUTION
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)
        ### END SOLUTION


def resnet_block(in_channels, out_channels, num_residuals, first_block=False):
    """``nn.Sequential`` of ``num_residuals`` ``Residual`` blocks.

    The first block of the sequence halves the height and width and changes the number
    of channels (``use_1x1conv=True, stride=2``) -- except when ``first_block`` is true:
    the first stage of ResNet follows a max-pool that already halved the resolution, and
    keeps the channels. Every other block maps ``out_channels`` to ``out_channels``.
    """
    ### BEGIN SOLUTION
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(in_channels, out_channels, use_1x1conv=True, stride=2))
        else:
            blk.append(Residual(out_channels, out_channels))
    return nn.Sequential(*blk)
    ### END SOLUTION


def resnet18(num_classes=10, in_channels=1):
    """ResNet-18 as in the book.

    ``Conv2d(in_channels, 64, 7, stride=2, padding=3)``, ``BatchNorm2d(64)``, ReLU,
    ``MaxPool2d(3, stride=2, padding=1)``; then the blocks ``resnet_block(64, 64, 2,
    first_block=True)``, ``(64, 128, 2)``, ``(128, 256, 2)``, ``(256, 512, 2)``; then
    ``AdaptiveAvgPool2d((1, 1))``, ``Flatten`` and ``Linear(512, num_classes)``.
    A ``(1, 1, 224, 224)`` image goes through as 64x56x56, 64x56x56, 128x28x28,
    256x14x14, 512x7x7, 512x1x1 and finally ``(1, num_classes)``.
    """
    ### BEGIN SOLUTION
    b1 = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    b2 = resnet_block(64, 64, 2, first_block=True)
    b3 = resnet_block(64, 128, 2)
    b4 = resnet_block(128, 256, 2)
    b5 = resnet_block(256, 512, 2)
    return nn.Sequential(b1, b2, b3, b4, b5, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, num_classes))
    ### END SOLUTION
