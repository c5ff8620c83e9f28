"""Checks for Task 6, gradient descent (d2l 11.3-11.4).

``gd``, ``newton`` and ``train_2d`` take functions: the checks name an objective or a
trainer from ``probes.py`` beside this file and a probe builds it in the worker;
the reference runs here with the same definitions.

Why this file is long: seven stubs, twelve checks and twenty-three named mistakes, each
with the message and hint a student reads, kept together because one module is one place.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from ... import plots
from ...framework import checks_for
from ...framework import expect as E
from ...framework.expect import Mistake
from ...reference import known_mistake
from . import probes as P

check = checks_for("gradient_descent")

BOOK_GD = [10.0, 6.0, 3.6, 2.16, 1.296, 0.7776, 0.46656, 0.279936, 0.1679616, 0.10077696, 0.060466176]


def _num(value, what: str) -> float:
    """A real number; a one-element floating-point tensor is accepted as its value."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        E.fail(f"{what}: expected a number, got {E.describe(value)}.")
    return float(value)


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


def _same(values, expected, rtol, atol) -> bool:
    return (
        isinstance(values, list)
        and len(values) == len(expected)
        and all(_close(a, b, rtol, atol) for a, b in zip(values, expected))
    )


def _fmt(values, n=6) -> str:
    shown = ", ".join(f"{v:.8g}" if isinstance(v, (int, float)) else repr(v) for v in values[:n])
    return f"[{shown}{', ...' if len(values) > n else ''}]"


def _iterates(
    value, expected: list[float], what: str, *, rtol=1e-7, atol=1e-9, mistakes: list[Mistake] = ()
) -> list[float]:
    """``value`` must be the list of ``len(expected)`` iterates, x0 first."""
    E.recorded(mistakes)  # compared here, not in expect.py: record them all for the key
    scale_atol = atol * max([1.0] + [abs(v) for v in expected if math.isfinite(v)])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if _close(float(value), expected[-1], rtol, scale_atol):
            E.fail(
                f"{what} returned only the final x ({value!r}); return the list of every "
                f"iterate: steps + 1 = {len(expected)} of them, starting with x0."
            )
    if not isinstance(value, (list, tuple)):
        E.fail(f"{what}: expected a list of {len(expected)} iterates, got {E.describe(value)}.")
    values = list(value)
    for i, v in enumerate(values):
        _num(v, f"{what}, item {i}")
    values = [float(v) for v in values]
    if not values and expected:
        E.fail(
            f"{what} returned an empty list: the list always starts with x0, then holds "
            f"the value after each step (steps + 1 = {len(expected)} entries)."
        )
    if len(values) != len(expected):
        if len(values) == len(expected) - 1 and _same(values, expected[1:], rtol, scale_atol):
            E.fail(
                f"{what} returned {len(values)} iterates without x0: the list has steps + 1 "
                "entries and starts with x0, before the first step."
            )
        if len(values) == len(expected) - 1 and _same(values, expected[:-1], rtol, scale_atol):
            E.fail(
                f"{what} returned {len(values)} iterates, missing the result of the last "
                "step: record x after every one of the steps, after x0."
            )
        E.fail(
            f"{what} returned {len(values)} iterates; expected {len(expected)} (steps + 1, "
            f"x0 first): expected {_fmt(expected)}, got {_fmt(values)}."
        )
    if _same(values, expected, rtol, scale_atol):
        return values
    for m in mistakes:
        guess = m.answer()
        if _same(values, guess, rtol, scale_atol):
            E.fail(f"{what} is wrong: this is {m.name}. {m.hint} Expected {_fmt(expected)}, got {_fmt(values)}.")
    k = next(i for i, (a, b) in enumerate(zip(values, expected)) if not _close(a, b, rtol, scale_atol))
    E.fail(
        f"{what} is wrong from iterate {k} on: expected {expected[k]!r}, got {values[k]!r} "
        f"(expected {_fmt(expected)}, got {_fmt(values)})."
    )


