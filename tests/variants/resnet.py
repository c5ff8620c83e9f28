"""Variants of the ResNet stubs."""

from .harness import Variant

NO_TRAINING = {"training": False}


def _residual(
    init_extra: str = "",
    forward: str = "",
    conv1_stride: str = "stride",
    conv2_stride: str = "1",
    conv3_stride: str = "stride",
    bn2: bool = True,
) -> str:
    forward = (
        forward
        or """
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        return F.relu(Y + X)
"""
    )
    return f"""
class Residual(nn.Module):
    def __init__(self, in_channels, out_channels, use_1x1conv=False, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1,
                               stride={conv1_stride})
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1,
                               stride={conv2_stride})
        if use_1x1conv:
            self.conv3 = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride={conv3_stride})
        else:
            self.conv3 = None
        self.bn1 = nn.BatchNorm2d(out_channels)
        {"self.bn2 = nn.BatchNorm2d(out_channels)" if bn2 else ""}
{init_extra}
    def forward(self, X):
{forward}
"""


WRONG = [
    Variant(
        "Residual", "stride on conv2", _residual(conv1_stride="1", conv2_stride="stride"), expect="stride on conv2"
    ),
    Variant(
        "Residual",
        "ReLU before the addition",
        _residual(
            forward="""
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = F.relu(self.bn2(self.conv2(Y)))
        if self.conv3 is not None:
            X = self.conv3(X)
        return Y + X
"""
        ),
        expect="ReLU before the addition",
    ),
    Variant(
        "Residual",
        "missing bn2",
        _residual(
            bn2=False,
            forward="""
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.conv2(Y)
        if self.conv3 is not None:
            X = self.conv3(X)
        return F.relu(Y + X)
""",
        ),
        expect="missing bn",
    ),
    Variant(
        "Residual",
        "never adds the shortcut",
        _residual(
            forward="""
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        return F.relu(Y)
"""
        ),
        expect="never adds the shortcut",
    ),
    Variant(
        "Residual",
        "bn2 after the addition",
        _residual(
            forward="""
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.conv2(Y)
        if self.conv3 is not None:
            X = self.conv3(X)
        return F.relu(self.bn2(Y + X))
"""
        ),
        expect="bn2 after the addition",
    ),
    Variant("Residual", "1x1 conv without the stride", _residual(conv3_stride="1"), expect="conv3 has stride"),
    Variant(
        "resnet_block",
        "1x1 conv on the first block",
        """
def resnet_block(in_channels, out_channels, num_residuals, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0:
            blk.append(Residual(in_channels, out_channels, use_1x1conv=True, stride=2))
        else:
            blk.append(Residual(out_channels, out_channels))
    return nn.Sequential(*blk)
""",
        expect="1x1 convolution on the first block",
    ),
    Variant(
        "resnet_block",
        "a 1x1 conv in every Residual",
        """
def resnet_block(in_channels, out_channels, num_residuals, first_block=False):
    blk = []
    for i in range(num_residuals):
        if first_block:
            blk.append(Residual(out_channels, out_channels))
        elif i == 0:
            blk.append(Residual(in_channels, out_channels, use_1x1conv=True, stride=2))
        else:
            blk.append(Residual(out_channels, out_channels, use_1x1conv=True))
    return nn.Sequential(*blk)
""",
        expect="only the first one",
    ),
    Variant(
        "resnet_block",
        "no downsampling",
        """
def resnet_block(in_channels, out_channels, num_residuals, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(in_channels, out_channels, use_1x1conv=True))
        else:
            blk.append(Residual(out_channels, out_channels))
    return nn.Sequential(*blk)
""",
        expect="halve the height and width",
    ),
    Variant(
        "resnet18",
        "stem without the max-pool",
        """
def resnet18(num_classes=10, in_channels=1):
    b1 = nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
                       nn.BatchNorm2d(64), nn.ReLU())
    return nn.Sequential(b1, resnet_block(64, 64, 2, first_block=True),
                         resnet_block(64, 128, 2), resnet_block(128, 256, 2),
                         resnet_block(256, 512, 2), nn.AdaptiveAvgPool2d((1, 1)),
                         nn.Flatten(), nn.Linear(512, num_classes))
""",
        expect="the stem",
        options=NO_TRAINING,
    ),
    Variant(
        "resnet18",
        "first stage without first_block",
        """
def resnet18(num_classes=10, in_channels=1):
    b1 = nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
                       nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
    return nn.Sequential(b1, resnet_block(64, 64, 2),
                         resnet_block(64, 128, 2), resnet_block(128, 256, 2),
                         resnet_block(256, 512, 2), nn.AdaptiveAvgPool2d((1, 1)),
                         nn.Flatten(), nn.Linear(512, num_classes))
""",
        expect="Residual blocks' outputs",
        options=NO_TRAINING,
    ),
    Variant(
        "resnet18",
        "num_classes and in_channels ignored",
        """
def resnet18(num_classes=10, in_channels=1):
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
                       nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
    return nn.Sequential(b1, resnet_block(64, 64, 2, first_block=True),
                         resnet_block(64, 128, 2), resnet_block(128, 256, 2),
                         resnet_block(256, 512, 2), nn.AdaptiveAvgPool2d((1, 1)),
                         nn.Flatten(), nn.Linear(512, 10))
""",
        expect="pass in_channels to the first convolution",
        options=NO_TRAINING,
    ),
    # A broken network must fail the training threshold, not only the unit checks.
    Variant(
        "resnet18",
        "a frozen network",
        """
def resnet18(num_classes=10, in_channels=1):
    b1 = nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
                       nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
    net = nn.Sequential(b1, resnet_block(64, 64, 2, first_block=True),
                        resnet_block(64, 128, 2), resnet_block(128, 256, 2),
                        resnet_block(256, 512, 2), nn.AdaptiveAvgPool2d((1, 1)),
                        nn.Flatten(), nn.Linear(512, num_classes))
    return net.requires_grad_(False)
""",
        expect="did not learn",
    ),
]

RIGHT = [
    Variant(
        "Residual",
        "nn.ReLU modules, layers in forward order, a shortcut variable",
        """
class Residual(nn.Module):
    def __init__(self, in_channels, out_channels, use_1x1conv=False, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv3 = nn.Conv2d(in_channels, out_channels, 1, stride) if use_1x1conv else None

    def forward(self, X):
        shortcut = X if self.conv3 is None else self.conv3(X)
        Y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(X)))))
        return self.relu(Y + shortcut)
""",
    ),
    Variant(
        "resnet_block",
        "list comprehension",
        """
def resnet_block(in_channels, out_channels, num_residuals, first_block=False):
    return nn.Sequential(*[
        Residual(in_channels, out_channels, use_1x1conv=True, stride=2)
        if i == 0 and not first_block else Residual(out_channels, out_channels)
        for i in range(num_residuals)])
""",
    ),
    Variant(
        "resnet18",
        "one flat nn.Sequential",
        """
def resnet18(num_classes=10, in_channels=1):
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        *resnet_block(64, 64, 2, first_block=True), *resnet_block(64, 128, 2),
        *resnet_block(128, 256, 2), *resnet_block(256, 512, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes))
""",
    ),
]
