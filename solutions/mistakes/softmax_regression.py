"""Softmax regression's known mistakes, implemented: instructor-only (see framework/answer_key.py).

Each is the reference's code with one thing changed (a softmax over the wrong axis, the
label's probability without the minus sign, the net without its bias), so it *is*
solution code: it runs only where the solutions are, inside checks.py's
``_reference_mistakes``, and reaches a student pack as values recorded in the answer key.
This file is never shipped in a pack and is beside the solutions, outside the grader package. The names and
hints the student reads live in checks.py, under the ids of the dicts returned here.
"""

from __future__ import annotations

import math

import torch


def _softmax(X, dim=1):
    X = X.double()
    e = torch.exp(X - X.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


def softmax(X):
    """None for the row sums without keepdim where they do not broadcast (that mistake
    raises there; checks.softmax_mistakes leaves it out)."""
    X = X.double()
    broadcasts = X.shape[0] in (1, X.shape[1])
    return {
        "dim0": _softmax(X, 0),
        "whole": (lambda e: e / e.sum())(torch.exp(X - X.max())),
        "no_keepdim": (lambda e: e / e.sum(1))(torch.exp(X - X.max(1, keepdim=True).values)) if broadcasts else None,
    }


def cross_entropy(y_hat, y):
    picked = y_hat.double()[torch.arange(len(y)), y]
    per_example = -torch.log(picked)
    return {
        "mean": per_example.mean(),
        "sum": per_example.sum(),
        "column": per_example.reshape(-1, 1),
        "all_labels": -torch.log(y_hat.double()[:, y]),
        "every_log": -torch.log(y_hat.double()),
        "no_minus": torch.log(picked),
    }


def accuracy(y_hat, y):
    """The wrong fractions; those only a square ``y_hat`` (as many classes as rows) allows
    are NaN (argmax over dim 0) or empty (y_hat compared with the labels) otherwise."""
    n = len(y)
    square = y_hat.shape[1] == n
    no_argmax = []
    if square:
        as_labels = y_hat.type(y.dtype) == y
        no_argmax = [
            float(as_labels.sum()) / n,
            float((y_hat == y).sum()) / n,
            float(as_labels.double().mean()),
            float((y_hat == y).double().mean()),
        ]
    return {
        "argmax_dim0": float((y_hat.argmax(dim=0) == y).sum()) / n if square else math.nan,
        "no_argmax": no_argmax,
    }


def net(X, W, b):
    flat = X.double().reshape(-1, W.shape[0])
    return {
        "no_bias": _softmax(flat @ W.double()),
        "logits": flat @ W.double() + b.double(),
        "dim0": _softmax(flat @ W.double() + b.double(), 0),
    }
