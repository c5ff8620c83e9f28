"""Generic worker operations for the network checks (batch_norm, resnet, densenet):
building a student's network, loading the reference's weights into it, running it in a
mode, recording its shapes layer by layer, and the book's image training loop.

Stand-ins for the pieces that are not the student's are already in the student's module
when these run (the worker got them when it started), so nothing here patches anything.
The judge sends this file to a worker when a check first needs it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..records import LayerShape, Loaded, Shapes, TrainingRun


def build(student, stub, args=(), kwargs=None, seed=0):
    """``student.<stub>(*args, **kwargs)`` under ``seed``."""
    torch.manual_seed(int(seed))
    return getattr(student, stub)(*args, **(kwargs or {}))


def load(student, module, state, dtype=None):
    """Load ``state`` (the reference's state_dict) into ``module``.

    By name when the names agree; otherwise by position, tensor for tensor, when the
    shapes agree (the contract fixes the layers, not always how they are nested).
    Returns how it was loaded, or the first disagreement.
    """
    theirs = dict(state)
    like = next((v for v in theirs.values() if isinstance(v, torch.Tensor)), None)
    if like is not None:
        module.to(like.device)  # on a CUDA run the state arrives on the GPU
    if dtype is not None:
        module.to(getattr(torch, dtype))
    mine = module.state_dict()
    if list(mine) == list(theirs) or set(mine) == set(theirs):
        problems = [
            f"{k}: your {tuple(mine[k].shape)}, expected {tuple(theirs[k].shape)}"
            for k in theirs
            if tuple(mine[k].shape) != tuple(theirs[k].shape)
        ]
        if problems:
            return Loaded("failed", problems, list(mine), [list(v.shape) for v in mine.values()])
        module.load_state_dict(theirs, strict=True)
        return Loaded("names", [], list(mine))
    a, b = list(mine.items()), list(theirs.items())
    problems = []
    if len(a) != len(b):
        problems.append(f"{len(a)} tensors in your state_dict, {len(b)} expected")
    for i, ((ka, va), (kb, vb)) in enumerate(zip(a, b)):
        if tuple(va.shape) != tuple(vb.shape):
            problems.append(
                f"tensor {i}: your {ka} has shape {tuple(va.shape)} where the reference's {kb} has {tuple(vb.shape)}"
            )
            break
    missing = sorted(set(theirs) - set(mine))
    extra = sorted(set(mine) - set(theirs))
    if problems:
        return Loaded("failed", problems, list(mine), [list(v.shape) for v in mine.values()], missing, extra)
    module.load_state_dict({ka: vb for (ka, _), (_, vb) in zip(a, b)}, strict=True)
    return Loaded("order", [], list(mine), [], missing, extra)


def set_mode(student, module, train, like=None):
    """Training or evaluation mode; with ``like``, also move to that tensor's device."""
    if isinstance(like, torch.Tensor):
        module.to(like.device)
    module.train(bool(train))
    return bool(module.training)


def forward(student, module, X, train):
    """The module's output in training mode, or in evaluation mode under no_grad (the
    way the book evaluates), without autograd history."""
    module.to(X.device)
    module.train(bool(train))
    if train:
        return module(X).detach()
    with torch.no_grad():
        return module(X)


def attribute(student, obj, name):
    """A plain attribute of an object built by the student, by dotted path ("0.conv1.stride");
    None when absent, and only the type's name when it is not plain data."""
    value = obj
    for part in name.split("."):
        if isinstance(value, nn.Module) and part in value._modules:
            value = value._modules[part]
        else:
            value = getattr(value, part, None)
        if value is None:
            return None
    if isinstance(value, tuple | list) and all(isinstance(v, bool | int | float | str) for v in value):
        return list(value)
    if isinstance(value, bool | int | float | str):
        return value
    return f"<{type(value).__name__}>"


def shapes(student, module, X, types):
    """(name, type, input shape, output shape) of every module whose type is in
    ``types``, in the order they run, for one forward pass in evaluation mode."""
    seen = []
    hooks = []

    def hook(name):
        def record(mod, inputs, output):
            x = inputs[0] if inputs else None
            seen.append(
                LayerShape(
                    name,
                    type(mod).__name__,
                    list(x.shape) if isinstance(x, torch.Tensor) else None,
                    list(output.shape) if isinstance(output, torch.Tensor) else None,
                )
            )

        return record

    for name, mod in module.named_modules():
        if type(mod).__name__ in types:
            hooks.append(mod.register_forward_hook(hook(name or "<top>")))
    was = module.training
    module.to(X.device)
    try:
        module.eval()
        with torch.no_grad():
            out = module(X)
    finally:
        module.train(was)
        for h in hooks:
            h.remove()
    return Shapes(seen, list(out.shape) if isinstance(out, torch.Tensor) else None)


# -- training (d2l's train_ch6) -----------------------------------------------------------


def _images(x, resize, device):
    x = x.to(device=device, dtype=torch.float32).div_(255.0).unsqueeze(1)
    if resize and resize != x.shape[-1]:
        x = F.interpolate(x, size=(resize, resize), mode="bilinear", align_corners=False)
    return x


def train_network(net, train_x, train_y, test_x, test_y, *, seed, lr, epochs, batch_size, resize=0, on=None):
    """The book's loop: Xavier-initialised Conv2d/Linear weights, SGD, cross-entropy.

    Returns the test accuracy and the mean training loss after every epoch. On CPU it runs
    on one thread: the student's run (in the worker) and the reference's (in the judge,
    whatever its thread count) then do the same arithmetic in the same order, so a network
    built like the reference's reaches exactly its accuracy; and on a busy machine small
    OpenMP teams are much slower than one thread.
    """
    device = torch.device(on) if on else train_x.device
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        return _train_loop(net, train_x, train_y, test_x, test_y, seed, lr, epochs, batch_size, resize, device)
    finally:
        torch.set_num_threads(threads)


def _train_loop(net, train_x, train_y, test_x, test_y, seed, lr, epochs, batch_size, resize, device):
    torch.manual_seed(int(seed))

    def init_weights(m):
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    net.to(device)
    train_x, train_y = train_x.to(device), train_y.to(device)
    test_x, test_y = test_x.to(device), test_y.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(int(seed))
    accs, losses = [], []
    for _ in range(int(epochs)):
        net.train()
        order = torch.randperm(len(train_x), generator=g).to(device)
        total, count = 0.0, 0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            X, y = _images(train_x[idx], resize, device), train_y[idx]
            optimizer.zero_grad()
            ell = loss(net(X), y)
            if ell.requires_grad:  # a network with nothing to train just does not learn
                ell.backward()
                optimizer.step()
            total += float(ell.detach()) * len(idx)
            count += len(idx)
        losses.append(total / max(count, 1) if math.isfinite(total) else float("nan"))
        net.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(test_x), 1000):
                X = _images(test_x[i : i + 1000], resize, device)
                correct += int((net(X).argmax(dim=1) == test_y[i : i + 1000]).sum())
        accs.append(correct / max(len(test_x), 1))
    return TrainingRun(accs, losses)


def train(student, stub, seed, train_x, train_y, test_x, test_y, **settings):
    """Build ``student.<stub>()`` under ``seed`` and train it with ``settings`` (lr, epochs,
    batch_size, resize, on)."""
    torch.manual_seed(int(seed))
    net = getattr(student, stub)()
    return train_network(net, train_x, train_y, test_x, test_y, seed=seed, **settings)