def _run_1d(update, x0, steps):
    x, out = x0, [x0]
    for _ in range(steps):
        try:
            x = update(x)
        except (OverflowError, ZeroDivisionError, ValueError):
            x = math.nan
        out.append(float(x))
    return out


# -- the reference, as values --------------------------------------------------------------
# gd, newton and train_2d take functions, which are not values: each helper is given the
# objective's or the trainer's name and builds it here, so the key entry is named by data.


def _reference_gd(ref, name, eta, **kwargs) -> list[float]:
    return ref.gd(eta, P.FUNCTIONS[name].grad, **kwargs)


def _reference_newton(ref, name, eta, **kwargs) -> list[float]:
    fn = P.FUNCTIONS[name]
    return ref.newton(eta, fn.grad, fn.hess, **kwargs)


def _reference_train_2d(ref, spec, **kwargs) -> list[tuple[float, float]]:
    return ref.train_2d(P.make_trainer(spec), **kwargs)


# -- gd ---------------------------------------------------------------------------------------


def _gd_mistakes(name, eta, x0, steps):
    g = P.FUNCTIONS[name].grad
    return [
        Mistake(
            "gradient ascent",
            "Step against the gradient: x -= eta * grad_f(x).",
            lambda: _run_1d(lambda x: x + eta * g(x), x0, steps),
        ),
        Mistake(
            "a step without the learning rate",
            "Scale the gradient by eta.",
            lambda: _run_1d(lambda x: x - g(x), x0, steps),
        ),
    ]


BOOK_GD_RUNS = [("x**2", 0.2), ("x**2", 0.05), ("x**2", 1.1), ("x cos(0.15 pi x)", 2.0)]


@check("gd", "the book's runs: x**2 with eta 0.2, 0.05 and 1.1 (divergence), x cos(cx) with eta 2")
def gd_book(ctx):
    want0 = ctx.expected(_reference_gd, "x**2", 0.2)
    assert _same(want0, BOOK_GD, 1e-12, 1e-12), "the reference disagrees with the book"
    runs = [
        (name, eta, ctx.probe("gradient_descent.run_gd", name, eta), ctx.expected(_reference_gd, name, eta))
        for name, eta in BOOK_GD_RUNS
    ]
    _book_picture(ctx, "gradient_descent.gd.png", "gd", runs)
    for name, eta, got, want in runs:
        _iterates(
            got,
            want,
            f"gd({eta}, f_grad) for f(x) = {name} (default x0=10.0, steps=10)",
            mistakes=_gd_mistakes(name, eta, 10.0, 10),
        )


def _book_picture(ctx, filename, stub, runs):
    """The first run that leaves the reference (or the first run) in the book's show_trace."""
    name, eta, got, want = next((r for r in runs if not _same(r[2], r[3], 1e-7, 1e-9)), runs[0])
    _picture(ctx, filename, name, got, want, f"{stub}, eta={eta}, f(x) = {name}")


def _picture(ctx, filename, name, got, want, title):
    if isinstance(got, list) and all(isinstance(v, (int, float)) for v in got):
        f = P.FUNCTIONS[name].f

        def safe(x):
            try:
                return float(f(x))
            except (OverflowError, ValueError):
                return math.nan

        plots.attach(ctx, filename, lambda: plots.trace_1d(safe, got, want, title))


@st.composite
def _runs(draw, names):
    name = draw(st.sampled_from(names))
    eta = draw(st.sampled_from([0.01, 0.05, 0.2, 0.5, 0.9]))
    x0 = draw(st.sampled_from([10.0, -3.0, 0.5, 2.5, -7.25]))
    steps = draw(st.integers(0, 25))
    return name, eta, x0, steps


