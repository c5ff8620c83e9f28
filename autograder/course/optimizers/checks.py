"""Checks for Task 6, optimisation algorithms (d2l 11.5-11.10; zh PyTorch edition ch. 7).

Every optimiser gets the same four checks, registered in a loop at the end:

1. the in-place contract over a few calls (worker probe ``optimizers.trajectory``): the
   same parameter tensors, updated; gradients left alone; states updated in place;
   ``hyperparams['t']`` advanced once per call;
2. one step from a mid-run state, called directly (so the from-scratch rule sees what
   the stub runs), compared with the formula;
3. whole trajectories over many steps on hypothesis-drawn shapes, dtypes and
   hyperparameters, with tiny gradients (where the place of eps shows), large ones, and
   a quadratic objective whose gradients depend on where the optimiser went;
4. the book's airfoil run (train_ch11) against the reference's loss.

Every reference value (the reference's records, and those of the known mistakes, so a
wrong answer that matches one is named) goes through ``ctx.expected``: computed in the
judge where the solutions are, recorded in the answer key, looked up in a student pack.
The mistakes' names and hints are below (``KNOWN``); their implementations are the
reference's rules with one change, so they live in solutions/mistakes/optimizers.py.

Why this file is long: eleven stubs (five optimisers and their state initialisers) with
four checks each and the second edition's forms named as mistakes; one module, one place.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import types

import torch
from hypothesis import strategies as st

from ... import data, plots
from ...framework import checks_for
from ...framework import expect as E
from ...framework import strategies as S
from ...framework.answer_key import NotInKey
from ...framework.context import params as make_params
from ...framework.expect import Mistake
from ...reference import mistakes as mistakes_of
from ...session import StudentError
from ...worker.protocol import Param
from . import probes as P

check = checks_for("optimizers")

OPTIMIZERS = ("sgd", "sgd_momentum", "adagrad", "rmsprop", "adadelta", "adam")
STATEFUL = tuple(n for n in OPTIMIZERS if P.STATE_KIND[n])
# The book's airfoil runs (d2l 11.5-11.10): the learning rates it trains with.
BOOK_HYPERPARAMS = {
    "sgd": {"lr": 0.05},
    "sgd_momentum": {"lr": 0.02, "momentum": 0.5},
    "adagrad": {"lr": 0.1},
    "rmsprop": {"lr": 0.01, "beta": 0.9},
    "adadelta": {"rho": 0.9},
    "adam": {"lr": 0.01, "t": 1},
}
TITLES = {
    "sgd": "SGD",
    "sgd_momentum": "momentum",
    "adagrad": "AdaGrad",
    "rmsprop": "RMSProp",
    "adadelta": "AdaDelta",
    "adam": "Adam",
}
STATE_NAMES = {
    "sgd_momentum": ("v",),
    "adagrad": ("s",),
    "rmsprop": ("s",),
    "adadelta": ("s", "delta"),
    "adam": ("v", "s"),
}
# The airfoil threshold: the reference's final loss plus MARGIN, and never above CEILING.
# The book's runs end between 0.242 and 0.246; the same seed and data make a correct
# optimiser match the reference to float32 rounding.
MARGIN = 0.005
CEILING = 0.26


# -- known mistakes: what the student reads (their implementations: solutions/mistakes/optimizers.py) --------------

REBOUND_HINT = (
    "`s = beta * s + ...` (or `v = ...`) makes a new tensor and rebinds the local "
    "name; the state in the list never changes, so nothing carries over to the next "
    "call. Update the state in place: s[:] = ..., or s.mul_(...).add_(...)."
)
REBOUND = ("rebound", "the state rebound instead of updated in place", REBOUND_HINT)
# (id in mistakes.IMPLEMENTATIONS, name, hint) per optimiser; the stateful ones also get REBOUND.
KNOWN = {
    "sgd": [("ascent", "a step up the gradient (gradient ascent)", "Subtract: p -= lr * p.grad.")],
    "sgd_momentum": [
        # The second edition's form first: its states equal those of the form without
        # lr, and only its parameters are right, so where states differ it is this one.
        (
            "momentum_book2",
            "the second edition's form v = momentum * v + g, p -= lr * v",
            "The parameters "
            "come out the same, but this curriculum's state is v = momentum * v + lr * g "
            "(the lr inside v, as in the Chinese edition), and the state is graded too.",
        ),
        (
            "momentum_no_lr",
            "momentum without the learning rate: v = momentum * v + g, p -= v",
            "The velocity takes the scaled gradient: v = momentum * v + lr * g, then p -= v.",
        ),
    ],
    "adagrad": [
        (
            "adagrad_eps_outside",
            "eps outside the square root",
            "AdaGrad divides by sqrt(s + 1e-6): eps inside the root.",
        )
    ],
    "rmsprop": [
        (
            "rmsprop_swapped",
            "beta on the wrong term: s = (1 - beta) * s + beta * g**2",
            "The leaky average keeps beta of the old state: s = beta * s + (1 - beta) * g**2.",
        ),
        ("rmsprop_eps_outside", "eps outside the square root", "Divide by sqrt(s + 1e-6)."),
    ],
    "adadelta": [
        (
            "adadelta_raw_delta",
            "delta updated with the raw gradient",
            "delta is the leaky average of the squared *rescaled* gradient g' = g * sqrt((delta + eps) / (s + eps)).",
        ),
        ("adadelta_no_rescale", "eps in the wrong place", "g' = g * sqrt((delta + 1e-5) / (s + 1e-5))."),
    ],
    "adam": [
        (
            "adam_no_bias_correction",
            "Adam without bias correction",
            "Divide v by 1 - beta1**t and s by 1 - beta2**t before the step; early steps are too small otherwise.",
        ),
        (
            "adam_eps_inside",
            "eps inside the square root",
            "Adam divides by sqrt(s_hat) + eps: eps outside the root (it matters for tiny gradients).",
        ),
        (
            "adam_t_per_param",
            "t incremented once per parameter",
            "hyperparams['t'] += 1 belongs after the loop over the parameters: one step, one increment.",
        ),
        ("adam_t_fixed", "t never incremented", "Add 1 to hyperparams['t'] at the end of each call."),
    ],
}


def known(name: str) -> list[tuple[str, str, str]]:
    """(id, name, hint) of the known mistakes for optimiser ``name``."""
    return KNOWN[name] + ([REBOUND] if P.STATE_KIND[name] else [])


def _optimizer(ref, name: str, mistake: str | None):
    """The reference's optimiser ``name``, or its known mistake ``mistake`` (judge side)."""
    if mistake is None:
        return getattr(ref, name)
    # solutions/mistakes/: where the solutions are, never in a pack
    return mistakes_of(ref).implementation(ref, name, mistake)


