"""Checks for Task 1.1, linear regression from scratch."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from ... import plots
from ...framework import checks_for
from ...framework import expect as E
from ...framework import strategies as S
from ...framework.context import params
from ...framework.expect import Mistake
from ...worker.protocol import Seeded

check = checks_for("linear_regression")
TRUE_W = torch.tensor([2.0, -3.4])
TRUE_B = 4.2


# -- synthetic_data -----------------------------------------------------------------------


@check("synthetic_data", "shapes and dtype of X and y", needs_correctness=True)
def synthetic_data_shapes(ctx):
    @ctx.given(st.integers(1, 5), st.integers(1, 50), S.DTYPES)
    def prop(d, n, dtype):
        w = torch.arange(1.0, d + 1, dtype=dtype)
        out = ctx.call("synthetic_data", w, 0.5, n, 0.01, Seeded(ctx.seed))
        E.that(
            isinstance(out, tuple) and len(out) == 2,
            f"synthetic_data should return a pair (X, y), got {E.describe(out)}.",
        )
        X, y = out
        E.shape(X, (n, d), f"X for w of length {d} and {n} examples")
        E.shape(
            y,
            (n,),
            f"y for {n} examples",
            mistakes=[
                Mistake(
                    "labels shaped (n, 1)",
                    "The book reshapes y to a column; this curriculum asks "
                    "for shape (n,): return y without .reshape((-1, 1)).",
                    torch.zeros((n, 1)),
                )
            ],
        )
        E.dtype(X, dtype, "X")
        E.dtype(y, dtype, "y")

    prop()


@check("synthetic_data", "labels are X @ w + b when noise is 0", needs_correctness=True)
def synthetic_data_noiseless(ctx):
    w = torch.tensor([2.0, -3.4, 0.5], dtype=torch.float64)
    X, y = ctx.call("synthetic_data", w, 4.2, 200, 0.0, Seeded(ctx.seed))
    E.tensor(X, "X")
    E.close(
        y,
        (X @ w + 4.2).to(torch.float64),
        "y with noise=0 (compared with X @ w + b from your own X)",
        mistakes=[Mistake("the bias left out", "Add b to X @ w.", lambda: X @ w)],
    )


@check("synthetic_data", "X ~ N(0, 1) and noise ~ N(0, noise^2)", weight=2)
def synthetic_data_distribution(ctx):
    n, noise = 20000, 0.5
    w = torch.tensor([2.0, -3.4], dtype=torch.float64)
    X, y = ctx.call("synthetic_data", w, 4.2, n, noise, Seeded(ctx.seed))
    E.tensor(X, "X")
    E.tensor(y, "y")
    # The statistics below mean something only over n draws of each feature.
    E.shape(X, (n, len(w)), f"X from synthetic_data(w of length {len(w)}, b, {n}, ...)")
    # Five standard errors: a correct sampler fails this about once in a million runs,
    # and grading is derandomised, so a given submission always gets the same verdict.
    mean, std = X.mean().item(), X.std().item()
    se = 1 / math.sqrt(X.numel())
    E.that(
        abs(mean) < 5 * se and abs(std - 1) < 5 * se * math.sqrt(2) * 1.5,
        f"X should be standard normal: its mean is {mean:.4f} and standard deviation {std:.4f} "
        "over {} draws (expected 0 and 1). torch.rand draws uniformly on [0, 1); use "
        "torch.normal(0, 1, ...) or torch.randn.".format(X.numel()),
    )
    residual = y.double() - (X.double() @ w + 4.2)
    r_std = residual.std().item()
    tol = 5 * noise / math.sqrt(2 * n) * 1.5
    if abs(r_std - noise**2) < tol < abs(r_std - noise):
        E.fail(
            f"The label noise has standard deviation {r_std:.4f}, which is noise**2 = "
            f"{noise**2}: noise is the standard deviation, not the variance."
        )
    E.that(
        abs(r_std - noise) < tol and abs(residual.mean().item()) < 5 * noise / math.sqrt(n),
        f"The label noise (y - X @ w - b) should have mean 0 and standard deviation "
        f"noise={noise}; it has mean {residual.mean().item():.4f} and standard deviation {r_std:.4f}.",
    )


@check("synthetic_data", "uses the generator it is given")
def synthetic_data_generator(ctx):
    w = torch.tensor([2.0, -3.4], dtype=torch.float64)
    a = ctx.call("synthetic_data", w, 4.2, 10, 0.01, Seeded(7))
    b = ctx.call("synthetic_data", w, 4.2, 10, 0.01, Seeded(7))
    c = ctx.call("synthetic_data", w, 4.2, 10, 0.01, Seeded(8))
    E.tensor(a[0], "X")
    E.that(
        torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]),
        "Two calls with identically seeded generators gave different data: pass "
        "generator=generator to every random draw (torch.normal(..., generator=generator)).",
    )
    E.that(not torch.equal(a[0], c[0]), "Differently seeded generators gave the same X: the generator is not used.")
    # The noise too (found by `divekit audit`): each call starts from the same global RNG
    # state, so noise drawn without the generator is the same for both seeds.
    noise_a, noise_c = (y - X @ w - 4.2 for X, y in (a, c))
    E.that(
        not torch.allclose(noise_a, noise_c),
        "Differently seeded generators gave the same label noise: the noise is not drawn from "
        "the generator (pass generator=generator to that torch.normal as well).",
    )


# -- data_iter ----------------------------------------------------------------------------


def _batches(ctx, batch_size, features, labels, seed):
    batches = ctx.call_list("data_iter", batch_size, features, labels, Seeded(seed))
    E.that(
        isinstance(batches, list) and all(isinstance(b, tuple) and len(b) == 2 for b in batches),
        "data_iter should yield (X, y) pairs.",
    )
    for i, (X, y) in enumerate(batches):
        E.tensor(X, f"X of batch {i}")
        E.tensor(y, f"y of batch {i}")
    return batches


@check("data_iter", "every example exactly once per pass, in batches of batch_size", weight=2)
def data_iter_covers(ctx):
    @ctx.given(st.integers(1, 60), st.integers(1, 16), S.seeds)
    def prop(n, batch_size, seed):
        features = torch.arange(n * 2, dtype=torch.float64).reshape(n, 2)
        labels = torch.arange(n, dtype=torch.float64) * 10
        batches = _batches(ctx, batch_size, features, labels, seed)
        sizes = [len(X) for X, _ in batches]
        expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        if sum(sizes) < n and sizes == [batch_size] * (n // batch_size):
            E.fail(
                f"With {n} examples and batch_size {batch_size} the last, smaller batch "
                f"of {n % batch_size} is missing: every example must appear once per pass."
            )
        E.that(
            sizes == expected,
            f"With {n} examples and batch_size {batch_size} the batch sizes should be {expected}, got {sizes}.",
        )
        rows = torch.cat([X for X, _ in batches]) if batches else features[:0]
        seen = sorted(int(r[0].item()) // 2 for r in rows)
        E.that(
            seen == list(range(n)),
            lambda: (
                "Some examples appear twice and others not at "
                "all (sampling with replacement, e.g. torch.randint?): shuffle a permutation of "
                "the indices with torch.randperm."
                if len(set(seen)) < n
                else "The batches do not contain the given examples."
            ),
        )
        for X, y in batches:
            E.that(
                torch.equal(X[:, 0] / 2 * 10, y),
                "Features and labels are out of step: index both with the same indices.",
            )

    prop()


@check("data_iter", "shuffles, reproducibly with its generator")
def data_iter_shuffles(ctx):
    n = 100
    features = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    labels = torch.arange(n, dtype=torch.float32)
    order = lambda seed: torch.cat([y for _, y in _batches(ctx, 10, features, labels, seed)])  # noqa: E731
    a, b, c = order(1), order(1), order(2)
    E.that(
        not torch.equal(a, labels),
        "The examples come out in their original order: data_iter must read them in random order (torch.randperm).",
    )
    E.that(
        torch.equal(a, b),
        "Two passes with identically seeded generators came out in "
        "different orders: pass generator=generator to torch.randperm.",
    )
    E.that(not torch.equal(a, c), "Differently seeded generators gave the same order: the generator is not used.")


# -- linreg -------------------------------------------------------------------------------


@check("linreg", "matches X @ w + b on random shapes")
def linreg_values(ctx):
    @ctx.given(S.matrices(1, 20, 1, 6))
    def prop(spec):
        X = spec.make()
        g = torch.Generator().manual_seed(spec.seed + 1)
        w = torch.randn(X.shape[1], 1, generator=g, dtype=X.dtype)
        b = torch.randn(1, generator=g, dtype=X.dtype)
        out = ctx.call("linreg", X, w, b)
        E.close(
            out,
            ctx.expected(lambda ref: ref.linreg(X, w, b)),
            f"linreg(X, w, b) for {spec}",
            mistakes=[
                Mistake(
                    "an elementwise product",
                    "X * w broadcasts instead of multiplying matrices: use torch.matmul(X, w).",
                    lambda: X * w.reshape(-1) + b,
                )
            ],
        )

    prop()


@check("linreg", "is differentiable in w and b")
def linreg_gradients(ctx):
    X = torch.randn(7, 3, generator=ctx.generator(), dtype=torch.float64)
    w = torch.randn(3, 1, generator=ctx.generator(1), dtype=torch.float64)
    b = torch.randn(1, generator=ctx.generator(2), dtype=torch.float64)
    result = ctx.run("linreg", X, w, b, grad_inputs=(1, 2))
    # The output first: its gradient is drawn in the output's shape.
    E.shape(result.value, (7, 1), "linreg(X, w, b) for X of shape (7, 3)")
    E.that("error" not in result.grads, lambda: result.grads["error"])
    w_grad, b_grad = ctx.expected(_linreg_grads, X, w, b, result.grads["output_grad"])
    E.close(result.grads["inputs"][0], w_grad, "the gradient with respect to w")
    E.close(result.grads["inputs"][1], b_grad, "the gradient with respect to b")


def _linreg_grads(ref, X, w, b, g):
    """The reference's gradients of ``linreg(X, w, b)`` in w and b, for output gradient ``g``."""
    w, b = w.clone().requires_grad_(), b.clone().requires_grad_()
    return tuple(torch.autograd.grad(ref.linreg(X, w, b), [w, b], g))


