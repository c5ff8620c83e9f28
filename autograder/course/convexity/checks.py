"""Checks for Task 6, convexity (d2l 11.2).

``jensen_gap``, ``second_derivative`` and ``hessian`` take a function, which cannot cross
the wire: the checks name one of the functions in ``probes.py`` beside this file and a
probe builds it in the worker. The reference and the analytic derivatives come from the
same table, imported here.

Why this file is long: five stubs, ten checks and ten named mistakes, each with the
message and hint a student reads, kept together because one module is one place.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from ...framework import checks_for
from ...framework import expect as E
from ...framework import strategies as S
from ...framework.expect import Mistake
from ...reference import mistakes as mistakes_of
from . import probes as P

check = checks_for("convexity")

CONVEX = sorted(k for k, v in P.FUNCTIONS_1D.items() if v.shape == "convex")
CONCAVE = sorted(k for k, v in P.FUNCTIONS_1D.items() if v.shape == "concave")
# Where each function is worth evaluating: exp, cosh and x**4 grow fast.
SPAN = {"exp(x)": 4.0, "x**4 - 3x": 3.0, "cosh(0.5x)": 8.0, "-cosh(0.5x)": 8.0}


def _f64(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.float64).cpu()


# -- jensen_gap -----------------------------------------------------------------------------

ALL_1D = tuple(sorted(P.FUNCTIONS_1D))


@st.composite
def _points_and_weights(draw, names=ALL_1D):
    name = draw(st.sampled_from(names))
    n = draw(st.integers(1, 8))
    seed = draw(S.seeds)
    dtype = draw(S.DTYPES)
    kind = draw(st.sampled_from(["spread", "sparse", "one-hot"]))
    g = torch.Generator().manual_seed(seed)
    span = SPAN.get(name, 5.0)
    xs = (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1) * span
    w = torch.rand(n, generator=g, dtype=torch.float64) + 1e-3
    if kind == "sparse":
        w = w * (torch.rand(n, generator=g, dtype=torch.float64) < 0.5)
        w[int(torch.randint(0, n, (1,), generator=g))] += 0.5
    elif kind == "one-hot":
        w = torch.zeros(n, dtype=torch.float64)
        w[int(torch.randint(0, n, (1,), generator=g))] = 1.0
    w = w / w.sum()
    return (name, *(t.to(dtype) for t in (xs, w)))


def _jensen(ctx, name, xs, w):
    out = ctx.probe("convexity.jensen", name, xs, w)
    E.that(
        not out["changed"],
        "jensen_gap changed xs or weights in place; the contract says stubs never change their inputs.",
    )
    return E.number(out["value"], f"jensen_gap(f, xs, weights) for f(x) = {name}")


def _reference_gap(ref, name, xs, w) -> float:
    """The reference's Jensen gap for the named f (built here: a function is not a value)."""
    return float(ref.jensen_gap(P.FUNCTIONS_1D[name].f, xs, w))


def _gap_tolerance(f, xs, w) -> float:
    x64, w64 = _f64(xs), _f64(w)
    scale = float((w64 * f(x64).abs()).sum() + f((w64 * x64).sum()).abs()) + 1e-12
    eps = 1e-10 if xs.dtype == torch.float64 else 2e-5
    return eps * scale


@check("jensen_gap", "equals sum w_i f(x_i) - f(sum w_i x_i), as a Python float", weight=2)
def jensen_values(ctx):
    @ctx.given(_points_and_weights())
    def prop(case):
        name, xs, w = case
        f = P.FUNCTIONS_1D[name].f
        got = _jensen(ctx, name, xs, w)
        x64, w64 = _f64(xs), _f64(w)
        want = ctx.expected(_reference_gap, name, x64, w64)
        E.near(
            got,
            want,
            f"jensen_gap for f(x) = {name}, xs = {x64.tolist()}, weights = {w64.tolist()}",
            rtol=0,
            atol=_gap_tolerance(f, xs, w),
            mistakes=[
                Mistake(
                    "the gap with its sign flipped"
                    if want > 0
                    else "an absolute value, or the gap with its sign flipped",
                    "Jensen's gap "
                    "is the average of the values minus the value at the average, "
                    "sum w_i f(x_i) - f(sum w_i x_i), and it is signed: negative for "
                    "concave functions.",
                    -want,
                ),
                Mistake(
                    "an unweighted average",
                    "Weight both averages with `weights`: (weights * f(xs)).sum() and f((weights * xs).sum()).",
                    lambda: float(f(x64).mean() - f(x64.mean())),
                ),
            ],
        )

    prop()


