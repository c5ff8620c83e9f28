"""Probes for the MLP: what ``init_params`` returns, ``net`` with its gradients, and the
book's training loop (section 4.2.4: ``nn.CrossEntropyLoss`` and ``torch.optim.SGD``)."""

from __future__ import annotations

import torch

from .common import SGD as _SGD
from .common import as_images as _as_images
from .common import backward_or_why as _backward
from .common import one_thread as _one_thread


def init_params_facts(student, num_inputs, num_hiddens, num_outputs, generator=None, pass_generator=True):
    """What ``student.init_params`` returns, with the facts a plain call loses on the wire:
    each item's type, ``requires_grad`` and whether it is a leaf."""
    if pass_generator:
        value = student.init_params(num_inputs, num_hiddens, num_outputs, generator)
    else:
        value = student.init_params(num_inputs, num_hiddens, num_outputs)
    if not isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": None}
    items = []
    for item in value:
        if isinstance(item, torch.Tensor):
            items.append(
                {
                    "tensor": item.detach(),
                    "requires_grad": bool(item.requires_grad),
                    "is_leaf": bool(item.is_leaf),
                    "type": type(item).__name__,
                }
            )
        else:
            items.append({"tensor": None, "type": type(item).__name__})
    return {"type": type(value).__name__, "items": items}


def net_call(student, X, W1, b1, W2, b2, output_grad=None):
    """``student.net(X, [W1, b1, W2, b2])``; with ``output_grad``, also the gradients with
    respect to the four parameters."""
    params = [p.detach().clone().requires_grad_(output_grad is not None) for p in (W1, b1, W2, b2)]
    out = student.net(X, params)
    if output_grad is None:
        return {"out": out}
    return dict(_backward(out, params, output_grad), out=out)


def train(
    student,
    train_images,
    train_labels,
    test_images,
    num_epochs=10,
    batch_size=256,
    lr=0.1,
    num_hiddens=256,
    seed=0,
    on="cpu",
):
    """The book's MLP training: ``init_params(784, 256, 10)``, ``nn.CrossEntropyLoss`` on
    the logits, ``torch.optim.SGD(params, lr)``'s update (``common.SGD``), ``train_ch3``'s loop.

    Images arrive as uint8 and are scaled to [0, 1] here, as ``ToTensor`` does. The test
    labels never come here: the judge scores the returned test predictions itself.
    """
    g = torch.Generator().manual_seed(seed)
    features, labels, test = _as_images(train_images, train_labels, test_images, on)
    num_inputs, num_outputs = features[0].numel(), 10
    loss_fn = torch.nn.CrossEntropyLoss(reduction="none")
    train_loss, test_pred = [], []
    with _one_thread(on):
        params = student.init_params(num_inputs, num_hiddens, num_outputs, g)
        params = [p.detach().to(on).clone().requires_grad_(True) for p in params]
        updater = _SGD(params, lr=lr)
        for _ in range(num_epochs):
            loss_sum, n = 0.0, 0
            order = torch.randperm(len(features), generator=g).to(on)
            for i in range(0, len(features), batch_size):
                j = order[i : i + batch_size]
                X, y = features[j], labels[j]
                loss = loss_fn(student.net(X, params), y)
                updater.zero_grad()
                loss.mean().backward()
                updater.step()
                loss_sum += float(loss.detach().sum())
                n += y.numel()
            train_loss.append(loss_sum / n)
            with torch.no_grad():
                test_pred.append(student.net(test, params).argmax(dim=1).to(torch.uint8).cpu())
    return {"train_loss": train_loss, "test_pred": torch.stack(test_pred)}