# -- squared_loss -------------------------------------------------------------------------


@check("squared_loss", "per-example (y_hat - y)^2 / 2, shaped like y_hat")
def squared_loss_values(ctx):
    @ctx.given(S.tensors(min_dims=1, max_dims=1, max_side=20), st.booleans())
    def prop(spec, column):
        y = spec.make()
        y_hat = y + torch.randn(y.shape, generator=torch.Generator().manual_seed(spec.seed), dtype=torch.float64).to(
            y.dtype
        )
        if column:
            y_hat = y_hat.reshape(-1, 1)  # what linreg returns
        out = ctx.call("squared_loss", y_hat, y)
        ref = ctx.expected(lambda ref: ref.squared_loss(y_hat, y))
        # The known mistakes are the reference's answer changed, not the formula again.
        E.close(
            out,
            ref,
            f"squared_loss for y_hat of shape {tuple(y_hat.shape)} and y of shape {tuple(y.shape)}",
            mistakes=[
                Mistake("the missing 1/2", "The loss is (y_hat - y)**2 / 2.", lambda: 2 * ref),
                Mistake(
                    "a mean over the batch",
                    "Return one loss per example; the training loop sums them.",
                    lambda: ref.mean(),
                ),
                Mistake("a sum over the batch", "Return one loss per example.", lambda: ref.sum()),
                Mistake(
                    "y not reshaped",
                    "y_hat is (n, 1) and y is (n,): without "
                    "y.reshape(y_hat.shape) broadcasting makes an (n, n) matrix.",
                    lambda: (y_hat - y) ** 2 / 2,
                ),
            ],
        )

    prop()


