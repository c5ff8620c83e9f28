"""The optimisers' known mistakes, implemented: instructor-only (see framework/answer_key.py).

Each is the reference's update rule with one thing changed, so it *is* solution code: it
runs only where the solutions are, inside the checks' ``ctx.expected`` functions, and what
it computes reaches a student pack as recorded values. This file is never shipped in a
pack and is beside the solutions, outside the grader package. The names and hints the student reads live in
checks.py (``KNOWN``), under the same ids as here.
"""

from __future__ import annotations

import torch

from autograder.course.optimizers import probes as P


def _ascent(params, states, hp):
    with torch.no_grad():
        for p in params:
            p += hp["lr"] * p.grad


def _momentum_no_lr(params, states, hp):
    with torch.no_grad():
        for p, v in zip(params, states):
            v[:] = hp["momentum"] * v + p.grad
            p -= v


def _momentum_book2(params, states, hp):
    with torch.no_grad():
        for p, v in zip(params, states):
            v[:] = hp["momentum"] * v + p.grad
            p -= hp["lr"] * v


def _adagrad_eps_outside(params, states, hp):
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] += p.grad**2
            p -= hp["lr"] * p.grad / (torch.sqrt(s) + 1e-6)


def _rmsprop_swapped(params, states, hp):
    beta = hp["beta"]
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] = (1 - beta) * s + beta * p.grad**2
            p -= hp["lr"] * p.grad / torch.sqrt(s + 1e-6)


def _rmsprop_eps_outside(params, states, hp):
    beta = hp["beta"]
    with torch.no_grad():
        for p, s in zip(params, states):
            s[:] = beta * s + (1 - beta) * p.grad**2
            p -= hp["lr"] * p.grad / (torch.sqrt(s) + 1e-6)


def _adadelta_raw_delta(params, states, hp):
    rho = hp["rho"]
    with torch.no_grad():
        for p, (s, delta) in zip(params, states):
            s[:] = rho * s + (1 - rho) * p.grad**2
            g = p.grad * torch.sqrt((delta + 1e-5) / (s + 1e-5))
            p -= g
            delta[:] = rho * delta + (1 - rho) * p.grad**2


def _adadelta_no_rescale(params, states, hp):
    rho = hp["rho"]
    with torch.no_grad():
        for p, (s, delta) in zip(params, states):
            s[:] = rho * s + (1 - rho) * p.grad**2
            g = p.grad * torch.sqrt(delta + 1e-5) / torch.sqrt(s) + 1e-5
            p -= g
            delta[:] = rho * delta + (1 - rho) * g**2


def _adam(correct_bias=True, eps_inside=False, t_per_param=False, t_step=1):
    def adam(params, states, hp):
        beta1, beta2, eps = 0.9, 0.999, 1e-6
        with torch.no_grad():
            for p, (v, s) in zip(params, states):
                v[:] = beta1 * v + (1 - beta1) * p.grad
                s[:] = beta2 * s + (1 - beta2) * p.grad**2
                t = hp["t"]
                v_hat = v / (1 - beta1**t) if correct_bias else v
                s_hat = s / (1 - beta2**t) if correct_bias else s
                denom = torch.sqrt(s_hat + eps) if eps_inside else torch.sqrt(s_hat) + eps
                p -= hp["lr"] * v_hat / denom
                if t_per_param:
                    hp["t"] += 1
        if not t_per_param:
            hp["t"] += t_step

    return adam


def _rebound(reference_fn, name):
    """The state rebound instead of updated in place: every call starts from zeros."""

    def fn(params, states, hp):
        reference_fn(params, P.fresh_states(name, params), hp)

    return fn


IMPLEMENTATIONS = {
    "ascent": _ascent,
    "momentum_book2": _momentum_book2,
    "momentum_no_lr": _momentum_no_lr,
    "adagrad_eps_outside": _adagrad_eps_outside,
    "rmsprop_swapped": _rmsprop_swapped,
    "rmsprop_eps_outside": _rmsprop_eps_outside,
    "adadelta_raw_delta": _adadelta_raw_delta,
    "adadelta_no_rescale": _adadelta_no_rescale,
    "adam_no_bias_correction": _adam(correct_bias=False),
    "adam_eps_inside": _adam(eps_inside=True),
    "adam_t_per_param": _adam(t_per_param=True),
    "adam_t_fixed": _adam(t_step=0),
}


def implementation(ref, name: str, ident: str):
    """The known mistake ``ident`` of optimiser ``name`` (same signature as the stub)."""
    if ident == "rebound":  # the reference's own rule, fed fresh states on every call
        return _rebound(getattr(ref, name), name)
    return IMPLEMENTATIONS[ident]
