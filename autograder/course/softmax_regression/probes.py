"""Probes for softmax regression: calls that need a function or an iterator built in the
worker, and the book's training loop (``train_ch3``, section 3.6.6)."""

from __future__ import annotations

import torch

from .common import SGD as _SGD
from .common import as_images as _as_images
from .common import backward_or_why as _backward
from .common import one_thread as _one_thread


def net_call(student, X, W, b, output_grad=None):
    """``student.net(X, W, b)``; with ``output_grad``, also the gradients with respect to
    ``W`` and ``b``."""
    if output_grad is None:
        return {"out": student.net(X, W, b)}
    W, b = W.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)
    out = student.net(X, W, b)
    return dict(_backward(out, [W, b], output_grad), out=out)


class _Linear(torch.nn.Module):
    def __init__(self, W):
        super().__init__()
        self.W = torch.nn.Parameter(W)

    def forward(self, X):
        return X @ self.W


def evaluate(student, batches, W, as_module=False):
    """``student.evaluate_accuracy`` on a one-pass iterator over ``batches`` with the
    linear classifier ``X @ W``: a plain function, or an ``nn.Module`` with ``as_module``."""
    net = _Linear(W) if as_module else (lambda X: X @ W)
    return student.evaluate_accuracy(net, (batch for batch in batches))


def train(student, train_images, train_labels, test_images, num_epochs=10, batch_size=256, lr=0.1, seed=0, on="cpu"):
    """The book's ``train_ch3``: W ~ N(0, 0.01^2), b = 0, minibatch SGD on the summed loss
    divided by the batch size.

    Written with the pieces of torch's own loop (plain SGD, a scaled ``randn``), not as the
    exercises' solutions write them: this probe ships in a student pack, so it must not
    show how ``sgd`` or ``init_params`` are done. The update is the same as ``d2l.sgd``'s.
    Images arrive as uint8 and are scaled to [0, 1] here, as ``ToTensor`` does. The test
    labels never come here: the judge scores the returned test predictions itself.
    """
    g = torch.Generator().manual_seed(seed)
    features, labels, test = _as_images(train_images, train_labels, test_images, on)
    shape = (features[0].numel(), 10)
    W = (0.01 * torch.randn(shape, generator=g)).to(on).requires_grad_(True)
    b = W.new_zeros(shape[1]).requires_grad_(True)
    updater = _SGD([W, b], lr=lr)
    train_loss, train_acc, test_pred = [], [], []
    with _one_thread(on):
        net = lambda X: student.net(X, W, b)  # noqa: E731 - the book's closure over W, b
        for _ in range(num_epochs):
            loss_sum, correct, n = 0.0, 0.0, 0
            order = torch.randperm(len(features), generator=g).to(on)
            for i in range(0, len(features), batch_size):
                j = order[i : i + batch_size]
                X, y = features[j], labels[j]
                y_hat = net(X)
                loss = student.cross_entropy(y_hat, y)
                updater.zero_grad()
                (loss.sum() / X.shape[0]).backward()
                updater.step()  # a parameter the net does not use (no bias, say) has no grad: left alone
                loss_sum += float(loss.detach().sum())
                correct += student.accuracy(y_hat.detach(), y) * y.numel()
                n += y.numel()
            train_loss.append(loss_sum / n)
            train_acc.append(correct / n)
            with torch.no_grad():
                test_pred.append(net(test).argmax(dim=1).to(torch.uint8).cpu())
        batches = (
            (features[i : i + batch_size], labels[i : i + batch_size]) for i in range(0, len(features), batch_size)
        )
        final_train_acc = student.evaluate_accuracy(net, batches)
    return {
        "train_loss": train_loss,
        "train_acc": train_acc,
        "final_train_acc": final_train_acc,
        "test_pred": torch.stack(test_pred),
    }