# -- sgd ----------------------------------------------------------------------------------


@check("sgd", "updates every parameter in place by lr * grad / batch_size", weight=2)
def sgd_update(ctx):
    @ctx.given(S.tensors(max_dims=2, max_side=5), st.sampled_from([0.03, 0.5, 1.0]), st.sampled_from([1, 10, 256]))
    def prop(spec, lr, batch_size):
        p1, g1 = spec.make(), spec.make() * 3
        p2 = torch.ones(1, dtype=spec.dtype) * 0.5
        g2 = torch.full((1,), 2.0, dtype=spec.dtype)
        result = ctx.run("sgd", params(p1, p2, grads=(g1, g2)), lr, batch_size, return_args=True)
        (a1, a2) = result.args[0]
        after1, after2 = a1.data, a2.data
        want1, want2 = p1 - lr * g1 / batch_size, p2 - lr * g2 / batch_size
        if torch.equal(after1, p1) and not torch.equal(want1, p1):
            E.fail(
                "The parameters are unchanged after sgd. `param = param - ...` rebinds the "
                "loop variable to a new tensor and leaves the model's parameter as it was: "
                "update in place (param -= ...) inside torch.no_grad()."
            )
        E.close(
            after1,
            want1,
            f"the parameter after one step (lr={lr}, batch_size={batch_size})",
            mistakes=[
                Mistake(
                    "not dividing by the batch size",
                    "The gradient of the summed loss adds up batch_size examples: divide by batch_size.",
                    lambda: p1 - lr * g1,
                ),
                Mistake(
                    "a step up the gradient",
                    "Subtract: p -= lr * grad / batch_size.",
                    lambda: p1 + lr * g1 / batch_size,
                ),
            ],
        )
        E.close(after2, want2, "the second parameter after one step")
        E.that(
            a1.grad is not None and torch.equal(a1.grad, g1),
            "sgd changed or cleared the gradients. The curriculum leaves zeroing them to "
            "the training loop (so it can be checked separately): do not call grad.zero_() here.",
        )

    prop()