def _reference_trajectory(ref, name, mistake, init, hp, steps, grads, objective):
    """The probe's record of the reference's optimiser (or of a known mistake) over a run."""
    return P.trajectory(_as(_optimizer(ref, name, mistake), name), name, init, hp, steps, grads, objective)


def _reference_one_step(ref, name, mistake, init, grads, states, hp):
    """Parameters, states and hyperparams after one call of the reference (or a mistake)."""
    return _one_step(_optimizer(ref, name, mistake), init, grads, states, hp)


# -- helpers ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _hyperparam_names(name: str, hp: dict):
    """A KeyError from the student's optimiser most likely names a hyperparameter: say so."""
    try:
        yield
    except StudentError as err:
        if err.type_name != "KeyError":
            raise
        book = (
            " The book's RMSProp calls it gamma; this curriculum calls it beta."
            if "gamma" in err.message and name == "rmsprop"
            else ""
        )
        E.fail(
            f"{name} raised KeyError: {err.message}. The hyperparams it is given hold "
            f"{', '.join(repr(k) for k in hp)} (the contract's names).{book}\n"
            f"{err.traceback}"
        )


def _as(fn, name):
    return types.SimpleNamespace(**{name: fn})


def _state_list(states):
    out = []
    for s in states or []:
        out += list(s) if isinstance(s, (tuple, list)) else [s]
    return out