@check("jensen_gap", "non-negative for convex f, negative for a concave one")
def jensen_sign(ctx):
    @ctx.given(_points_and_weights(tuple(CONVEX)))
    def convex(case):
        name, xs, w = case
        got = _jensen(ctx, name, xs, w)
        E.that(
            got >= -_gap_tolerance(P.FUNCTIONS_1D[name].f, xs, w),
            lambda: (
                f"jensen_gap is {got!r} for the convex f(x) = {name} (xs = {_f64(xs).tolist()}, "
                f"weights = {_f64(w).tolist()}): Jensen's inequality says it cannot be negative. "
                "Is the sign of the difference flipped?"
            ),
        )

    convex()
    xs = torch.tensor([-2.0, 1.0, 3.0], dtype=torch.float64)
    w = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    for name in CONCAVE:
        got = _jensen(ctx, name, xs, w)
        want = ctx.expected(_reference_gap, name, xs, w)
        E.that(
            got < 0,
            f"jensen_gap is {got!r} for the concave f(x) = {name} with xs = "
            f"{xs.tolist()} and weights = {w.tolist()}; it should be negative ({want:.6g}). "
            + (
                "Returning an absolute value hides the sign: the gap is signed."
                if math.isclose(got, -want, rel_tol=1e-6)
                else ""
            ),
        )


# -- second_derivative ----------------------------------------------------------------------


def _second(ctx, name, x):
    out = ctx.probe("convexity.second", name, x)
    value = E.number(out["value"], f"second_derivative(f, {x!r}) for f(x) = {name}")
    return value, out


@check("second_derivative", "matches the analytic f''(x), as a Python float", weight=2)
def second_values(ctx):
    @ctx.given(st.sampled_from(sorted(P.FUNCTIONS_1D)), st.floats(-1, 1), st.sampled_from([1, 3]))
    def prop(name, u, stretch):
        x = round(u * SPAN.get(name, 5.0) * stretch / 3, 6)
        fn = P.FUNCTIONS_1D[name]
        got, _ = _second(ctx, name, x)
        t = torch.tensor(x, dtype=torch.float64)
        want = float(fn.d2(t))
        E.near(
            got,
            want,
            f"second_derivative(f, {x!r}) for f(x) = {name}",
            rtol=1e-5,
            atol=1e-5,
            mistakes=[
                Mistake(
                    "the first derivative",
                    "Differentiate twice: the first "
                    "torch.autograd.grad needs create_graph=True so that its "
                    "result can be differentiated again.",
                    float(fn.d1(t)),
                ),
                Mistake("half the second derivative", "f'' is the derivative of f'; no factor 1/2.", want / 2),
            ],
        )

    prop()


@check("second_derivative", "uses automatic differentiation, not finite differences", needs_correctness=True)
def second_autograd(ctx):
    for name, x in (("cosh(0.5x)", 1.5), ("x cos(0.15 pi x)", 10.0)):
        _, out = _second(ctx, name, x)
        E.that(
            out["with_grad"] > 0,
            f"second_derivative never called f on a tensor that "
            f"requires grad (it called f {out['calls']} times with plain numbers or "
            "tensors): that is finite differences, which lose half the digits. Use "
            "automatic differentiation: x = torch.tensor(x, requires_grad=True), then "
            "torch.autograd.grad twice (create_graph=True the first time).",
        )


# -- hessian --------------------------------------------------------------------------------


@st.composite
def _hessian_cases(draw):
    name = draw(st.sampled_from(sorted(P.FUNCTIONS_ND)))
    d = draw(st.integers(2, 6))
    dtype = draw(S.DTYPES)
    seed = draw(S.seeds)
    scale = 0.5 if name in ("rosenbrock", "exp(a . x)") else 1.5
    x = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale
    return name, x.to(dtype)


def _hess(ctx, name, x):
    out = ctx.probe("convexity.hess", name, x)
    E.that(
        not out["changed"],
        "hessian changed x in place; the contract says stubs never change their inputs (work on x.detach().clone()).",
    )
    return out