@check("gd", "every iterate, for several functions, learning rates, x0 and steps", weight=2)
def gd_general(ctx):
    @ctx.given(_runs(["x**2", "cosh(0.5x)", "x cos(0.15 pi x)"]))
    def prop(case):
        name, eta, x0, steps = case
        if name == "cosh(0.5x)":
            x0 = max(min(x0, 8.0), -8.0)
        got = ctx.probe("gradient_descent.run_gd", name, eta, x0, steps)
        want = ctx.expected(_reference_gd, name, eta, x0=x0, steps=steps)
        _iterates(
            got,
            want,
            f"gd({eta}, f_grad, x0={x0}, steps={steps}) for f(x) = {name}",
            mistakes=_gd_mistakes(name, eta, x0, steps),
        )

    prop()


# -- newton -----------------------------------------------------------------------------------


def _newton_mistakes(name, eta, x0, steps):
    fn = P.FUNCTIONS[name]
    return [
        Mistake(
            "Newton's step without eta",
            "Damp the step: x -= eta * grad_f(x) / hess_f(x).",
            lambda: _run_1d(lambda x: x - fn.grad(x) / fn.hess(x), x0, steps),
        ),
        Mistake(
            "a gradient step (the Hessian left out)",
            "Divide the gradient by the second derivative: x -= eta * grad_f(x) / hess_f(x).",
            lambda: _run_1d(lambda x: x - eta * fn.grad(x), x0, steps),
        ),
        Mistake(
            "the gradient multiplied by the Hessian",
            "Newton divides by the second derivative: x -= eta * grad_f(x) / hess_f(x).",
            lambda: _run_1d(lambda x: x - eta * fn.grad(x) * fn.hess(x), x0, steps),
        ),
        Mistake(
            "a step up the gradient",
            "Subtract: x -= eta * grad_f(x) / hess_f(x).",
            lambda: _run_1d(lambda x: x + eta * fn.grad(x) / fn.hess(x), x0, steps),
        ),
    ]


BOOK_NEWTON_RUNS = [("cosh(0.5x)", 1.0), ("x cos(0.15 pi x)", 1.0), ("x cos(0.15 pi x)", 0.5)]


@check("newton", "the book's runs: cosh(0.5x) with eta 1; x cos(0.15 pi x) with eta 1 and 0.5")
def newton_book(ctx):
    runs = []
    for name, eta in BOOK_NEWTON_RUNS:
        runs.append(
            (name, eta, ctx.probe("gradient_descent.run_newton", name, eta), ctx.expected(_reference_newton, name, eta))
        )
    _book_picture(ctx, "gradient_descent.newton.png", "newton", runs)
    for name, eta, got, want in runs:
        _iterates(
            got,
            want,
            f"newton({eta}, f_grad, f_hess) for f(x) = {name} (default x0=10.0, steps=10)",
            mistakes=_newton_mistakes(name, eta, 10.0, 10),
        )


@check("newton", "every iterate, for several functions, eta, x0 and steps", weight=2)
def newton_general(ctx):
    @ctx.given(_runs(["x**2", "cosh(0.5x)", "0.25x**4"]))
    def prop(case):
        name, eta, x0, steps = case
        got = ctx.probe("gradient_descent.run_newton", name, eta, x0, steps)
        want = ctx.expected(_reference_newton, name, eta, x0=x0, steps=steps)
        _iterates(
            got,
            want,
            f"newton({eta}, f_grad, f_hess, x0={x0}, steps={steps}) for f(x) = {name}",
            mistakes=_newton_mistakes(name, eta, x0, steps),
        )

    prop()


# -- gd_2d and sgd_2d -------------------------------------------------------------------------


def _pair(value, what: str) -> tuple[float, float]:
    if isinstance(value, (tuple, list)) and len(value) == 4:
        E.fail(
            f"{what} returned 4 values: the book's (x1, x2, s1, s2) form. This curriculum's step returns just (x1, x2)."
        )
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        E.fail(f"{what}: expected a pair (x1, x2), got {E.describe(value)}.")
    return _num(value[0], f"{what}[0]"), _num(value[1], f"{what}[1]")


