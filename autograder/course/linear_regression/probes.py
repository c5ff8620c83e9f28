"""Probes for linear regression: the book's training loop (section 3.2.7).

The loop calls the student's pieces by name; where a piece is not the student's in the
check, the worker's stand-in (derived from the reference) is already in its place.
"""

from __future__ import annotations

import torch


def train(student, seed, lr=0.03, num_epochs=3, batch_size=10, num_examples=1000):
    """Train on synthetic data from w = [2, -3.4], b = 4.2."""
    g = torch.Generator().manual_seed(seed)
    true_w = torch.tensor([2.0, -3.4])
    features, labels = student.synthetic_data(true_w, 4.2, num_examples, 0.01, g)
    w = torch.normal(0, 0.01, size=(2, 1), generator=g, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    losses = []
    for _ in range(num_epochs):
        for X, y in student.data_iter(batch_size, features, labels, g):
            loss = student.squared_loss(student.linreg(X, w, b), y)
            loss.sum().backward()
            student.sgd([w, b], lr, batch_size)
            w.grad.zero_()
            b.grad.zero_()
        with torch.no_grad():
            # The harness's own measure of progress: the mean squared error over all the
            # data, halved as in the book, whatever the student's loss computes.
            residual = features @ w + b - labels.reshape(-1, 1)
            losses.append(float((residual**2 / 2).mean()))
    return {"w": w.detach(), "b": float(b.detach()[0]), "losses": losses}
