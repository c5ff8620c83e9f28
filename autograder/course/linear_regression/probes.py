"""Probes for linear regression: the book's training loop (section 3.2.7)."""

from __future__ import annotations

import torch


# Library stand-ins, used for the pieces a student has not (yet) got right, so that a
# broken piece costs only its own points.
def _synthetic_data(w, b, num_examples, noise=0.01, generator=None):
    X = torch.normal(0, 1, (num_examples, len(w)), generator=generator, dtype=w.dtype)
    return X, X @ w + b + torch.normal(0, noise, (num_examples,), generator=generator, dtype=w.dtype)


def _data_iter(batch_size, features, labels, generator=None):
    indices = torch.randperm(len(features), generator=generator)
    for i in range(0, len(features), batch_size):
        j = indices[i : i + batch_size]
        yield features[j], labels[j]


def _linreg(X, w, b):
    return X @ w + b


def _squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def _sgd(params, lr, batch_size):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad / batch_size


STAND_INS = {
    "synthetic_data": _synthetic_data,
    "data_iter": _data_iter,
    "linreg": _linreg,
    "squared_loss": _squared_loss,
    "sgd": _sgd,
}


def train(student, use, seed, lr=0.03, num_epochs=3, batch_size=10, num_examples=1000):
    """Train on synthetic data from w = [2, -3.4], b = 4.2; the student's pieces in ``use``."""
    pieces = {name: (getattr(student, name) if name in use else fn) for name, fn in STAND_INS.items()}
    g = torch.Generator().manual_seed(seed)
    true_w = torch.tensor([2.0, -3.4])
    features, labels = pieces["synthetic_data"](true_w, 4.2, num_examples, 0.01, g)
    w = torch.normal(0, 0.01, size=(2, 1), generator=g, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    losses = []
    for _ in range(num_epochs):
        for X, y in pieces["data_iter"](batch_size, features, labels, g):
            loss = pieces["squared_loss"](pieces["linreg"](X, w, b), y)
            loss.sum().backward()
            pieces["sgd"]([w, b], lr, batch_size)
            w.grad.zero_()
            b.grad.zero_()
        with torch.no_grad():
            losses.append(float(_squared_loss(_linreg(features, w, b), labels).mean()))
    return {"w": w.detach(), "b": float(b.detach()[0]), "losses": losses}