def _check_pair(got, want, what, mistakes):
    E.recorded(mistakes)  # compared here, not in expect.py
    a = _pair(got, what)
    b = tuple(float(v) for v in want)
    ok = lambda p: all(_close(u, v, 1e-9, 1e-12) for u, v in zip(a, p))  # noqa: E731
    if ok(b):
        return
    for m in mistakes:
        if ok(tuple(m.answer())):
            E.fail(f"{what} is wrong: expected {b}, got {a}: this is {m.name}. {m.hint}")
    E.fail(f"{what} is wrong: expected {b}, got {a}.")


# The known mistakes of one step: (key, name, hint). Their values are the solution's step
# with one thing changed, so they are computed in solutions/mistakes/gradient_descent.py (instructor-only) and reach
# the checks through ctx.expected: a student pack reads them from the answer key.
_ISOTROPIC = ("the gradient (2 * x1, 2 * x2)", "f = x1**2 + 2 * x2**2 has gradient (2 * x1, 4 * x2).")
GD_2D_MISTAKES = [
    ("isotropic", *_ISOTROPIC),
    ("swapped", "the two gradient components swapped", "d/dx1 is 2 * x1 and d/dx2 is 4 * x2."),
    ("ascent", "gradient ascent", "Step against the gradient."),
]
SGD_2D_MISTAKES = [
    (
        "after",
        "the noise added after the step",
        "The noise perturbs the gradient: g1 = 2 * x1 + n1, then x1 - eta_t * g1.",
    ),
    ("left_out", "the noise left out", "Add noise[0] and noise[1] to the gradient components."),
    ("subtracted", "the noise subtracted", "The noisy gradient is 2 * x1 + n1."),
    ("swapped", "the noise components swapped", "noise[0] goes with x1, noise[1] with x2."),
    ("isotropic", *_ISOTROPIC),
]


def _step_mistakes(ctx, table, stub, *args) -> list[Mistake]:
    answers = lambda: ctx.expected(known_mistake, stub, *args)  # noqa: E731 - one entry for all
    return [Mistake(name, hint, lambda key=key: answers()[key]) for key, name, hint in table]


_coords = st.sampled_from([-5.0, -2.0, -0.3, 0.0, 1.5, 4.0, 7.25])
_etas = st.sampled_from([0.01, 0.1, 0.2, 0.4])


@check("gd_2d", "one gradient step on x1**2 + 2 * x2**2", weight=2)
def gd_2d_step(ctx):
    @ctx.given(_coords, _coords, _etas)
    def prop(x1, x2, eta):
        got = ctx.call("gd_2d", x1, x2, eta)
        _check_pair(
            got,
            ctx.expected(lambda ref: ref.gd_2d(x1, x2, eta)),
            f"gd_2d({x1}, {x2}, eta={eta})",
            _step_mistakes(ctx, GD_2D_MISTAKES, "gd_2d", x1, x2, eta),
        )

    prop()


def _trace(ctx, stub, eta, noise_seed=None):
    """The student's and the reference's show_trace_2d runs, compared and pictured."""
    got = ctx.probe("gradient_descent.trace_2d", stub, eta, 20, (-5.0, -2.0), noise_seed)
    want = ctx.expected(P.trace_2d, stub, eta, 20, (-5.0, -2.0), noise_seed)  # trace_2d(ref, ...)
    title = f"{stub}, eta={eta}" + (", N(0, 1) gradient noise" if noise_seed is not None else "")
    plots.attach(ctx, f"gradient_descent.{stub}.png", lambda: plots.trace_2d(got, want, title))
    E.that(
        len(got) == len(want),
        f"The 20-step trajectory of {stub} (eta={eta}, from (-5, -2)) "
        f"stopped after {len(got) - 1} steps: the step did not return a pair of numbers.",
    )
    for k, (a, b) in enumerate(zip(got, want)):
        if not all(_close(u, v, 1e-7, 1e-9) for u, v in zip(a, b)):
            E.fail(
                f"The 20-step trajectory of {stub} (eta={eta}, from (-5, -2)) leaves the "
                f"reference at step {k}: expected {tuple(b)}, got {tuple(a)} (see the picture)."
            )


