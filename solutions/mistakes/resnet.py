"""Known wrong Residual blocks, written from the reference's forward pass with one change
each (instructor-only: never shipped in a student pack; their values are in the answer key).
"""

from __future__ import annotations

from torch.nn import functional as F

KINDS = (
    "stride on conv2",
    "ReLU before the addition",
    "ReLU before and after the addition",
    "no ReLU after the addition",
    "no shortcut",
    "bn2 after the addition",
    "no ReLU after bn1",
)


def _bn(mod, x, train):
    # The running statistics are cloned so that a training-mode pass leaves them as drawn.
    return F.batch_norm(
        x,
        mod.running_mean.clone(),
        mod.running_var.clone(),
        mod.weight,
        mod.bias,
        training=train,
        momentum=0.1,
        eps=mod.eps,
    )


def residual_variant(net, X, train, stride, kind):
    """The output of the Residual ``net`` (the reference's, with its weights) written
    wrong in the way ``kind`` names."""
    if kind not in KINDS:  # the right block is not a mistake
        raise ValueError(f"no known Residual mistake {kind!r}")
    s2 = stride if kind == "stride on conv2" else 1
    s1 = 1 if kind == "stride on conv2" else stride
    Y = _bn(net.bn1, F.conv2d(X, net.conv1.weight, net.conv1.bias, stride=s1, padding=1), train)
    if kind != "no ReLU after bn1":
        Y = F.relu(Y)
    Y = F.conv2d(Y, net.conv2.weight, net.conv2.bias, stride=s2, padding=1)
    shortcut = X if net.conv3 is None else F.conv2d(X, net.conv3.weight, net.conv3.bias, stride=stride)
    if kind == "bn2 after the addition":
        return F.relu(_bn(net.bn2, Y + shortcut, train))
    Y = _bn(net.bn2, Y, train)
    if kind == "ReLU before the addition":
        return F.relu(Y) + shortcut
    if kind == "ReLU before and after the addition":
        return F.relu(F.relu(Y) + shortcut)
    if kind == "no ReLU after the addition":
        return Y + shortcut
    if kind == "no shortcut":
        return F.relu(Y)
    return F.relu(Y + shortcut)  # the stride or the first ReLU was the change
