"""Generic worker operations for the network checks (batch_norm, resnet, densenet):
building a student's network, loading the reference's weights into it, running it in a
mode, recording its shapes layer by layer, and the book's image training loop.

Stand-ins for the pieces that are not the student's are already in the student's module
when these run (the worker got them when it started), so nothing here patches anything.
The judge sends this file to a worker when a check first needs it.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from ..records import LayerShape, Loaded, Shapes, TrainingRun
from .common import SGD


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
#
# The book's loop, made cheap where that changes nothing the check measures: the images
# are made float and resized once per run (not per batch and epoch), each epoch draws one
# seeded permutation and gathers the shuffled set once (its batches are then views), the
# loss and the accuracy stay on the device until the run ends (one host sync per run, not
# one per batch), and evaluation goes in large batches without autograd. The batches, their
# order and the arithmetic are those of the book's loop under the same seed.

# Test images per evaluation batch: evaluation-mode outputs do not depend on the batch
# (batch normalisation then uses its moving statistics), so larger batches than the book's
# 256 are as right. On CUDA they spare launches; on CPU 500 was the fastest of 128-1000
# for LeNet-BN (measured, one thread: larger ones outgrow the caches).
EVAL_BATCH = {"cpu": 500, "cuda": 5000}


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
    OpenMP teams are much slower than one thread. On CUDA see ``_cuda_settings``.
    """
    device = torch.device(on) if on else train_x.device
    data = (_images(train_x, resize, device), train_y.to(device), _images(test_x, resize, device), test_y.to(device))
    run = dict(seed=seed, lr=lr, epochs=epochs, batch_size=batch_size, device=device)
    if device.type == "cpu":
        with _one_thread():
            return _train_loop(net, *data, **run)
    with _cuda_settings():
        if not any(isinstance(m, nn.Conv2d) for m in net.modules()):
            return _train_loop(net, *data, **run)
        # Channels-last (NHWC) lets cuDNN run convolutions on tensor cores without
        # transposing; it changes the memory layout, never a value's meaning. Only a
        # network that calls .view on an activation cannot take it: such a network fails at
        # its first step, and is then trained as the book would, in the default layout.
        initial = {k: v.clone() for k, v in net.state_dict().items()}
        try:
            return _train_loop(net, *data, **run, layout=torch.channels_last)
        except _LayoutRefused:
            net.load_state_dict(initial)
            net.to(memory_format=torch.contiguous_format)
            return _train_loop(net, *data, **run)


@contextmanager
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextmanager
def _cuda_settings():
    """TF32 matrix products and convolutions (10-bit mantissa, float32 range: their
    rounding moves a best accuracy far less than the spread between seeds, and the reference
    runs under the same settings), and cuDNN's autotuner (the shapes repeat every batch)."""
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark = before


class _LayoutRefused(Exception):
    """The network's first step failed in channels-last layout."""


def _train_loop(net, train_x, train_y, test_x, test_y, *, seed, lr, epochs, batch_size, device, layout=None):
    torch.manual_seed(int(seed))

    def init_weights(m):
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    net.to(device)
    if layout is not None:
        net.to(memory_format=layout)
        train_x, test_x = train_x.contiguous(memory_format=layout), test_x.contiguous(memory_format=layout)
    optimizer = SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(int(seed))
    n, bs = len(train_x), int(batch_size)
    # The size of every batch of an epoch, to weigh its mean loss: the last may be smaller.
    sizes = torch.full(((n + bs - 1) // bs,), float(bs), dtype=torch.float64, device=device)
    if n % bs:
        sizes[-1] = n % bs
    loss_sums, corrects = [], []
    for _ in range(int(epochs)):
        net.train()
        order = torch.randperm(n, generator=g).to(device)
        shuffled_x, shuffled_y = train_x.index_select(0, order), train_y.index_select(0, order)
        batch_losses = []
        for i in range(0, n, bs):
            try:
                optimizer.zero_grad()
                ell = loss(net(shuffled_x[i : i + bs]), shuffled_y[i : i + bs])
                if ell.requires_grad:  # a network with nothing to train just does not learn
                    ell.backward()
                    optimizer.step()
            except RuntimeError as e:
                if layout is not None and not loss_sums and i == 0:
                    raise _LayoutRefused from e
                raise
            batch_losses.append(ell.detach())
        loss_sums.append(torch.dot(torch.stack(batch_losses).double(), sizes) if batch_losses else sizes.sum())
        net.eval()
        correct = torch.zeros((), dtype=torch.int64, device=device)
        chunk = EVAL_BATCH.get(device.type, 1000)
        with torch.no_grad():
            for i in range(0, len(test_x), chunk):
                correct += (net(test_x[i : i + chunk]).argmax(dim=1) == test_y[i : i + chunk]).sum()
        corrects.append(correct)
    # The one host sync of the run.
    losses = (torch.stack(loss_sums) / max(n, 1)).tolist() if loss_sums else []
    accs = [c / max(len(test_x), 1) for c in torch.stack(corrects).tolist()] if corrects else []
    return TrainingRun(accs, [v if math.isfinite(v) else float("nan") for v in losses])


def train(student, stub, seed, train_x, train_y, test_x, test_y, **settings):
    """Build ``student.<stub>()`` under ``seed`` and train it with ``settings`` (lr, epochs,
    batch_size, resize, on)."""
    torch.manual_seed(int(seed))
    net = getattr(student, stub)()
    return train_network(net, train_x, train_y, test_x, test_y, seed=seed, **settings)