def _problem(name: str, record: dict) -> None:
    """Fail with the in-place problem the probe saw, if any."""
    problem, step = record.get("problem"), record.get("step")
    if not problem:
        return
    where = f"After call {step + 1}, " if step is not None else ""
    E.fail(
        where
        + {
            "params replaced": f"params holds different tensor objects than before: {name} "
            "must update each parameter tensor in place (p -= ..., p[:] = ..., p.sub_(...)), not "
            "put new tensors into the list.",
            "states replaced": "the states list holds different tensors than before: update "
            "each state tensor in place (s[:] = ...), so the caller's states carry over to the next "
            "call.",
            "not a leaf": "a parameter is no longer a leaf tensor that requires grad: the "
            "update was recorded by autograd. Update inside `with torch.no_grad():`.",
            "grads changed": "the parameters' gradients were changed or cleared. This "
            "curriculum leaves zeroing the gradients to the training loop: do not call "
            "p.grad.zero_() (or set p.grad = None) in the optimiser.",
            "params reshaped": "a parameter changed shape or dtype.",
        }.get(problem, problem)
    )


def _hyperparams(name: str):
    lr = st.sampled_from([0.01, 0.1, 0.3])
    if name == "sgd" or name == "adagrad":
        return st.fixed_dictionaries({"lr": lr})
    if name == "sgd_momentum":
        return st.fixed_dictionaries({"lr": lr, "momentum": st.sampled_from([0.5, 0.9])})
    if name == "rmsprop":
        return st.fixed_dictionaries({"lr": lr, "beta": st.sampled_from([0.9, 0.7])})
    if name == "adadelta":
        return st.fixed_dictionaries({"rho": st.sampled_from([0.9, 0.5])})
    return st.fixed_dictionaries({"lr": lr, "t": st.sampled_from([1, 1, 4])})


def _fmt_hp(hp: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in hp.items())


@st.composite
def _runs(draw, name):
    """A run: parameter shapes and initial values, gradients or an objective, hyperparams."""
    n = draw(st.integers(1, 3))
    shapes = [draw(S.shapes(1, 2, 1, 4)) for _ in range(n)]
    dtype = draw(S.DTYPES)
    mode = draw(st.sampled_from(["sequence", "sequence", "quadratic"]))
    scale = draw(st.sampled_from([1e-8, 1e-4, 1.0, 1e3]))
    steps = draw(st.integers(4, 20))
    seed = draw(S.seeds)
    hp = draw(_hyperparams(name))
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(shape, generator=g, dtype=torch.float64)  # noqa: E731
    if mode == "sequence":
        init = [torch.zeros(s, dtype=dtype) for s in shapes]
        grads = [(rand(steps, *s) * scale).to(dtype) for s in shapes]
        return dict(init=init, hp=hp, steps=steps, grads=grads, objective=None, text=f"gradients of scale {scale:g}")
    init = [rand(*s).to(dtype) for s in shapes]
    a = [(torch.rand(s, generator=g, dtype=torch.float64) * 1.5 + 0.5).to(dtype) for s in shapes]
    c = [rand(*s).to(dtype) for s in shapes]
    return dict(
        init=init,
        hp=hp,
        steps=steps,
        grads=None,
        objective=(a, c),
        text="the quadratic objective sum(a * (p - c)**2) / 2",
    )


def _describe_run(run) -> str:
    shapes = ", ".join(str(tuple(t.shape)) for t in run["init"])
    dtype = str(run["init"][0].dtype).replace("torch.", "")
    return f"parameters of shapes {shapes} ({dtype}), {run['steps']} steps, {run['text']}, {_fmt_hp(run['hp'])}"


def _nan_check(got: torch.Tensor, what: str) -> None:
    if isinstance(got, torch.Tensor) and got.is_floating_point() and not torch.isfinite(got).all():
        E.fail(
            f"{what} became NaN or infinite, where the reference's stays finite. A division "
            "by a state that is still zero (eps left out of the denominator) or a step up "
            "the gradient does this."
        )


