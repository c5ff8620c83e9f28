"""Checks for Task 1.3, the multilayer perceptron from scratch.

Every value taken from the reference goes through ``ctx.expected``, so a student pack
grades from the answer key (framework/answer_key.py). The net's named mistakes are the
reference's net with one change, computed in solutions/mistakes/mlp.py.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from ...framework import checks_for
from ...framework import expect as E
from ...framework import image_data as I
from ...framework import strategies as S
from ...framework.expect import Mistake
from ...worker.protocol import Seeded
from ..softmax_regression.checks import (
    _reference_gradient,
    _reference_net_gradients,
    explain_errors,
    known_answers,
    named_mistakes,
    score_training,
)

check = checks_for("mlp")

# Inputs from ordinary to 1e4 in magnitude, where a naive exp() overflows.
ACTIVATION_INPUTS = S.tensors(
    min_dims=1, max_dims=3, max_side=6, scales=(1.0, 10.0, 100.0, 1e4), offsets=(0.0, 50.0, -50.0)
)
GRADIENT_INPUTS = S.tensors(min_dims=1, max_dims=2, max_side=6, dtypes=st.just(torch.float64), scales=(1.0, 5.0))


def _elementwise(ctx, stub, spec, *, overflow_hint, mistakes=()):
    """The student's ``stub(X)`` against the reference: shape, dtype, finite, close, and
    ``X`` left unchanged."""
    X = spec.make()
    result = ctx.run(stub, X, return_args=True)
    out, what = result.value, f"{stub}(X)"
    if isinstance(out, tuple) and stub == "relu":
        E.fail(
            "relu(X) returned a tuple. torch.max(X, 0) is a reduction: the largest entry "
            "along dim 0 and its index. Compare X with a tensor of zeros instead: "
            "torch.max(X, torch.zeros_like(X))."
        )
    E.tensor(out, what)
    E.shape(out, X.shape, what)
    if out.is_floating_point() and not torch.isfinite(out).all():
        bad = X[~torch.isfinite(out)]
        E.fail(
            f"{what} contains {'NaN' if torch.isnan(out).any() else 'inf'} for {spec}, first "
            f"at X = {bad.reshape(-1)[0].item():g}. {overflow_hint}"
        )
    E.close(
        out,
        ctx.expected(lambda ref: getattr(ref, stub)(X)),
        what,
        inputs=str(spec),
        mistakes=[Mistake(name, hint, (lambda f=f: f(X.double()))) for name, hint, f in mistakes],
    )
    E.unchanged(X, result.args[0], "X")


def _gradient(ctx, stub, spec):
    X = spec.make()
    result = ctx.run(stub, X, grad_inputs=(0,))
    # The output's shape and dtype first: its gradient is drawn in them.
    E.shape(result.value, X.shape, f"{stub}(X)")
    E.dtype(result.value, X.dtype, f"{stub}(X)")
    E.that("error" not in result.grads, lambda: f"{stub}(X) for {spec}: {result.grads['error']}")
    grad = ctx.expected(_reference_gradient, stub, X, result.grads["output_grad"])
    E.close(result.grads["inputs"][0], grad, f"the gradient of {stub} with respect to X", inputs=str(spec))


# -- relu ---------------------------------------------------------------------------------


@check("relu", "max(X, 0) elementwise, keeping dtype and leaving X unchanged", weight=2)
def relu_values(ctx):
    @ctx.given(ACTIVATION_INPUTS)
    def prop(spec):
        _elementwise(
            ctx,
            "relu",
            spec,
            overflow_hint="relu needs no exp at all.",
            mistakes=[
                ("the absolute value", "Negative inputs become 0, not -X.", torch.abs),
                ("min(X, 0)", "Keep the positive part: max(X, 0).", lambda X: torch.clamp(X, max=0)),
            ],
        )

    prop()


@check("relu", "is differentiable, with the reference's gradient")
def relu_gradient(ctx):
    @ctx.given(GRADIENT_INPUTS, examples=min(ctx.examples, 10))
    def prop(spec):
        _gradient(ctx, "relu", spec)

    prop()


# -- sigmoid ------------------------------------------------------------------------------

SIGMOID_OVERFLOW = (
    "exp overflows to inf for large inputs (in float32 already above 88), and "
    "inf / inf is NaN. 1 / (1 + exp(-X)) is safe (1 / inf is 0); exp(X) / (1 + "
    "exp(X)) is not. If you want both forms, choose by sign so that exp only "
    "sees numbers <= 0."
)


@check("sigmoid", "1 / (1 + exp(-X)), finite for inputs up to 1e4 in magnitude", weight=2)
def sigmoid_values(ctx):
    @ctx.given(ACTIVATION_INPUTS)
    def prop(spec):
        _elementwise(
            ctx,
            "sigmoid",
            spec,
            overflow_hint=SIGMOID_OVERFLOW,
            mistakes=[
                (
                    "the sign of the exponent flipped: 1 / (1 + exp(X))",
                    "sigmoid(x) = 1 / (1 + exp(-x)) rises from 0 to 1.",
                    lambda X: 1 / (1 + torch.exp(X)),
                ),
                ("tanh instead of sigmoid", "sigmoid(x) = 1 / (1 + exp(-x)), between 0 and 1.", torch.tanh),
            ],
        )

    prop()


@check("sigmoid", "is differentiable, with the reference's gradient")
def sigmoid_gradient(ctx):
    @ctx.given(GRADIENT_INPUTS, examples=min(ctx.examples, 10))
    def prop(spec):
        _gradient(ctx, "sigmoid", spec)

    prop()


# -- tanh ---------------------------------------------------------------------------------

TANH_OVERFLOW = (
    "exp overflows to inf for large inputs (in float32 already above 88), and inf "
    "/ inf is NaN. Use tanh(x) = (1 - exp(-2x)) / (1 + exp(-2x)) for x >= 0, where "
    "exp only sees numbers <= 0, and tanh(x) = -tanh(-x) for x < 0."
)


@check("tanh", "the hyperbolic tangent, finite for inputs up to 1e4 in magnitude", weight=2)
def tanh_values(ctx):
    @ctx.given(ACTIVATION_INPUTS)
    def prop(spec):
        _elementwise(
            ctx,
            "tanh",
            spec,
            overflow_hint=TANH_OVERFLOW,
            mistakes=[
                (
                    "exp(-x) where tanh needs exp(-2x)",
                    "tanh(x) = (1 - exp(-2x)) / (1 + exp(-2x)).",
                    lambda X: torch.tanh(X / 2),
                ),
                (
                    "the sigmoid instead of tanh",
                    "tanh is between -1 and 1: tanh(x) = 2 * sigmoid(2x) - 1.",
                    torch.sigmoid,
                ),
            ],
        )

    prop()


@check("tanh", "is differentiable, with the reference's gradient")
def tanh_gradient(ctx):
    @ctx.given(GRADIENT_INPUTS, examples=min(ctx.examples, 10))
    def prop(spec):
        _gradient(ctx, "tanh", spec)

    prop()


# -- init_params --------------------------------------------------------------------------

NAMES = ("W1", "b1", "W2", "b2")


def _params(ctx, sizes, seed=None, pass_generator=True):
    """``init_params(*sizes, generator)`` through the probe: the four tensors, checked."""
    answer = ctx.probe(
        "mlp.init_params_facts", *sizes, Seeded(ctx.seed if seed is None else seed), pass_generator=pass_generator
    )
    items = answer["items"]
    E.that(
        items is not None and len(items) == 4,
        lambda: (
            "init_params should return a list "
            f"[W1, b1, W2, b2]; it returned a {answer['type']}"
            + ("" if items is None else f" of {len(items)} items")
            + "."
        ),
    )
    for name, item in zip(NAMES, items):
        E.that(item["tensor"] is not None, f"{name}: expected a tensor, got a {item['type']}.")
    return items


@check("init_params", "[W1, b1, W2, b2] with the right shapes, float32", needs_correctness=True)
def init_params_shapes(ctx):
    @ctx.given(st.integers(1, 30), st.integers(1, 20), st.integers(1, 12), examples=min(ctx.examples, 8))
    def prop(num_inputs, num_hiddens, num_outputs):
        items = _params(ctx, (num_inputs, num_hiddens, num_outputs))
        shapes = [(num_inputs, num_hiddens), (num_hiddens,), (num_hiddens, num_outputs), (num_outputs,)]
        got = [tuple(item["tensor"].shape) for item in items]
        for name, item, shape in zip(NAMES, items, shapes):
            if got != shapes and sorted(got) == sorted(shapes):
                E.fail(
                    f"init_params({num_inputs}, {num_hiddens}, {num_outputs}) returned shapes "
                    f"{got}: the order must be [W1, b1, W2, b2], with shapes {shapes}."
                )
            transposed = Mistake(
                "a transposed weight matrix",
                "W1 is (num_inputs, num_hiddens) so that X @ W1 works.",
                torch.zeros(shape[::-1]),
            )
            E.shape(
                item["tensor"],
                shape,
                f"{name} for init_params({num_inputs}, {num_hiddens}, {num_outputs})",
                mistakes=[transposed],
            )
            E.dtype(item["tensor"], torch.float32, name)

    prop()


@check("init_params", "leaf tensors that require grad", needs_correctness=True)
def init_params_leaves(ctx):
    items = _params(ctx, (20, 8, 3))
    for name, item in zip(NAMES, items):
        E.that(
            item["requires_grad"],
            f"{name} does not require grad, so training would never "
            "update it: create it with requires_grad=True (or call .requires_grad_()).",
        )
        E.that(
            item["is_leaf"],
            f"{name} requires grad but is not a leaf tensor: it was computed "
            "from another tensor that requires grad (e.g. torch.randn(..., requires_grad=True) "
            "* 0.01), so its .grad stays None and the optimizer cannot update it. Scale first, "
            "then call .requires_grad_() on the result (or wrap it in nn.Parameter).",
        )


@check("init_params", "weights ~ N(0, 0.01^2), biases zero", weight=2)
def init_params_distribution(ctx):
    sizes = (784, 256, 10)
    items = _params(ctx, sizes)
    for name in ("b1", "b2"):
        b = items[NAMES.index(name)]["tensor"]
        E.that(
            bool((b == 0).all()),
            f"{name} should start at zero (torch.zeros), but its entries "
            f"range from {b.min().item():.4g} to {b.max().item():.4g}.",
        )
    for name in ("W1", "W2"):
        W = items[NAMES.index(name)]["tensor"].double()
        n = W.numel()
        mean, std = (float(statistic(W)) for statistic in (torch.mean, torch.std))
        # Five standard errors (with room): a correct sampler essentially never fails, and
        # grading is derandomised, so a submission always gets the same verdict.
        se_mean, se_std = 0.01 / math.sqrt(n), 0.01 / math.sqrt(2 * n)
        if std == 0:
            E.fail(
                f"{name} is all {mean:g}: with equal weights every hidden unit computes the "
                "same thing and gets the same gradient, so they never become different. "
                "Draw the weights from N(0, 0.01^2): torch.randn(...) * 0.01."
            )
        if abs(std - 1) < 0.05:
            E.fail(
                f"{name} has standard deviation {std:.4f}: weights drawn with standard "
                "deviation 1. Scale them: torch.randn(...) * 0.01, or "
                "torch.normal(0, 0.01, ...)."
            )
        if abs(std - 0.1) < 0.005:
            E.fail(
                f"{name} has standard deviation {std:.4f} = sqrt(0.01): 0.01 is the standard "
                "deviation, not the variance."
            )
        if mean > 10 * se_mean and W.min().item() >= 0:
            E.fail(
                f"{name} has only non-negative entries (mean {mean:.4g}): torch.rand draws "
                "uniformly on [0, 1); use torch.randn (a standard normal) times 0.01."
            )
        E.that(
            abs(mean) < 5 * se_mean * 1.5 and abs(std - 0.01) < 5 * se_std * 1.5,
            f"{name} should be drawn from N(0, 0.01^2): its mean is {mean:.3g} and its standard "
            f"deviation {std:.4g} over {n} draws (expected 0 and 0.01).",
        )


@check("init_params", "uses the generator it is given (and works without one)")
def init_params_generator(ctx):
    sizes = (30, 12, 5)
    a, b, c = _params(ctx, sizes, 7), _params(ctx, sizes, 7), _params(ctx, sizes, 8)
    same = [torch.equal(x[i]["tensor"], y[i]["tensor"]) for x, y in ((a, b), (a, c)) for i in (0, 2)]
    E.that(
        same[0] and same[1],
        "Two calls with identically seeded generators gave different weights: pass "
        "generator=generator to every random draw (torch.randn(..., generator=generator)).",
    )
    E.that(
        not same[2] and not same[3],
        "Differently seeded generators gave the same weights: the generator is not used (for W1 or for W2).",
    )
    _params(ctx, sizes, pass_generator=False)


# -- net ----------------------------------------------------------------------------------

_FLATTEN = (
    "net receives a batch of images of shape (batch, 1, height, width): flatten each to "
    "a row first with X.reshape(-1, W1.shape[0]), then multiply by W1."
)
NET_HINTS = [
    (
        "784",
        "The number of inputs is W1.shape[0]: reshape with X.reshape(-1, W1.shape[0]), "
        "not a fixed 784 (or a global num_inputs), so the model works for any input size.",
    ),
    ("cannot be multiplied", _FLATTEN),
    ("must be a matrix", _FLATTEN),
    ("must match the size", _FLATTEN),
    ("Expected size", _FLATTEN),
    ("is invalid for input of size", _FLATTEN),
]


# (id in mistakes.net, name, hint)
NET_MISTAKES = [
    (
        "output_relu",
        "a ReLU on the output",
        "The output layer has no activation: return the logits H @ W2 + b2 (the loss applies the softmax).",
    ),
    (
        "no_hidden_relu",
        "the hidden layer's ReLU left out",
        "Without it the two layers collapse into one linear map: H = relu(X @ W1 + b1).",
    ),
    ("output_softmax", "a softmax on the output", "Return the logits: nn.CrossEntropyLoss applies the softmax itself."),
    ("no_b1", "b1 left out", "H = relu(X @ W1 + b1)."),
    ("no_b2", "b2 left out", "Add b2 to the output: H @ W2 + b2."),
]


def _net_case(shape, dtype, seed):
    n, h, w, hiddens, outputs = shape
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, h, w, generator=g, dtype=torch.float64)
    W1 = torch.randn(h * w, hiddens, generator=g, dtype=torch.float64)
    b1 = torch.randn(hiddens, generator=g, dtype=torch.float64)
    W2 = torch.randn(hiddens, outputs, generator=g, dtype=torch.float64)
    b2 = torch.randn(outputs, generator=g, dtype=torch.float64)
    return [t.to(dtype) for t in (X, W1, b1, W2, b2)]


net_shapes = st.tuples(st.integers(1, 8), st.integers(1, 5), st.integers(1, 5), st.integers(1, 12), st.integers(2, 10))


@check("net", "relu(X.reshape(-1, W1.shape[0]) @ W1 + b1) @ W2 + b2 on batches of images", weight=2)
def net_values(ctx):
    @ctx.given(net_shapes, S.DTYPES, S.seeds)
    def prop(shape, dtype, seed):
        X, W1, b1, W2, b2 = _net_case(shape, dtype, seed)
        answer = explain_errors(lambda: ctx.probe("mlp.net_call", X, W1, b1, W2, b2), NET_HINTS)
        what = (
            f"net(X, params) for images X of shape {tuple(X.shape)}, W1 of shape "
            f"{tuple(W1.shape)} and W2 of shape {tuple(W2.shape)}"
        )
        E.close(
            answer["out"],
            ctx.expected(lambda ref: ref.net(X, [W1, b1, W2, b2])),
            what,
            mistakes=named_mistakes(known_answers(ctx, "net", X, W1, b1, W2, b2), NET_MISTAKES),
        )

    prop()


@check("net", "is differentiable in W1, b1, W2 and b2, with the reference's gradients")
def net_gradient(ctx):
    X, W1, b1, W2, b2 = _net_case((6, 3, 4, 7, 4), torch.float64, ctx.seed)
    g = torch.randn(6, 4, generator=ctx.generator(1), dtype=torch.float64)
    answer = explain_errors(lambda: ctx.probe("mlp.net_call", X, W1, b1, W2, b2, g), NET_HINTS)
    E.that("error" not in answer, lambda: f"net(X, params): {answer['error']}")
    wanted = ctx.expected(_reference_net_gradients, X, [W1, b1, W2, b2], g, unpack=False)
    for name, got, want in zip(NAMES, answer["grads"], wanted):
        E.that(got is not None, f"net's output does not depend on {name} through autograd.")
        E.close(got, want, f"the gradient of net with respect to {name}")


# Training budgets per data set: CPU fits continuous integration (a few seconds on two
# cores); CUDA is the book's setting (all 60000 images, 10 epochs). The digits fallback
# is used whole, for 20 epochs: with 6 steps an epoch, 10 leave the MLP's slow start
# (weights of 0.01) too noisy to compare.
MLP_BUDGETS = {
    "fashion-mnist": (I.Budget(train=20000, test=5000, epochs=5), I.Budget(train=60000, test=10000, epochs=10)),
    "digits-fallback": (I.Budget(train=1497, test=300, epochs=20), I.Budget(train=1497, test=300, epochs=20)),
}


@check(
    "net",
    "trains on Fashion-MNIST as in the book (784-256-10, SGD, lr 0.1)",
    weight=2,
    kind="training",
    uses=("relu", "init_params", "net"),
)
def net_training(ctx):
    # A quick call first: an unfinished net fails here, before any data is loaded.
    ctx.probe("mlp.net_call", *_net_case((2, 2, 2, 3, 2), torch.float32, 0))
    images = I.load(ctx)
    budget = I.budget_for(ctx, images, MLP_BUDGETS)
    train_X, train_y, test_X, test_y = I.subset(images, budget, seed=ctx.seed)
    settings = dict(
        num_epochs=budget.epochs, batch_size=budget.batch_size, lr=0.1, num_hiddens=256, seed=ctx.seed, on=ctx.device
    )
    student = ctx.probe("mlp.train", train_X, train_y, test_X, **settings)
    reference = ctx.reference_probe("mlp.train", train_X, train_y, test_X, **settings)
    score_training(ctx, images, budget, student, reference, test_y, sorted(ctx.students))
