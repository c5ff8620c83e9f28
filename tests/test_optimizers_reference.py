"""The optimisation lessons' reference, checked against independent implementations.

The checks grade students against ``solutions/{optimizers,gradient_descent,convexity}.py``
and the function tables in ``autograder/course/*/probes.py``; here those are checked in turn:
the optimisers against ``torch.optim`` where the update is the same function (SGD,
momentum in its equivalent form, AdaDelta with lr=1, Adam with eps=1e-6), the others
against hand-computed values that pin where eps goes; the 1-D iterates against the
numbers the book prints; the analytic derivatives against autograd.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import reference
from autograder.course.convexity import probes as PC
from autograder.course.gradient_descent import probes as PG
from autograder.course.optimizers import probes as PO

pytestmark = pytest.mark.task6

OPT = reference.load("optimizers")
GD = reference.load("gradient_descent")
CVX = reference.load("convexity")

FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None)


def _run_book(name, hp, init, grads):
    """The reference optimiser over a gradient sequence; parameters and states per step."""
    params = [p.clone().requires_grad_(True) for p in init]
    states = PO.fresh_states(name, params)
    hp = dict(hp)
    out = []
    for k in range(grads[0].shape[0]):
        for p, g in zip(params, grads):
            p.grad = g[k].clone()
        getattr(OPT, name)(params, states, hp)
        out.append(
            (
                [p.detach().clone() for p in params],
                [tuple(t.clone() for t in s) if isinstance(s, tuple) else s.clone() for s in (states or [])],
            )
        )
    return out, hp


def _run_torch(cls, kwargs, init, grads):
    params = [p.clone().requires_grad_(True) for p in init]
    opt = cls(params, **kwargs)
    out = []
    for k in range(grads[0].shape[0]):
        for p, g in zip(params, grads):
            p.grad = g[k].clone()
        opt.step()
        out.append(
            (
                [p.detach().clone() for p in params],
                [
                    dict((key, v.clone()) for key, v in opt.state[p].items() if isinstance(v, torch.Tensor))
                    for p in params
                ],
            )
        )
    return out


@st.composite
def _sequences(draw):
    n = draw(st.integers(1, 3))
    shapes = [tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))) for _ in range(n)]
    steps = draw(st.integers(1, 15))
    scale = draw(st.sampled_from([1e-8, 1e-4, 1.0, 1e3]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    init = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    grads = [torch.randn((steps, *s), generator=g, dtype=torch.float64) * scale for s in shapes]
    return init, grads


def _close(a, b, rtol=1e-10, atol=1e-14):
    assert torch.allclose(a, b, rtol=rtol, atol=atol), (a, b)


@FAST
@given(_sequences(), st.sampled_from([0.01, 0.1, 0.5]))
def test_sgd_reference_is_torch_sgd(case, lr):
    init, grads = case
    mine, _ = _run_book("sgd", {"lr": lr}, init, grads)
    theirs = _run_torch(torch.optim.SGD, {"lr": lr}, init, grads)
    for (p1, _), (p2, _) in zip(mine, theirs):
        for a, b in zip(p1, p2):
            _close(a, b)


@FAST
@given(_sequences(), st.sampled_from([0.01, 0.1, 0.5]), st.sampled_from([0.5, 0.9]))
def test_momentum_reference_is_torch_sgd_with_momentum(case, lr, momentum):
    # torch: buf = momentum * buf + g; p -= lr * buf. The curriculum's (first edition's)
    # v = momentum * v + lr * g; p -= v is the same update with v = lr * buf (constant lr).
    init, grads = case
    mine, _ = _run_book("sgd_momentum", {"lr": lr, "momentum": momentum}, init, grads)
    theirs = _run_torch(torch.optim.SGD, {"lr": lr, "momentum": momentum}, init, grads)
    for (p1, s1), (p2, s2) in zip(mine, theirs):
        for a, b, v, st_ in zip(p1, p2, s1, s2):
            _close(a, b)
            _close(v, lr * st_["momentum_buffer"])


@FAST
@given(_sequences(), st.sampled_from([0.001, 0.01, 0.1]))
def test_adam_reference_is_torch_adam_with_eps_1e_6(case, lr):
    # torch.optim.Adam puts eps outside the root of the bias-corrected s, like the book;
    # with tiny gradients (scale 1e-8) that placement decides the step.
    init, grads = case
    mine, hp = _run_book("adam", {"lr": lr, "t": 1}, init, grads)
    theirs = _run_torch(torch.optim.Adam, {"lr": lr, "betas": (0.9, 0.999), "eps": 1e-6}, init, grads)
    assert hp["t"] == 1 + grads[0].shape[0]
    for (p1, s1), (p2, s2) in zip(mine, theirs):
        for a, b, (v, s), state in zip(p1, p2, s1, s2):
            _close(a, b, rtol=1e-9, atol=1e-12)
            _close(v, state["exp_avg"])
            _close(s, state["exp_avg_sq"])


@FAST
@given(_sequences(), st.sampled_from([0.5, 0.9]))
def test_adadelta_reference_is_torch_adadelta_with_lr_1(case, rho):
    init, grads = case
    mine, _ = _run_book("adadelta", {"rho": rho}, init, grads)
    theirs = _run_torch(torch.optim.Adadelta, {"lr": 1.0, "rho": rho, "eps": 1e-5}, init, grads)
    for (p1, s1), (p2, s2) in zip(mine, theirs):
        for a, b, (s, delta), state in zip(p1, p2, s1, s2):
            _close(a, b, rtol=1e-9, atol=1e-12)
            _close(s, state["square_avg"])
            _close(delta, state["acc_delta"], rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize(
    "name, cls, kwargs",
    [
        ("adagrad", torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-10}),
        ("rmsprop", torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-10}),
    ],
)
def test_adagrad_rmsprop_reference_near_torch_where_eps_is_negligible(name, cls, kwargs):
    # torch adds eps outside the root, the book inside: with gradients of order 1 the two
    # agree to about eps / s; the tests below pin the book's placement.
    g = torch.Generator().manual_seed(0)
    init = [torch.randn(3, 2, generator=g, dtype=torch.float64)]
    grads = [torch.randn(20, 3, 2, generator=g, dtype=torch.float64) + 2]
    hp = {"lr": kwargs["lr"]} | ({"beta": kwargs["alpha"]} if name == "rmsprop" else {})
    mine, _ = _run_book(name, hp, init, grads)
    theirs = _run_torch(cls, kwargs, init, grads)
    for (p1, _), (p2, _) in zip(mine, theirs):
        _close(p1[0], p2[0], rtol=1e-6, atol=1e-8)


def test_eps_inside_the_root_for_adagrad_and_rmsprop():
    g = torch.tensor([1e-5, -1e-3, 2.0], dtype=torch.float64)
    for name, hp, s in (("adagrad", {"lr": 0.1}, g**2), ("rmsprop", {"lr": 0.1, "beta": 0.9}, 0.1 * g**2)):
        ((params, states),) = _run_book(name, hp, [torch.zeros(3, dtype=torch.float64)], [g[None]])[0]
        _close(params[0], -0.1 * g / torch.sqrt(s + 1e-6))
        _close(states[0], s)


def test_adam_first_step_by_hand():
    g = torch.tensor([1e-8, 1e-4, -3.0], dtype=torch.float64)
    ((params, _),) = _run_book("adam", {"lr": 0.01, "t": 1}, [torch.zeros(3, dtype=torch.float64)], [g[None]])[0]
    # After one step v_hat = g and s_hat = g**2: the step is lr * g / (|g| + eps).
    _close(params[0], -0.01 * g / (g.abs() + 1e-6))


def test_probe_trajectory_matches_a_plain_loop():
    g = torch.Generator().manual_seed(1)
    init = [torch.randn(4, generator=g, dtype=torch.float64), torch.randn(2, 3, generator=g, dtype=torch.float64)]
    grads = [torch.randn(6, *p.shape, generator=g, dtype=torch.float64) for p in init]
    for name, hp in (
        ("adam", {"lr": 0.01, "t": 1}),
        ("adadelta", {"rho": 0.9}),
        ("sgd_momentum", {"lr": 0.1, "momentum": 0.5}),
    ):
        rec = PO.trajectory(OPT, name, init, hp, 6, grads)
        assert rec["problem"] is None
        plain, _ = _run_book(name, hp, init, grads)
        for k, (ps, _) in enumerate(plain):
            for i, p in enumerate(ps):
                assert torch.equal(rec["params"][i][k + 1], p)


def test_airfoil_reference_runs_end_where_the_book_says():
    from autograder import data

    try:
        features, labels = data.load_airfoil(download=False)
    except data.DatasetError as exc:
        pytest.skip(f"airfoil data unavailable: {exc}")
    from autograder.course.optimizers.checks import BOOK_HYPERPARAMS, CEILING

    for name, hp in BOOK_HYPERPARAMS.items():
        losses = PO.train_airfoil(OPT, name, features, labels, hp, seed=0)["losses"]
        assert len(losses) == 31
        # The book's runs end between 0.242 and 0.246 (AdaGrad a little higher).
        assert 0.24 < losses[-1] < min(CEILING, 0.25), (name, losses[-1])


# -- gradient descent: the numbers the book prints --------------------------------------------


def test_gradient_descent_reference_prints_the_books_numbers():
    F = PG.FUNCTIONS
    assert GD.gd(0.2, F["x**2"].grad) == pytest.approx(
        [10.0, 6.0, 3.6, 2.16, 1.296, 0.7776, 0.46656, 0.279936, 0.1679616, 0.10077696, 0.060466176], rel=1e-12
    )
    assert GD.gd(0.05, F["x**2"].grad)[-1] == pytest.approx(3.486784, rel=1e-6)
    assert GD.gd(1.1, F["x**2"].grad)[-1] == pytest.approx(61.917364, rel=1e-6)
    assert GD.gd(2, F["x cos(0.15 pi x)"].grad)[-1] == pytest.approx(-1.528166, rel=1e-6)
    cosh, xcos = F["cosh(0.5x)"], F["x cos(0.15 pi x)"]
    assert GD.newton(1, cosh.grad, cosh.hess)[-1] == pytest.approx(0.0, abs=1e-12)
    assert GD.newton(1, xcos.grad, xcos.hess)[-1] == pytest.approx(26.8341, rel=1e-5)
    assert GD.newton(0.5, xcos.grad, xcos.hess)[-1] == pytest.approx(7.2699, rel=1e-5)
    assert len(GD.train_2d(PG.make_trainer(("gd", 0.1)))) == 21
    assert GD.train_2d(PG.make_trainer(("gd", 0.1)))[-1] == pytest.approx(
        (-0.057646, -0.000073), abs=1e-6
    )  # the book: epoch 20, x1: -0.057646, x2: -0.000073
    assert GD.exponential_lr(10) == pytest.approx(math.exp(-1))
    assert GD.polynomial_lr(10) == pytest.approx(2**-0.5)


@pytest.mark.parametrize("name", sorted(PG.FUNCTIONS))
def test_gradient_descent_reference_derivatives(name):
    fn = PG.FUNCTIONS[name]
    for x in (-3.0, -0.7, 0.4, 2.5):
        h = 1e-5
        assert fn.grad(x) == pytest.approx((fn.f(x + h) - fn.f(x - h)) / (2 * h), rel=1e-6, abs=1e-6)
        assert fn.hess(x) == pytest.approx((fn.grad(x + h) - fn.grad(x - h)) / (2 * h), rel=1e-6, abs=1e-6)


# -- convexity: the analytic derivatives the checks compare with -----------------------------


@pytest.mark.parametrize("name", sorted(PC.FUNCTIONS_1D))
def test_convexity_reference_first_and_second_derivatives(name):
    fn = PC.FUNCTIONS_1D[name]
    for x in (-2.5, -0.3, 0.0, 1.7, 4.0):
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        (d1,) = torch.autograd.grad(fn.f(t), t, create_graph=True)
        (d2,) = torch.autograd.grad(d1, t)
        d1 = d1.detach()
        assert float(d1) == pytest.approx(float(fn.d1(t.detach())), rel=1e-12, abs=1e-12)
        assert float(d2) == pytest.approx(float(fn.d2(t.detach())), rel=1e-12, abs=1e-12)
        assert CVX.second_derivative(fn.f, x) == pytest.approx(float(d2), rel=1e-12, abs=1e-12)
        if fn.shape != "neither":
            assert (float(d2) >= 0) == (fn.shape == "convex")


@pytest.mark.parametrize("name", sorted(PC.FUNCTIONS_ND))
def test_convexity_reference_hessians(name):
    f, H = PC.FUNCTIONS_ND[name]
    for d in (2, 3, 5):
        x = torch.randn(d, generator=torch.Generator().manual_seed(d), dtype=torch.float64)
        want = torch.autograd.functional.hessian(f, x)
        _close(H(x), want, rtol=1e-10, atol=1e-10)
        _close(CVX.hessian(f, x), want, rtol=1e-10, atol=1e-10)


def test_convexity_reference_on_named_matrices():
    A = torch.tensor([[1.0, 4.0], [0.0, 1.0]], dtype=torch.float64)
    assert CVX.is_convex_quadratic(A) is False
    assert bool(torch.linalg.eigvals(A).real.min() >= 0)  # why the symmetric part matters
    assert CVX.is_convex_quadratic(torch.tensor([[2.0, 0.0], [0.0, -1e-7]])) is True
    assert CVX.is_convex_quadratic(torch.tensor([[2.0, 0.0], [0.0, -2e-6]])) is False
    c = torch.zeros(2, dtype=torch.float64)
    assert torch.equal(
        CVX.project_onto_ball(torch.tensor([0.3, 0.4], dtype=torch.float64), c, 1.0),
        torch.tensor([0.3, 0.4], dtype=torch.float64),
    )
    _close(
        CVX.project_onto_ball(torch.tensor([3.0, 4.0], dtype=torch.float64), c, 1.0),
        torch.tensor([0.6, 0.8], dtype=torch.float64),
    )
    gap = CVX.jensen_gap(PC.FUNCTIONS_1D["x**2"].f, torch.tensor([-1.0, 1.0]), torch.tensor([0.5, 0.5]))
    assert isinstance(gap, float) and gap == 1.0