@check("gd_2d", "the book's trajectory: 20 steps with eta=0.1 from (-5, -2)")
def gd_2d_trace(ctx):
    _trace(ctx, "gd_2d", 0.1)


@check("sgd_2d", "one step with the gradient plus the given noise", weight=2)
def sgd_2d_step(ctx):
    @ctx.given(_coords, _coords, _etas, st.sampled_from([-1.5, -0.2, 0.7, 2.0]), st.sampled_from([-0.9, 0.3, 1.25]))
    def prop(x1, x2, eta, n1, n2):
        got = ctx.call("sgd_2d", x1, x2, eta, (n1, n2))
        _check_pair(
            got,
            ctx.expected(lambda ref: ref.sgd_2d(x1, x2, eta, (n1, n2))),
            f"sgd_2d({x1}, {x2}, eta_t={eta}, noise=({n1}, {n2}))",
            _step_mistakes(ctx, SGD_2D_MISTAKES, "sgd_2d", x1, x2, eta, (n1, n2)),
        )

    prop()


@check("sgd_2d", "the book's noisy trajectory: 20 steps with eta=0.1 and N(0, 1) noise")
def sgd_2d_trace(ctx):
    _trace(ctx, "sgd_2d", 0.1, noise_seed=ctx.seed % 1000)


# -- train_2d ---------------------------------------------------------------------------------


def _points(value, what: str):
    if not isinstance(value, (list, tuple)):
        E.fail(f"{what}: expected a list of points (x1, x2), got {E.describe(value)}.")
    return [_pair(p, f"{what}, point {i}") for i, p in enumerate(value)]


def _check_points(got, want, what, mistakes=()):
    E.recorded(mistakes)  # compared here, not in expect.py
    pts = _points(got, what)
    want = [tuple(float(v) for v in p) for p in want]
    if not pts and want:
        E.fail(
            f"{what} returned an empty list: it always starts with x0, then holds the "
            f"point after each step (steps + 1 = {len(want)} points)."
        )

    def same(a, b):
        return len(a) == len(b) and all(_close(u, v, 1e-9, 1e-12) for p, q in zip(a, b) for u, v in zip(p, q))

    if same(pts, want):
        return
    if len(pts) == len(want) - 1 and same(pts, want[1:]):
        E.fail(
            f"{what} returned {len(pts)} points without x0: start the list with x0, then add "
            "the point after each of the steps (steps + 1 in all)."
        )
    if len(pts) == len(want) - 1 and same(pts, want[:-1]):
        E.fail(f"{what} returned {len(pts)} points, missing the last step's: steps + 1 in all.")
    for m in mistakes:
        if same(pts, m.answer()):
            E.fail(f"{what} is wrong: this is {m.name}. {m.hint}")
    if len(pts) != len(want):
        E.fail(f"{what} returned {len(pts)} points; expected {len(want)} (steps + 1, x0 first).")
    k = next(i for i, (p, q) in enumerate(zip(pts, want)) if not same([p], [q]))
    E.fail(f"{what} is wrong at point {k}: expected {want[k]}, got {pts[k]}.")


@st.composite
def _trainers(draw):
    kind = draw(st.sampled_from(["gd", "sgd", "affine"]))
    if kind == "gd":
        return ("gd", draw(_etas))
    if kind == "sgd":
        return ("sgd", draw(_etas), draw(st.integers(0, 10**6)))
    return (
        "affine",
        draw(st.sampled_from([0.5, -0.8, 1.1])),
        draw(st.sampled_from([0.9, -0.5])),
        draw(st.sampled_from([0.25, -1.0])),
    )