@check(
    "sgd",
    "recovers w = [2, -3.4], b = 4.2 in 3 epochs",
    weight=2,
    kind="training",
    uses=("synthetic_data", "data_iter", "linreg", "squared_loss", "sgd"),
)
def sgd_training(ctx):
    settings = dict(lr=0.03, num_epochs=3, batch_size=10, num_examples=1000)
    student = ctx.probe("linear_regression.train", ctx.seed, **settings)
    reference = ctx.reference_probe("linear_regression.train", ctx.seed, **settings)
    w, b, losses = student["w"], student["b"], student["losses"]
    if isinstance(losses, list):
        plots.attach(
            ctx,
            "linear_regression.sgd.training.png",
            lambda: plots.epoch_curves(
                {"training loss": losses}, {"training loss": reference["losses"]}, "linear regression, 3 epochs"
            ),
        )
    E.tensor(w, "the trained w")
    E.shape(w, (2, 1), "the trained w")
    w_err = (w.double().reshape(-1) - TRUE_W.double()).abs().max().item()
    b_err = abs(E.number(b, "the trained b") - TRUE_B)
    final = E.number(losses[-1], "the final training loss")
    ref_final = reference["losses"][-1]
    ctx.summary = (
        f"trained with your {', '.join(sorted(ctx.students))} (stand-ins for the rest); final loss "
        f"{final:.6f} (reference {ref_final:.6f}); |w - w_true| = {w_err:.4f}, "
        f"|b - b_true| = {b_err:.4f}"
    )
    E.that(
        math.isfinite(final),
        f"Training diverged: the loss became {final}. Check the sign and the scale of the sgd update.",
    )
    # Floor: parameters within 0.02 of the truth; margin: loss within 2x the reference's
    # (both trained with the same seed, data and budget) plus the noise floor.
    E.that(
        w_err < 0.02 and b_err < 0.02 and final <= 2 * ref_final + 1e-4,
        f"After 3 epochs the model should be close to w = [2, -3.4], b = 4.2: {ctx.summary}.",
    )