def _compare_record(ctx, name: str, got: dict, run: dict, label: str) -> None:
    """The student's trajectory record against the reference's, naming known mistakes."""
    _problem(name, got)
    args = (run["init"], run["hp"], run["steps"], run["grads"], run["objective"])
    want = ctx.expected(_reference_trajectory, name, None, *args)
    # Each mistake's record once per run (it is read for every parameter and state).
    known_ = [
        (m, h, functools.lru_cache(maxsize=1)(lambda k=k: ctx.expected(_reference_trajectory, name, k, *args)))
        for k, m, h in known(name)
    ]
    for i, (mine, ref) in enumerate(zip(got["params"], want["params"])):
        what = f"parameter {i} after each step (index = (step, ...)) for {label}"
        E.tensor(mine, what)
        frozen = mine.shape[0] > 1 and torch.equal(mine[1:], mine[:-1])
        if frozen and mine.shape == ref.shape and not torch.equal(ref[1:], ref[:-1]):
            E.fail(
                f"The parameters never change: {name} leaves them as they were. "
                "`p = p - ...` only rebinds the loop variable to a new tensor; update in "
                "place (p -= ..., p[:] = ...) inside torch.no_grad()."
            )
        _nan_check(mine, what)
        E.close(mine, ref, what, mistakes=[Mistake(m, h, lambda f=f, i=i: f()["params"][i]) for m, h, f in known_])
    if name == "adam":
        t0 = want["t"][0]
        ts = got["t"]
        if ts != want["t"]:
            ints = len(ts) > 1 and all(isinstance(t, int) for t in ts[:2])
            delta = ts[1] - ts[0] if ints else None
            n = len(run["init"])
            hint = (
                " It grew by the number of parameters each call: hyperparams['t'] += 1 "
                "belongs after the loop over the parameters (t incremented once per "
                "parameter)."
                if delta == n and n > 1
                else " It never changed: add 1 to hyperparams['t'] at the end of each call."
                if delta == 0
                else ""
            )
            E.fail(
                f"hyperparams['t'] after each call should be {want['t']} (starting at {t0}, "
                f"one more per call), got {ts}.{hint}"
            )
    names = STATE_NAMES.get(name, ())
    per = len(names)
    for j, (mine, ref) in enumerate(zip(got["states"], want["states"])):
        if ref is None:
            continue
        state = f"the state {names[j % per]} of parameter {j // per}" if per else "the state"
        what = f"{state} after each step (index = (step, ...)) for {label}"
        E.tensor(mine, what)
        if not bool(mine.abs().sum()) and bool(ref.abs().sum()):
            E.fail(f"{state[0].upper() + state[1:]} never changes between calls (it stays zero): " + REBOUND_HINT)
        E.close(mine, ref, what, mistakes=[Mistake(m, h, lambda f=f, j=j: f()["states"][j]) for m, h, f in known_])


# -- init_*_states ----------------------------------------------------------------------------


def _init_check(init_name: str, kind: str):
    def run(ctx):
        @ctx.given(st.lists(S.shapes(1, 3, 1, 5), min_size=1, max_size=3), st.sampled_from(["float32", "float64"]))
        def prop(shapes, dtype_name):
            info = ctx.probe("optimizers.init_states", init_name, shapes, dtype_name)
            what = f"{init_name}(params) for parameters of shapes {[tuple(s) for s in shapes]}"
            entries = info["entries"]
            if entries is None:
                E.fail(f"{what}: expected a list with one state per parameter, got a {info['type']}.")
            E.that(
                len(entries) == len(shapes),
                f"{what} returned {len(entries)} states for "
                f"{len(shapes)} parameters: one state per parameter, in order.",
            )
            # Shared memory first: it is the cause whatever else looks wrong (one tensor
            # shared by parameters of different shapes also has the wrong shape).
            if info["aliases"]:
                E.fail(
                    f"{what}: some state tensors are one and the same tensor (or share "
                    "memory), so updating one in place changes the other. Make each with "
                    "its own torch.zeros_like(p)."
                )
            for i, (e, shape) in enumerate(zip(entries, shapes)):
                item = f"{what}, state {i}"
                if kind == "one":
                    E.that(
                        e["kind"] == "tensor",
                        f"{item}: expected a tensor of zeros shaped like the parameter, got a {e['kind']}.",
                    )
                else:
                    E.that(
                        e["kind"] in ("tuple", "list") and e.get("length") == 2 and len(e["tensors"]) == 2,
                        f"{item}: expected a pair of tensors "
                        f"(two zero tensors shaped like the parameter), got a {e['kind']}"
                        + (f" of length {e.get('length')}" if "length" in e else "")
                        + ".",
                    )
                for t in e["tensors"]:
                    E.shape(t, tuple(shape), item)
                    E.dtype(t, getattr(torch, dtype_name), item)
                    E.that(not bool(t.abs().sum()), f"{item}: the state starts at zero (torch.zeros_like(p)).")
            if info["param_alias"]:
                E.fail(
                    f"{what}: a state shares memory with a parameter; updating the state "
                    "in place would change the parameter. Use torch.zeros_like(p)."
                )

        prop()

    return run


