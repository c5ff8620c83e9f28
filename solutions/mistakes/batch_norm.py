"""batch_norm's known mistakes that are the reference's formula with one change.

Instructor-only (see autograder/reference.py, known mistakes): the formula written out
here is the exercise's answer, so this file never ships in a student pack. checks.py
imports it only inside functions given to ``ctx.expected``; the values they compute are
recorded in the answer key, which is all a pack needs.

Everything is computed in float64, from the arguments' values.
"""

from __future__ import annotations

import torch

EPS = 1e-5


def _axes(X, over):
    if over == "channel":  # the right ones: every axis but 1
        return (0,) if X.dim() == 2 else (0, 2, 3)
    if over == "batch":
        return (0,)
    if over == "all":
        return tuple(range(X.dim()))
    return tuple(range(1, X.dim()))  # "example": per example, over the channels


def formula(X, gamma, beta, eps=EPS, *, over="channel", ddof=0, eps_outside=False, detach=False):
    """``(Y, mean, var)`` of batch normalisation in training mode, with the mistake the
    keywords name."""
    X = X.double()
    dims = _axes(X, over)
    mean = X.mean(dim=dims, keepdim=True)
    n = X.numel() // mean.numel()
    var = ((X - mean) ** 2).sum(dim=dims, keepdim=True) / max(n - ddof, 1)
    if detach:
        mean, var = mean.detach(), var.detach()
    denom = var.sqrt() + eps if eps_outside else torch.sqrt(var + eps)
    return gamma.double() * (X - mean) / denom + beta.double(), mean, var


# The one change of each training-mode mistake, by the name checks.py asks for.
TRAINING = {
    "unbiased": {"ddof": 1},
    "eps outside": {"eps_outside": True},
    "over all": {"over": "all"},
    "per example": {"over": "example"},
    "batch axis": {"over": "batch"},
}


def training(change, X, gamma, beta):
    """Y in training mode with the mistake ``change`` (a key of TRAINING)."""
    return formula(X, gamma, beta, **TRAINING[change])[0]


def prediction(change, X, gamma, beta, moving_mean, moving_var):
    """Y in prediction mode with eps outside the square root, or with the moving variance
    taken for a standard deviation."""
    X, gamma, beta, mm, mv = (t.double() for t in (X, gamma, beta, moving_mean, moving_var))
    denom = mv.sqrt() + EPS if change == "eps outside" else mv + EPS  # else "variance as deviation"
    return gamma * (X - mm) / denom + beta


def gradients(change, X, gamma, beta, output_grad):
    """The gradients with respect to X, gamma and beta of a training-mode batch_norm with
    the batch statistics detached (``change="detach"``) or the unbiased variance."""
    leaves = [t.double().clone().requires_grad_(True) for t in (X, gamma, beta)]
    kwargs = {"detach": True} if change == "detach" else {"ddof": 1}
    Y = formula(*leaves, **kwargs)[0]
    return list(torch.autograd.grad(Y, leaves, output_grad.double()))


def unbiased_moving_var(X, gamma, beta, moving_var, momentum):
    """The moving variance updated with the unbiased batch variance (PyTorch's own)."""
    var = formula(X, gamma, beta, ddof=1)[2]
    return momentum * moving_var.double() + (1 - momentum) * var
