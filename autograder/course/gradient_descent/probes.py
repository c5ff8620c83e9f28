"""Probes for gradient descent: ``gd``, ``newton`` and ``train_2d`` take functions.

The judge names the objective (``"x**2"``) or the trainer (``("gd", 0.1)``); the probe
builds it here and calls the student's stub, returning plain numbers. The judge imports
these same tables to compute the reference, so both sides use one definition.
"""

from __future__ import annotations

import math

import torch

_C_COS = 0.15 * math.pi


def _safe(fn):
    """Float arithmetic raises where tensors give inf or nan; make it give them too.

    A diverging run then carries on with inf/nan (as the book's tensors would) instead of
    stopping inside the student's loop with an OverflowError from our function.
    """

    def wrapped(x):
        try:
            return fn(x)
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError):
            return math.nan

    return wrapped


class Fn:
    """f, f' and f'' of one variable, on Python floats (0-d tensors work too)."""

    def __init__(self, f, grad, hess):
        self.f, self.grad, self.hess = _safe(f), _safe(grad), _safe(hess)


# The book's examples (11.3): x**2, cosh(c x) with c = 0.5, and x cos(c x), c = 0.15 pi.
FUNCTIONS: dict[str, Fn] = {
    "x**2": Fn(lambda x: x * x, lambda x: 2 * x, lambda x: 2.0),
    "cosh(0.5x)": Fn(
        lambda x: math.cosh(0.5 * x), lambda x: 0.5 * math.sinh(0.5 * x), lambda x: 0.25 * math.cosh(0.5 * x)
    ),
    "x cos(0.15 pi x)": Fn(
        lambda x: x * math.cos(_C_COS * x),
        lambda x: math.cos(_C_COS * x) - _C_COS * x * math.sin(_C_COS * x),
        lambda x: -2 * _C_COS * math.sin(_C_COS * x) - x * _C_COS**2 * math.cos(_C_COS * x),
    ),
    "0.25x**4": Fn(lambda x: 0.25 * (x * x) * (x * x), lambda x: x * x * x, lambda x: 3 * x * x),
}


def _plain(value):
    """Numbers stay numbers; a one-element tensor becomes its float; lists are walked."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        return float(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def run_gd(student, name, eta, x0=None, steps=None):
    """``student.gd(eta, grad_f, x0=x0, steps=steps)``; the defaults when x0 is None."""
    grad = FUNCTIONS[name].grad
    if x0 is None:
        return _plain(student.gd(eta, grad))
    return _plain(student.gd(eta, grad, x0=x0, steps=steps))


def run_newton(student, name, eta, x0=None, steps=None):
    fn = FUNCTIONS[name]
    if x0 is None:
        return _plain(student.newton(eta, fn.grad, fn.hess))
    return _plain(student.newton(eta, fn.grad, fn.hess, x0=x0, steps=steps))


# -- trainers for train_2d ------------------------------------------------------------------


def make_trainer(spec):
    """A trainer ``(x1, x2) -> (x1, x2)`` from a plain description.

    ``("gd", eta)``: a gradient step on x1**2 + 2 x2**2; ``("sgd", eta, seed)``: the same
    with N(0, 1) gradient noise from a generator seeded with ``seed``; ``("affine", a, b,
    c)``: ``(a x1 + c, b x2 - c)``, a map whose points are easy to tell apart.
    """
    kind = spec[0]
    if kind == "gd":
        eta = spec[1]
        return lambda x1, x2: (x1 - eta * 2 * x1, x2 - eta * 4 * x2)
    if kind == "sgd":
        eta, g = spec[1], torch.Generator().manual_seed(int(spec[2]))

        def step(x1, x2):
            n1, n2 = torch.randn(2, generator=g, dtype=torch.float64).tolist()
            return (x1 - eta * (2 * x1 + n1), x2 - eta * (4 * x2 + n2))

        return step
    if kind == "affine":
        a, b, c = spec[1:]
        return lambda x1, x2: (a * x1 + c, b * x2 - c)
    raise ValueError(f"unknown trainer {spec!r}")


def run_train_2d(student, spec, steps=None, x0=None):
    trainer = make_trainer(spec)
    if steps is None:
        return _plain(student.train_2d(trainer))
    return _plain(student.train_2d(trainer, steps=steps, x0=tuple(x0)))


def noise_sequence(seed: int, steps: int) -> list[tuple[float, float]]:
    g = torch.Generator().manual_seed(seed)
    return [tuple(torch.randn(2, generator=g, dtype=torch.float64).tolist()) for _ in range(steps)]


def trace_2d(student, stub, eta, steps=20, x0=(-5.0, -2.0), noise_seed=None):
    """The book's show_trace_2d run with the student's ``gd_2d`` or ``sgd_2d`` as trainer.

    Our own loop (not the student's train_2d), so the picture shows this stub alone.
    """
    fn = getattr(student, stub)
    noise = noise_sequence(noise_seed, steps) if noise_seed is not None else None
    x1, x2 = x0
    points = [(x1, x2)]
    for k in range(steps):
        out = fn(x1, x2, eta) if noise is None else fn(x1, x2, eta, noise[k])
        out = _plain(out)
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(v, (int, float)) for v in out)):
            break
        x1, x2 = out
        points.append((float(x1), float(x2)))
    return points