# -- the checks of one optimiser --------------------------------------------------------------


def _in_place_check(name: str):
    def run(ctx):
        g = ctx.generator()
        init = [torch.randn(3, generator=g, dtype=torch.float64), torch.randn(2, 2, generator=g, dtype=torch.float64)]
        hp = dict(BOOK_HYPERPARAMS[name])
        if name == "adam":
            hp["t"] = 1
        grads = [torch.randn(3, *t.shape, generator=g, dtype=torch.float64) for t in init]
        with _hyperparam_names(name, hp):
            got = ctx.probe("optimizers.trajectory", name, init, hp, 3, grads)
        run_ = dict(init=init, hp=hp, steps=3, grads=grads, objective=None)
        _compare_record(ctx, name, got, run_, f"3 calls with parameters of shapes (3,) and (2, 2), {_fmt_hp(hp)}")

    return run


def _mid_state(name, shapes, dtype, g):
    """A state as it might be mid-run: accumulators non-negative, velocities any sign."""
    kind = P.STATE_KIND[name]
    if kind is None:
        return None
    # Each state tensor of a parameter as (squared, scale) of a normal draw; drawn in this
    # order, parameter by parameter.
    layout = {
        "sgd_momentum": [(False, 1.0)],
        "adadelta": [(True, 1.0), (True, 0.1)],
        "adam": [(False, 1.0), (True, 1.0)],
    }.get(name, [(True, 1.0)])
    out = []
    for s in shapes:
        drawn = []
        for squared, scale in layout:
            t = torch.randn(s, generator=g, dtype=torch.float64)
            drawn.append(((t**2 if squared else t) * scale).to(dtype))
        out.append(drawn[0] if kind == "one" else tuple(drawn))
    return out


def _one_step(fn, init, grads, states, hp):
    ps = [p.clone().requires_grad_(True) for p in init]
    for p, gr in zip(ps, grads):
        p.grad = gr.clone()
    sts = (
        None if states is None else [tuple(t.clone() for t in s) if isinstance(s, tuple) else s.clone() for s in states]
    )
    h = dict(hp)
    fn(ps, sts, h)
    return [p.detach() for p in ps], _state_list(sts), h