@check("hessian", "matches the analytic Hessian, in x's dtype", weight=2)
def hessian_values(ctx):
    @ctx.given(_hessian_cases())
    def prop(case):
        name, x = case
        out = _hess(ctx, name, x)
        H = P.FUNCTIONS_ND[name][1](_f64(x))
        want = H.to(x.dtype)
        g64 = _f64(x).requires_grad_(True)
        (grad,) = torch.autograd.grad(P.FUNCTIONS_ND[name][0](g64), g64)
        E.close(
            out["value"],
            want,
            f"hessian for f(x) = {name} at x = {_f64(x).tolist()} ({str(x.dtype).replace('torch.', '')})",
            mistakes=[
                Mistake(
                    "the row sums of the Hessian (the gradient of grad.sum())",
                    "torch.autograd.grad(grad.sum(), x) adds up the rows. Differentiate "
                    "each component grad[i] separately and stack the rows.",
                    lambda: H.sum(1),
                ),
                Mistake(
                    "the outer product of the gradient",
                    "The Hessian holds second derivatives; differentiate the gradient again.",
                    lambda: torch.outer(grad, grad),
                ),
                Mistake(
                    "only the diagonal",
                    "The mixed partial derivatives belong off the diagonal: row i is the gradient of grad[i].",
                    lambda: torch.diag(torch.diag(H)),
                ),
            ],
        )

    prop()


@check("hessian", "symmetric, by automatic differentiation", needs_correctness=True)
def hessian_symmetric(ctx):
    for name, x in (
        ("x^T M x, M not symmetric", [0.3, -1.2, 2.0, 0.7]),
        ("sum sin(x_i) x_(i+1)", [1.1, -0.4, 0.9]),
        ("rosenbrock", [-0.7, 0.55, 0.2]),
    ):
        x = torch.tensor(x, dtype=torch.float64)
        out = _hess(ctx, name, x)
        H = E.tensor(out["value"], f"hessian for f(x) = {name}")
        E.shape(H, (len(x), len(x)), f"hessian for f(x) = {name} and d = {len(x)}")
        H = _f64(H)
        asym = float((H - H.T).abs().max())
        scale = float(H.abs().max()) + 1e-300
        E.that(
            out["with_grad"] > 0,
            f"hessian never called f on a tensor that requires grad "
            f"(it called f {out['calls']} times): that is finite differences. Use automatic "
            "differentiation: torch.autograd.grad with create_graph=True, then "
            "differentiate each component of the gradient.",
        )
        E.that(
            asym <= 1e-10 * scale,
            f"The Hessian for f(x) = {name} at x = {x.tolist()} is "
            f"not symmetric: |H - H^T| reaches {asym:.3g} (entries up to {scale:.3g}). Second "
            "derivatives commute, so an exact Hessian is symmetric; differences of gradients "
            "(finite differences) are not.",
        )


# -- is_convex_quadratic --------------------------------------------------------------------


def _truth(value, what: str) -> bool:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype == torch.bool:
        return bool(value)
    if not isinstance(value, bool):
        E.fail(
            f"{what}: expected a bool, got {E.describe(value)}"
            + (" (convert with bool(...))" if value is not None else "")
            + "."
        )
    return value


# The known mistakes: (key, name, hint). What each answers is computed in solutions/mistakes/convexity.py (the
# solution's test with one thing changed, so instructor-only) and reaches the checks as
# values through ctx.expected: a student pack reads them from the answer key.
QUAD_MISTAKES = [
    (
        "eigvals",
        "the eigenvalues of A itself",
        "x^T A x only sees the symmetric part (A + A.T) / 2; the "
        "eigenvalues of a non-symmetric A (torch.linalg.eigvals, real parts) can all be positive "
        "while the form still takes negative values.",
    ),
    (
        "eigvalsh",
        "eigvalsh on the non-symmetric A",
        "torch.linalg.eigvalsh assumes a symmetric matrix "
        "and reads only its lower triangle; symmetrise first: (A + A.T) / 2.",
    ),
    (
        "zero",
        "a threshold of 0",
        "Rounding makes the eigenvalues of a singular positive semidefinite "
        "matrix slightly negative; the contract's threshold is -1e-6.",
    ),
    (
        "definite",
        "a test for positive definiteness (Cholesky, or eigenvalues > 0)",
        "Convex needs positive *semi*definite: a zero eigenvalue is allowed.",
    ),
    (
        "diagonal",
        "the diagonal only",
        "Nonnegative diagonal entries are necessary, not sufficient: use the eigenvalues of the symmetric part.",
    ),
]


def _reference_quadratic_mistakes(ref, mats) -> dict[str, list[bool]]:
    """What each known mistake answers for each matrix of ``mats``, by key."""
    mistakes = mistakes_of(ref)  # solutions/mistakes/: where the solutions are, never in a pack

    return {key: [bool(mistakes.QUADRATIC[key](A)) for A in mats] for key, _, _ in QUAD_MISTAKES}


