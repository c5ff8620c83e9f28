"""Variants of the DenseNet stubs."""

from .harness import Variant

NO_TRAINING = {"training": False}


def _densenet(
    transition: str = "transition_block(num_channels, num_channels // 2)",
    halve: str = "num_channels // 2",
    last: str = "i != len(num_convs_in_dense_blocks) - 1",
    freeze: bool = False,
    head: str = "nn.BatchNorm2d(num_channels), nn.ReLU(),\n        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),",
) -> str:
    return f"""
def densenet(num_classes=10, in_channels=1, growth_rate=32,
             num_convs_in_dense_blocks=(4, 4, 4, 4)):
    b1 = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    num_channels = 64
    blks = []
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        blks.append(DenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate
        if {last}:
            blks.append({transition})
            num_channels = {halve}
    net = nn.Sequential(
        b1, *blks,
        {head}
        nn.Linear(num_channels, num_classes))
    return {"net.requires_grad_(False)" if freeze else "net"}
"""


WRONG = [
    Variant(
        "conv_block",
        "the convolution first (ResNet's order)",
        """
def conv_block(in_channels, out_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels), nn.ReLU())
""",
        expect="BEFORE the convolution",
    ),
    Variant(
        "conv_block",
        "no padding",
        """
def conv_block(in_channels, out_channels):
    return nn.Sequential(
        nn.BatchNorm2d(in_channels), nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=3))
""",
        expect="expected shape (2, 7, 5, 5), got (2, 7, 3, 3)",
    ),
    Variant(
        "DenseBlock",
        "concatenates in the wrong order",
        """
class DenseBlock(nn.Module):
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.net = nn.Sequential(*[conv_block(in_channels + i * out_channels, out_channels)
                                   for i in range(num_convs)])
        self.out_channels = in_channels + num_convs * out_channels

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = torch.cat((Y, X), dim=1)
        return X
""",
        expect="concatenation in the wrong order",
    ),
    Variant(
        "DenseBlock",
        "returns the last block's output only",
        """
class DenseBlock(nn.Module):
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.net = nn.Sequential(*[conv_block(in_channels + i * out_channels, out_channels)
                                   for i in range(num_convs)])
        self.out_channels = in_channels + num_convs * out_channels

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = torch.cat((X, Y), dim=1)
        return Y
""",
        expect="only the last block's output",
    ),
    Variant(
        "DenseBlock",
        "out_channels left as the growth rate",
        """
class DenseBlock(nn.Module):
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.net = nn.Sequential(*[conv_block(in_channels + i * out_channels, out_channels)
                                   for i in range(num_convs)])
        self.out_channels = out_channels

    def forward(self, X):
        for blk in self.net:
            X = torch.cat((X, blk(X)), dim=1)
        return X
""",
        expect="out_channels is 10",
    ),
    Variant(
        "DenseBlock",
        "every conv block built for in_channels",
        """
class DenseBlock(nn.Module):
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.net = nn.Sequential(*[conv_block(in_channels, out_channels)
                                   for i in range(num_convs)])
        self.out_channels = in_channels + num_convs * out_channels

    def forward(self, X):
        for blk in self.net:
            X = torch.cat((X, blk(X)), dim=1)
        return X
""",
        expect="in_channels + i * out_channels",
    ),
    Variant(
        "transition_block",
        "a transition with max pooling",
        """
def transition_block(in_channels, out_channels):
    return nn.Sequential(
        nn.BatchNorm2d(in_channels), nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=1),
        nn.MaxPool2d(kernel_size=2, stride=2))
""",
        expect="with max pooling",
    ),
    Variant(
        "transition_block",
        "a 3x3 convolution",
        """
def transition_block(in_channels, out_channels):
    return nn.Sequential(
        nn.BatchNorm2d(in_channels), nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.AvgPool2d(kernel_size=2, stride=2))
""",
        expect="do not fit",
    ),
    Variant(
        "densenet",
        "no channel halving",
        _densenet(transition="transition_block(num_channels, num_channels)", halve="num_channels"),
        expect="no channel halving",
        options=NO_TRAINING,
    ),
    Variant(
        "densenet",
        "a transition after the last dense block too",
        _densenet(last="True"),
        expect="Linear layer should see (1, 248)",
        options=NO_TRAINING,
    ),
    Variant(
        "densenet",
        "global pooling before the last ReLU",
        _densenet(head="nn.BatchNorm2d(num_channels), nn.AdaptiveAvgPool2d((1, 1)),\n        nn.ReLU(), nn.Flatten(),"),
        expect="the output of densenet in evaluation mode",
        options=NO_TRAINING,
    ),
    # A broken network must fail the training threshold, not only the unit checks.
    Variant("densenet", "a frozen network", _densenet(freeze=True), expect="did not learn"),
]

RIGHT = [
    Variant(
        "conv_block",
        "layers added by name",
        """
def conv_block(in_channels, out_channels):
    blk = nn.Sequential()
    blk.add_module("norm", nn.BatchNorm2d(in_channels))
    blk.add_module("act", nn.ReLU(inplace=True))
    blk.add_module("conv", nn.Conv2d(in_channels, out_channels, (3, 3), padding=(1, 1)))
    return blk
""",
    ),
    Variant(
        "DenseBlock",
        "a ModuleList and a list concatenation",
        """
class DenseBlock(nn.Module):
    def __init__(self, num_convs, in_channels, out_channels):
        super().__init__()
        self.blocks = nn.ModuleList()
        channels = in_channels
        for _ in range(num_convs):
            self.blocks.append(conv_block(channels, out_channels))
            channels += out_channels
        self.out_channels = channels

    def forward(self, X):
        features = [X]
        for blk in self.blocks:
            features.append(blk(torch.cat(features, 1)))
        return torch.cat(features, 1)
""",
    ),
    Variant(
        "transition_block",
        "AvgPool2d(2)",
        """
def transition_block(in_channels, out_channels):
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, 1), nn.AvgPool2d(2))
""",
    ),
    Variant(
        "densenet",
        "blocks added to one Sequential as it grows",
        """
def densenet(num_classes=10, in_channels=1, growth_rate=32,
             num_convs_in_dense_blocks=(4, 4, 4, 4)):
    net = nn.Sequential(nn.Conv2d(in_channels, 64, 7, 2, 3), nn.BatchNorm2d(64), nn.ReLU(),
                        nn.MaxPool2d(3, 2, 1))
    channels = 64
    last = len(num_convs_in_dense_blocks) - 1
    for i, n in enumerate(num_convs_in_dense_blocks):
        block = DenseBlock(n, channels, growth_rate)
        net.append(block)
        channels = block.out_channels
        if i < last:
            net.append(transition_block(channels, channels // 2))
            channels //= 2
    for layer in (nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                  nn.Linear(channels, num_classes)):
        net.append(layer)
    return net
""",
        options=NO_TRAINING,
    ),
]