def _one_step_check(name: str):
    def run(ctx):
        @ctx.given(
            st.lists(S.shapes(1, 2, 1, 4), min_size=1, max_size=3),
            S.DTYPES,
            st.sampled_from([1e-6, 1.0, 100.0]),
            S.seeds,
            _hyperparams(name),
        )
        def prop(shapes, dtype, scale, seed, hp):
            g = torch.Generator().manual_seed(seed)
            init = [torch.randn(s, generator=g, dtype=torch.float64).to(dtype) for s in shapes]
            grads = [(torch.randn(s, generator=g, dtype=torch.float64) * scale).to(dtype) for s in shapes]
            states = _mid_state(name, shapes, dtype, g)
            with _hyperparam_names(name, hp):
                result = ctx.run(name, make_params(*init, grads=tuple(grads)), states, dict(hp), return_args=True)
            after_params, after_states, after_hp = result.args
            label = (
                f"one call from a mid-run state, parameters of shapes "
                f"{[tuple(s) for s in shapes]}, gradients of scale {scale:g}, {_fmt_hp(hp)}"
            )
            want_p, want_s, want_hp = ctx.expected(_reference_one_step, name, None, init, grads, states, hp)
            # From a mid-run state a rebound state is just other numbers: not named here.
            known_ = [
                (
                    m,
                    h,
                    functools.lru_cache(maxsize=1)(
                        lambda k=k: ctx.expected(_reference_one_step, name, k, init, grads, states, hp)
                    ),
                )
                for k, m, h in known(name)
                if k != "rebound"
            ]
            for i, (a, want) in enumerate(zip(after_params, want_p)):
                if not isinstance(a, Param):
                    E.fail(
                        f"After the call, params[{i}] is {E.describe(a)}, no longer the "
                        "parameter (a leaf tensor that requires grad): update each parameter "
                        "in place (p -= ..., p[:] = ...) instead of putting new tensors into "
                        "the list."
                    )
                what = f"parameter {i} after {label}"
                if torch.equal(a.data, init[i]) and not torch.equal(want, init[i]):
                    E.fail(
                        f"The parameters are unchanged after {name}. `p = p - ...` rebinds "
                        "the loop variable and leaves the parameter as it was: update in "
                        "place (p -= ..., p[:] = ...) inside torch.no_grad()."
                    )
                _nan_check(a.data, what)
                E.close(a.data, want, what, mistakes=[Mistake(m, h, lambda k=k, i=i: k()[0][i]) for m, h, k in known_])
                E.that(
                    a.grad is not None and torch.equal(a.grad, grads[i]),
                    f"{name} changed or "
                    "cleared the gradients. This curriculum leaves zeroing them to the "
                    "training loop: do not call p.grad.zero_() in the optimiser.",
                )
            mine_s = _state_list(after_states)
            names = STATE_NAMES.get(name, ())
            for j, want in enumerate(want_s):
                what = f"the state {names[j % len(names)]} of parameter {j // len(names)} after {label}"
                a = mine_s[j] if j < len(mine_s) else None
                before = _state_list(states)[j]
                if isinstance(a, torch.Tensor) and torch.equal(a, before) and not torch.equal(want, before):
                    E.fail(f"{what[0].upper() + what[1:]} is unchanged: " + REBOUND_HINT)
                E.close(a, want, what, mistakes=[Mistake(m, h, lambda k=k, j=j: k()[1][j]) for m, h, k in known_])
            if name == "adam":
                E.that(
                    after_hp.get("t") == want_hp["t"],
                    f"hyperparams['t'] was {hp['t']} "
                    f"before the call and should be {want_hp['t']} after it, got "
                    f"{after_hp.get('t')!r}"
                    + (
                        " (incremented once per parameter? one call is one step)"
                        if after_hp.get("t") == hp["t"] + len(shapes) and len(shapes) > 1
                        else ""
                    )
                    + ".",
                )

        prop()

    return run


# The book's pictures of sections 12.6-12.10: 20 steps on f(x) = 0.1 x1**2 + 2 x2**2 from
# (-5, -2), i.e. the probe's quadratic objective with a = (0.2, 4) and c = 0. AdaDelta has
# none (its first steps are too small to see).
CONTOUR_HP = {
    "sgd": {"lr": 0.4},
    "sgd_momentum": {"lr": 0.6, "momentum": 0.5},
    "adagrad": {"lr": 0.4},
    "rmsprop": {"lr": 0.4, "beta": 0.9},
    "adam": {"lr": 0.4, "t": 1},
}


def _contour_picture(ctx, name: str) -> None:
    """The student's 2-D trajectory against the reference's on the contours of the book's
    f_2d. A run that cannot be pictured gets none: the property says what is wrong."""
    hp = CONTOUR_HP.get(name)
    if hp is None:
        return
    init = [torch.tensor([-5.0, -2.0], dtype=torch.float64)]
    objective = ([torch.tensor([0.2, 4.0], dtype=torch.float64)], [torch.zeros(2, dtype=torch.float64)])
    try:
        got = ctx.probe("optimizers.trajectory", name, init, dict(hp), 20, None, objective)
        want = ctx.expected(_reference_trajectory, name, None, init, dict(hp), 20, None, objective)
    except (StudentError, NotInKey):
        return

    def points(record) -> list:
        ps = record.get("params") if isinstance(record, dict) else None
        t = ps[0] if isinstance(ps, list) and ps else None
        return t.double().tolist() if isinstance(t, torch.Tensor) and t.dim() == 2 and t.shape[1] == 2 else []

    mine = points(got)
    if mine:
        title = f"{TITLES[name]}, {_fmt_hp(hp)}"
        plots.attach(
            ctx,
            f"optimizers.{name}.contour.png",
            lambda: plots.trace_2d(mine, points(want), title, f=lambda x1, x2: 0.1 * x1**2 + 2 * x2**2),
        )