def _quadratic_mistakes(ctx, mats) -> list[Mistake]:
    """The known mistakes on ``mats``, each answering a list of bools (one key entry for all)."""
    answers = lambda: ctx.expected(_reference_quadratic_mistakes, mats)  # noqa: E731
    found = [Mistake(name, hint, lambda key=key: answers()[key]) for key, name, hint in QUAD_MISTAKES]
    return E.recorded(found)  # compared here, not in expect.py: record them all for the key


FIXED = [
    [[1.0, 4.0], [0.0, 1.0]],
    [[1.0, 0.0], [4.0, 1.0]],
    [[1.0, -3.0], [3.0, 2.0]],
    [[1.0, 1.0], [1.0, 1.0]],
    [[1.0, 0.0], [0.0, 0.0]],
    [[2.0, 0.0], [0.0, -1e-7]],
    [[2.0, 0.0], [0.0, -2e-6]],
    # Either side of the -1e-6 threshold, close enough that a symmetric part scaled by
    # mistake ((A + A.T) * 2, or not halved) crosses it (found by `divekit audit`).
    [[2.0, 0.0], [0.0, -7e-7]],
    [[2.0, 0.0], [0.0, -1.2e-6]],
    [[2.0, 1.0, 0.0], [1.0, 2.0, 5.0], [0.0, -5.0, 1.0]],
    [[-1.0]],
]


@check("is_convex_quadratic", "matrices chosen to tell the usual mistakes apart")
def quadratic_fixed(ctx):
    mats = [torch.tensor(m, dtype=torch.float64) for m in FIXED]
    got = [_truth(ctx.call("is_convex_quadratic", A), f"is_convex_quadratic({A.tolist()})") for A in mats]
    want = ctx.expected(lambda ref: [bool(ref.is_convex_quadratic(A)) for A in mats])
    mistakes = _quadratic_mistakes(ctx, mats)
    if got == want:
        return
    wrong = [[A.tolist(), w] for A, g, w in zip(mats, got, want) if g != w]
    listing = "; ".join(f"{A} should give {w}" for A, w in wrong[:3])
    for m in mistakes:
        if m.answer() == got:
            E.fail(f"is_convex_quadratic is wrong ({listing}): this is {m.name}. {m.hint}")
    E.fail(
        f"is_convex_quadratic is wrong: {listing}. Convex means the symmetric part "
        "(A + A.T) / 2 has no eigenvalue below -1e-6."
    )


@st.composite
def _quadratics(draw):
    d = draw(st.integers(1, 6))
    lam = draw(st.sampled_from([-1.0, -1e-3, -1e-5, -2e-6, -5e-7, -1e-7, 0.0, 1e-3, 1.0]))
    near = abs(lam) < 1e-3 or lam == 0.0
    dtype = torch.float64 if near else draw(S.DTYPES)
    skew = draw(st.sampled_from([0.0, 1.0, 10.0]))
    seed = draw(S.seeds)
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    rest = torch.rand(d - 1, generator=g, dtype=torch.float64) * 3 + max(lam, 0) + 0.1
    L = torch.cat([torch.tensor([lam], dtype=torch.float64), rest])
    B = torch.randn(d, d, generator=g, dtype=torch.float64)
    A = Q @ torch.diag(L) @ Q.T + skew * (B - B.T) / 2
    return A.to(dtype), lam


@check("is_convex_quadratic", "agrees with the symmetric part's eigenvalues (threshold -1e-6)", weight=2)
def quadratic_random(ctx):
    @ctx.given(_quadratics())
    def prop(case):
        A, lam = case
        got = _truth(ctx.call("is_convex_quadratic", A), "is_convex_quadratic(A)")
        want = lam >= -1e-6
        mistakes = _quadratic_mistakes(ctx, [A])
        if got != want:
            for m in mistakes:
                if m.answer() == [got]:
                    E.fail(
                        f"is_convex_quadratic returned {got} for a {tuple(A.shape)} matrix "
                        f"whose symmetric part has smallest eigenvalue {lam:g}: this looks "
                        f"like {m.name}. {m.hint}"
                    )
            E.fail(
                f"is_convex_quadratic returned {got} for a {tuple(A.shape)} matrix whose "
                f"symmetric part has smallest eigenvalue {lam:g} (expected {want})."
            )

    prop()


# -- project_onto_ball ----------------------------------------------------------------------


