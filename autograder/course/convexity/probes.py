"""Probes for convexity: the stubs take functions, which cannot cross the wire.

The judge names a function (``"cosh(0.5x)"``); the probe builds it here from the tables
below, calls the student's stub with it and returns plain data. The judge imports the
same tables to compute the reference and the analytic derivatives, so the function a
student is graded on and the one the answer is checked against are one definition.
"""

from __future__ import annotations

import math

import torch


class Fn1:
    """A scalar function of one variable (elementwise on tensors), with f' and f''."""

    def __init__(self, f, d1, d2, shape: str):
        self.f, self.d1, self.d2, self.shape = f, d1, d2, shape  # shape: convex/concave/neither


_C_COS = 0.15 * math.pi

FUNCTIONS_1D: dict[str, Fn1] = {
    "x**2": Fn1(lambda x: x**2, lambda x: 2 * x, lambda x: 2.0 + 0 * x, "convex"),
    "cosh(0.5x)": Fn1(
        lambda x: torch.cosh(0.5 * x),
        lambda x: 0.5 * torch.sinh(0.5 * x),
        lambda x: 0.25 * torch.cosh(0.5 * x),
        "convex",
    ),
    "exp(x)": Fn1(torch.exp, torch.exp, torch.exp, "convex"),
    "x**4 - 3x": Fn1(lambda x: x**4 - 3 * x, lambda x: 4 * x**3 - 3, lambda x: 12 * x**2, "convex"),
    "softplus(2x)": Fn1(
        lambda x: torch.nn.functional.softplus(2 * x),
        lambda x: 2 * torch.sigmoid(2 * x),
        lambda x: 4 * torch.sigmoid(2 * x) * torch.sigmoid(-2 * x),
        "convex",
    ),
    "-x**2": Fn1(lambda x: -(x**2), lambda x: -2 * x, lambda x: -2.0 + 0 * x, "concave"),
    "-cosh(0.5x)": Fn1(
        lambda x: -torch.cosh(0.5 * x),
        lambda x: -0.5 * torch.sinh(0.5 * x),
        lambda x: -0.25 * torch.cosh(0.5 * x),
        "concave",
    ),
    "x cos(0.15 pi x)": Fn1(
        lambda x: x * torch.cos(_C_COS * x),
        lambda x: torch.cos(_C_COS * x) - _C_COS * x * torch.sin(_C_COS * x),
        lambda x: -2 * _C_COS * torch.sin(_C_COS * x) - x * _C_COS**2 * torch.cos(_C_COS * x),
        "neither",
    ),
    "sin(x)": Fn1(torch.sin, torch.cos, lambda x: -torch.sin(x), "neither"),
}


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A fixed, non-symmetric d x d matrix: the quadratic form below must symmetrise it."""
    i = torch.arange(len(x), dtype=x.dtype, device=x.device).reshape(-1, 1)
    return torch.sin(i + 2 * i.T + 1)


def _weights(x: torch.Tensor) -> torch.Tensor:
    return torch.linspace(0.5, -0.3, len(x), dtype=x.dtype, device=x.device)


def _coefficients(x: torch.Tensor) -> torch.Tensor:
    return torch.arange(1, len(x) + 1, dtype=x.dtype, device=x.device)


def _hess_chain(x):
    # f = sum_i sin(x_i) x_{i+1}
    d = len(x)
    H = torch.zeros(d, d, dtype=x.dtype)
    for i in range(d - 1):
        H[i, i] += -torch.sin(x[i]) * x[i + 1]
        H[i, i + 1] += torch.cos(x[i])
        H[i + 1, i] += torch.cos(x[i])
    return H


def _hess_logsumexp(x):
    p = torch.softmax(x, 0)
    return torch.diag(p) - torch.outer(p, p)


def _hess_exp_dot(x):
    a = _weights(x)
    outer = torch.outer(a, a)  # f(x) = exp(a . x): its Hessian is f(x) a a^T
    return torch.exp(a @ x) * outer


def _hess_rosenbrock(x):
    d = len(x)
    H = torch.zeros(d, d, dtype=x.dtype)
    for i in range(d - 1):
        H[i, i] += 2 - 400 * (x[i + 1] - x[i] ** 2) + 800 * x[i] ** 2
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


# Functions of a 1-D tensor (d >= 2), each with its Hessian written out by hand.
FUNCTIONS_ND = {
    "sum c_i x_i**2": (lambda x: (_coefficients(x) * x**2).sum(), lambda x: torch.diag(2 * _coefficients(x))),
    "x^T M x, M not symmetric": (lambda x: x @ _mix(x) @ x, lambda x: _mix(x) + _mix(x).T),
    "logsumexp": (lambda x: torch.logsumexp(x, 0), _hess_logsumexp),
    "exp(a . x)": (lambda x: torch.exp(_weights(x) @ x), _hess_exp_dot),
    "sum sin(x_i) x_(i+1)": (lambda x: (torch.sin(x[:-1]) * x[1:]).sum(), _hess_chain),
    "rosenbrock": (lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum(), _hess_rosenbrock),
}


class _Watched:
    """Wraps f to see how the student's code calls it (autograd or finite differences)."""

    def __init__(self, f):
        self.f = f
        self.calls = 0
        self.with_grad = 0

    def __call__(self, x):
        self.calls += 1
        if isinstance(x, torch.Tensor) and x.requires_grad:
            self.with_grad += 1
        return self.f(x)


def jensen(student, name, xs, weights):
    """``student.jensen_gap(f, xs, weights)`` for the named f; also whether xs changed."""
    before = (xs.clone(), weights.clone())
    value = student.jensen_gap(FUNCTIONS_1D[name].f, xs, weights)
    changed = not (torch.equal(before[0], xs) and torch.equal(before[1], weights))
    return {"value": value, "changed": changed}


def second(student, name, x):
    """``student.second_derivative(f, x)`` and how f was called."""
    f = _Watched(FUNCTIONS_1D[name].f)
    value = student.second_derivative(f, x)
    return {"value": value, "calls": f.calls, "with_grad": f.with_grad}


def hess(student, name, x):
    """``student.hessian(f, x)`` for the named function; how f was called; x afterwards."""
    before = x.detach().clone()
    f = _Watched(FUNCTIONS_ND[name][0])
    value = student.hessian(f, x)
    return {"value": value, "calls": f.calls, "with_grad": f.with_grad, "changed": not torch.equal(before, x.detach())}