def _trajectory_check(name: str):
    def run(ctx):
        _contour_picture(ctx, name)

        @ctx.given(_runs(name))
        def prop(run_):
            with _hyperparam_names(name, run_["hp"]):
                got = ctx.probe(
                    "optimizers.trajectory",
                    name,
                    run_["init"],
                    run_["hp"],
                    run_["steps"],
                    run_["grads"],
                    run_["objective"],
                )
            _compare_record(ctx, name, got, run_, _describe_run(run_))

        prop()

    return run


# -- airfoil ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _load_airfoil(root: str | None, env: str) -> tuple:
    """(features, labels), cached; a DatasetError when the file is missing or wrong.

    Missing data is the grader's fault, never the student's: the error stops grading
    (grading.GraderFault, exit 2) rather than crediting every student the check unrun or
    failing it. Graders without the file grade with --no-training."""
    errors = []
    for where in ([root] if root else []) + [None]:
        try:
            return data.load_airfoil(where)
        except data.DatasetError as exc:
            errors.append(str(exc))
    raise data.DatasetError(
        f"the optimisers' airfoil training checks need the airfoil data set (d2l chapter 11): {errors[-1]} "
        "(or grade with --no-training, which leaves out every training check)."
    )


def airfoil(ctx) -> tuple:
    return _load_airfoil(ctx.options.data, os.environ.get(data.ENV_VAR, ""))


def _training_check(name: str):
    init = P.INIT.get(name)

    def run(ctx):
        features, labels = airfoil(ctx)
        use_init = init is not None and init in ctx.students
        hp = BOOK_HYPERPARAMS[name]
        seed = ctx.seed % 10_000
        with _hyperparam_names(name, hp):
            student = ctx.probe("optimizers.train_airfoil", name, features, labels, hp, seed)
        reference = ctx.expected(lambda ref: P.train_airfoil(ref, name, features, labels, hp, seed))
        losses = student["losses"] if isinstance(student, dict) else None
        E.that(
            isinstance(losses, list) and len(losses) == len(reference["losses"]),
            "The airfoil training run did not finish.",
        )
        ref_losses = reference["losses"]
        plots.attach(
            ctx,
            f"optimizers.{name}.png",
            lambda: plots.loss_curves(losses, ref_losses, f"{TITLES[name]} on airfoil ({_fmt_hp(hp)})"),
        )
        final, ref_final = losses[-1], ref_losses[-1]
        if not ref_final <= CEILING:  # the reference's fault, so the grader's (GraderFault), not a failed check
            raise RuntimeError(f"the reference's airfoil run ended at loss {ref_final}, above the ceiling {CEILING}")
        parts = [f"your {name}"] + ([f"your {init}"] if use_init else [f"a stand-in for {init}"] if init else [])
        ctx.summary = (
            f"2 epochs of the book's airfoil regression with {' and '.join(parts)} "
            f"({_fmt_hp(hp)}): final loss {final:.4f} (reference {ref_final:.4f})"
        )
        E.that(math.isfinite(final), f"Training diverged: the loss became {final}. {ctx.summary}.")
        bound = min(ref_final + MARGIN, CEILING)
        E.that(
            final <= bound,
            f"The training loss should end at most {bound:.4f} (the "
            f"reference's {ref_final:.4f} plus {MARGIN}); {ctx.summary}. See the picture.",
        )

    return run


# -- registration -----------------------------------------------------------------------------

for _name in OPTIMIZERS:
    _init = P.INIT.get(_name)
    if _init:
        check(_init, "one zero state per parameter, shaped like it")(_init_check(_init, P.STATE_KIND[_name]))
    what = "parameters" + (" and states" if _init else "")
    check(
        _name,
        f"updates {what} in place over several calls, keeps the gradients"
        + (", advances t once per call" if _name == "adam" else ""),
    )(_in_place_check(_name))
    check(_name, "one step from a mid-run state matches the formula")(_one_step_check(_name))
    check(
        _name,
        "whole trajectories match the reference: shapes, tiny and large gradients, a quadratic objective",
        weight=2,
    )(_trajectory_check(_name))
    check(
        _name,
        "trains the book's airfoil regression to the reference's loss",
        kind="training",
        uses=((_init,) if _init else ()) + (_name,),
    )(_training_check(_name))