@st.composite
def _ball_cases(draw):
    d = draw(st.integers(1, 6))
    dtype = draw(S.DTYPES)
    radius = draw(st.sampled_from([0.1, 1.0, 5.0]))
    where = draw(st.sampled_from(["inside", "outside", "far", "center"]))
    seed = draw(S.seeds)
    g = torch.Generator().manual_seed(seed)
    spread = draw(st.sampled_from([0.0, 1.0, 10.0]))
    center = torch.randn(d, generator=g, dtype=torch.float64) * spread
    u = torch.randn(d, generator=g, dtype=torch.float64)
    u = u / torch.linalg.norm(u)
    r = float(torch.rand(1, generator=g, dtype=torch.float64))
    frac = {"inside": 0.95 * r, "outside": 1.05 + r, "far": 100.0, "center": 0.0}[where]
    x = center + u * radius * frac
    return (*(t.to(dtype) for t in (x, center)), radius, where)


def _project(ctx, x, center, radius):
    result = ctx.run("project_onto_ball", x, center, radius, return_args=True)
    E.unchanged(x, result.args[0], "x")
    E.unchanged(center, result.args[1], "center")
    return result.value


@check("project_onto_ball", "the closest point of the ball: points inside, outside, at the centre", weight=2)
def ball_values(ctx):
    @ctx.given(_ball_cases())
    def prop(case):
        x, center, radius, where = case
        got = _project(ctx, x, center, radius)
        want = ctx.expected(lambda ref: ref.project_onto_ball(x, center, radius))
        offset = x - center
        norm = torch.linalg.norm(offset)
        E.close(
            got,
            want,
            f"project_onto_ball for a point {where} the ball (radius {radius}, "
            f"dimension {len(x)}, {str(x.dtype).replace('torch.', '')})",
            mistakes=[
                Mistake(
                    "the boundary point for a point inside",
                    "A point inside the ball "
                    "is already feasible: return it unchanged and only project points "
                    "with ||x - center|| > radius.",
                    lambda: center + offset * (radius / norm),
                ),
                Mistake(
                    "the centre left out",
                    "Project relative to the centre and add it back: center + radius * (x - center) / ||x - center||.",
                    lambda: offset * (radius / norm) if norm > radius else x,
                ),
                Mistake(
                    "clipping each coordinate",
                    "Clamping coordinates projects onto a "
                    "box; the ball scales the whole offset by radius / ||x - center||.",
                    lambda: torch.clamp(x, center - radius, center + radius),
                ),
            ],
        )

    prop()


@check("project_onto_ball", "feasible, idempotent and never farther from the ball's points than x")
def ball_properties(ctx):
    @ctx.given(_ball_cases())
    def prop(case):
        x, center, radius, where = case
        y = E.tensor(_project(ctx, x, center, radius), "project_onto_ball(x, center, radius)")
        E.shape(y, x.shape, "project_onto_ball(x, center, radius)")
        eps = 1e-9 if x.dtype == torch.float64 else 2e-5
        tol = eps * (radius + float(center.abs().max()) + 1)
        x64, c64, y64 = _f64(x), _f64(center), _f64(y)
        dist_y = float(torch.linalg.norm(y64 - c64))
        inside = float(torch.linalg.norm(x64 - c64)) <= radius
        if inside:
            E.that(
                float((y64 - x64).abs().max()) <= tol,
                f"x = {x64.tolist()} lies inside the "
                f"ball (radius {radius}) but moved to {y64.tolist()}: a feasible point is its "
                "own projection.",
            )
        else:
            E.that(
                abs(dist_y - radius) <= tol,
                f"x = {x64.tolist()} lies outside the ball, so "
                f"its projection should be on the sphere (distance {radius} from the centre); "
                f"got distance {dist_y:.10g}.",
            )
        again = E.tensor(_project(ctx, y, center, radius), "project_onto_ball applied twice")
        E.that(
            float((_f64(again) - y64).abs().max()) <= tol,
            f"Projecting twice moved the "
            f"point again ({y64.tolist()} -> {_f64(again).tolist()}): a projection is "
            "idempotent.",
        )
        g = torch.Generator().manual_seed(len(x))
        for _ in range(5):
            u = torch.randn(len(x), generator=g, dtype=torch.float64)
            p = c64 + u / torch.linalg.norm(u) * radius * float(torch.rand(1, generator=g))
            E.that(
                float(torch.linalg.norm(y64 - p)) <= float(torch.linalg.norm(x64 - p)) + tol,
                f"The projection {y64.tolist()} is farther than x = {x64.tolist()} from the "
                f"point {p.tolist()} of the ball: projecting onto a convex set never moves "
                "away from its points.",
            )

    prop()