@check("train_2d", "steps + 1 points, each the trainer applied to the one before", weight=2)
def train_2d_points(ctx):
    @ctx.given(_trainers(), st.integers(0, 25), _coords, _coords)
    def prop(spec, steps, a, b):
        got = ctx.probe("gradient_descent.run_train_2d", spec, steps, (a, b))
        want = ctx.expected(_reference_train_2d, spec, steps=steps, x0=(a, b))

        def restart_each_time():
            t = P.make_trainer(spec)
            return [(a, b)] + [t(a, b) for _ in range(steps)]

        _check_points(
            got,
            want,
            f"train_2d(trainer, steps={steps}, x0=({a}, {b})) with trainer {spec}",
            [
                Mistake(
                    "the default x0 used instead of the given one",
                    "Start from the x0 argument.",
                    lambda: ctx.expected(_reference_train_2d, spec, steps=steps),
                ),
                Mistake(
                    "the trainer applied to x0 every time",
                    "Feed each new point back in: x1, x2 = trainer(x1, x2).",
                    restart_each_time,
                ),
            ],
        )

    prop()


@check("train_2d", "the defaults: 20 steps from (-5, -2)")
def train_2d_defaults(ctx):
    spec = ("gd", 0.1)
    got = ctx.probe("gradient_descent.run_train_2d", spec)
    want = ctx.expected(_reference_train_2d, spec)
    _check_points(got, want, "train_2d(trainer) with a gradient step of eta=0.1 (defaults)")


# -- learning-rate schedules ------------------------------------------------------------------

_times = st.one_of(st.integers(0, 1000), st.floats(0, 500, allow_nan=False))


def _schedule(ctx, stub, t, mistakes):
    got = _num(ctx.call(stub, t), f"{stub}({t!r})")
    want = ctx.expected(lambda ref: float(getattr(ref, stub)(t)))
    E.near(got, want, f"{stub}({t!r})", rtol=1e-9, atol=0.0, mistakes=mistakes)


@check("exponential_lr", "exp(-0.1 * t) for integer and real t")
def exponential_values(ctx):
    @ctx.given(_times)
    def prop(t):
        _schedule(
            ctx,
            "exponential_lr",
            t,
            [
                Mistake(
                    "the exponent's sign flipped",
                    "The rate decays: exp(-0.1 * t).",
                    lambda: math.exp(0.1 * t) if t < 7000 else math.inf,
                ),
                Mistake(
                    "t + 1 instead of t",
                    "The book's version counts t up before using it; this one is given t: exp(-0.1 * t).",
                    lambda: math.exp(-0.1 * (t + 1)),
                ),
                Mistake("exp(-t)", "The decay constant is 0.1: exp(-0.1 * t).", lambda: math.exp(-t)),
            ],
        )

    prop()
    _schedule(ctx, "exponential_lr", 0, [])


@check("polynomial_lr", "(1 + 0.1 * t) ** -0.5 for integer and real t")
def polynomial_values(ctx):
    @ctx.given(_times)
    def prop(t):
        _schedule(
            ctx,
            "polynomial_lr",
            t,
            [
                Mistake(
                    "the exponent's sign flipped",
                    "The rate decays: (1 + 0.1 * t) ** (-0.5).",
                    lambda: (1 + 0.1 * t) ** 0.5,
                ),
                Mistake(
                    "t + 1 instead of t",
                    "The book's version counts t up before using it; this one is given t.",
                    lambda: (1 + 0.1 * (t + 1)) ** -0.5,
                ),
                Mistake("the exponent -1", "alpha = 0.5: (1 + 0.1 * t) ** (-0.5).", lambda: (1 + 0.1 * t) ** -1),
                Mistake("(1 + t) ** -0.5", "The step count is scaled by beta = 0.1.", lambda: (1 + t) ** -0.5),
            ],
        )

    prop()
