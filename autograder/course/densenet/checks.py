"""Checks for Task 6.3, densely connected networks (section 7.7)."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from ...framework import checks_for
from ...framework import expect as E
from ...framework.expect import Mistake
from ...framework.image_data import Budget
from ...framework.networks import (
    TrainingThreshold,
    compare_network,
    leaf_types,
    network_handle,
    reference_network,
    training_check,
)
from ...reference import mistakes as mistakes_of

check = checks_for("densenet")


# -- conv_block ---------------------------------------------------------------------------


@check("conv_block", "BatchNorm2d, ReLU, then a 3x3 convolution with padding 1, with the reference's outputs")
def conv_block_layers(ctx):
    h = network_handle(ctx, "conv_block", (3, 7))
    kinds = leaf_types(ctx.describe(h))
    if kinds[:1] == ["Conv2d"] and sorted(kinds) == ["BatchNorm2d", "Conv2d", "ReLU"]:
        E.fail(
            f"conv_block(3, 7) is {kinds}: DenseNet's blocks normalise and activate BEFORE "
            "the convolution (BatchNorm2d, ReLU, Conv2d), unlike ResNet's."
        )
    E.that(
        kinds == ["BatchNorm2d", "ReLU", "Conv2d"],
        f"conv_block(3, 7) is {kinds}; expected [BatchNorm2d, ReLU, Conv2d].",
    )
    out = ctx.probe("networks.forward", h, torch.randn(2, 3, 5, 5, generator=ctx.generator()), True)
    E.shape(out, (2, 7, 5, 5), "conv_block(3, 7) on (2, 3, 5, 5) (padding 1 keeps 5x5)")
    X = torch.randn(2, 3, 5, 5, generator=ctx.generator(1), dtype=torch.float64)
    compare_network(ctx, h, lambda ref: ref.conv_block(3, 7), X, "conv_block(3, 7)")


# -- DenseBlock ---------------------------------------------------------------------------


def _dense_block(ctx, num_convs, cin, cout):
    return network_handle(ctx, "DenseBlock", (num_convs, cin, cout))


@check(
    "DenseBlock",
    "DenseBlock(2, 3, 10) turns (4, 3, 8, 8) into (4, 23, 8, 8), and its out_channels is 23",
    needs_correctness=True,
)
def dense_block_book(ctx):
    h = _dense_block(ctx, 2, 3, 10)
    convs = [p.shape for p in ctx.describe(h).parameters if len(p.shape) == 4]
    got = [shape[1] for shape in convs]
    E.that(
        got == [3, 13],
        f"The convolutions of DenseBlock(2, 3, 10) take {got} channels; "
        "the i-th conv block should take in_channels + i * out_channels = [3, 13], since "
        "it sees the input and the outputs of every block before it.",
    )
    out = ctx.probe("networks.forward", h, torch.randn(4, 3, 8, 8, generator=ctx.generator()), True)
    E.shape(
        out,
        (4, 23, 8, 8),
        "DenseBlock(2, 3, 10) on (4, 3, 8, 8)",
        mistakes=[
            Mistake(
                "only the last block's output",
                "Concatenate every block's output to its input: X = torch.cat((X, Y), dim=1), and return X.",
                torch.zeros(4, 10, 8, 8),
            )
        ],
    )
    got = ctx.probe("networks.attribute", h, "out_channels")
    E.that(
        got == 23,
        f"DenseBlock(2, 3, 10).out_channels is {got!r}; expected 23 = 3 + 2 * 10 "
        "(densenet uses it to size the next layer).",
    )


@check("DenseBlock", "in_channels + num_convs * out_channels channels come out, for any sizes", needs_correctness=True)
def dense_block_channels(ctx):
    @ctx.given(
        st.integers(1, 4), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), examples=max(ctx.examples // 3, 5)
    )
    def prop(num_convs, cin, cout, side):
        h = _dense_block(ctx, num_convs, cin, cout)
        want = cin + num_convs * cout
        X = torch.randn(2, cin, side + 1, side, generator=ctx.generator())
        out = ctx.probe("networks.forward", h, X, True)
        E.shape(out, (2, want, side + 1, side), f"DenseBlock({num_convs}, {cin}, {cout}) on {tuple(X.shape)}")
        got = ctx.probe("networks.attribute", h, "out_channels")
        E.that(
            got == want,
            f"DenseBlock({num_convs}, {cin}, {cout}).out_channels is {got!r}; "
            f"expected {want} = in_channels + num_convs * out_channels.",
        )

    prop()


def _reference_dense_reversed(ref, build, seed, X, train):
    """The reference DenseBlock (with the comparison's weights) concatenating in the other
    order (solutions/mistakes/densenet.py: the reference's forward pass with one change)."""
    mistakes = mistakes_of(ref)  # solutions/mistakes/: where the solutions are, never in a pack

    with torch.no_grad():
        return mistakes.dense_reversed(reference_network(ref, build, seed), X, train)


@check(
    "DenseBlock",
    "with the reference's weights, the same outputs and gradients: the input comes first in each concatenation",
    weight=1.5,
)
def dense_block_outputs(ctx):
    h = _dense_block(ctx, 3, 2, 4)
    X = torch.randn(3, 2, 5, 5, generator=ctx.generator(), dtype=torch.float64)

    def build(ref):
        return ref.DenseBlock(3, 2, 4)

    compare_network(
        ctx,
        h,
        build,
        X,
        "DenseBlock(3, 2, 4)",
        lambda train: [
            Mistake(
                "the concatenation in the wrong order",
                "Keep the input first: "
                "X = torch.cat((X, Y), dim=1). The layers that follow were built for that "
                "channel order.",
                lambda: ctx.expected(_reference_dense_reversed, build, ctx.seed, X, train),
            )
        ],
    )


# -- transition_block ---------------------------------------------------------------------


@check(
    "transition_block",
    "(4, 23, 8, 8) -> (4, 10, 4, 4) through BatchNorm2d, ReLU, a 1x1 "
    "convolution and 2x2 average pooling, with the reference's outputs",
)
def transition_layers(ctx):
    h = network_handle(ctx, "transition_block", (23, 10))
    kinds = leaf_types(ctx.describe(h))
    if "MaxPool2d" in kinds:
        E.fail(
            f"transition_block(23, 10) is {kinds}: a transition with max pooling. DenseNet "
            "halves the resolution with nn.AvgPool2d(kernel_size=2, stride=2)."
        )
    E.that(
        kinds == ["BatchNorm2d", "ReLU", "Conv2d", "AvgPool2d"],
        f"transition_block(23, 10) is {kinds}; expected [BatchNorm2d, ReLU, Conv2d, AvgPool2d].",
    )
    out = ctx.probe("networks.forward", h, torch.randn(4, 23, 8, 8, generator=ctx.generator()), True)
    E.shape(out, (4, 10, 4, 4), "transition_block(23, 10) on (4, 23, 8, 8)")
    X = torch.randn(2, 23, 6, 6, generator=ctx.generator(1), dtype=torch.float64)
    compare_network(ctx, h, lambda ref: ref.transition_block(23, 10), X, "transition_block(23, 10)")


# -- densenet -----------------------------------------------------------------------------


DENSE_CHANNELS = [[64, 192], [96, 224], [112, 240], [120, 248]]


@check(
    "densenet",
    "channels 64 -> 192, 96 -> 224, 112 -> 240, 120 -> 248 through the dense "
    "blocks, halved by each transition, and a Linear(248, 10)",
)
def densenet_channels(ctx):
    h = network_handle(ctx, "densenet")
    X = torch.rand(1, 1, 96, 96, generator=ctx.generator())
    s = ctx.probe("networks.shapes", h, X, ["DenseBlock", "Linear"])
    blocks = [[layer.input[1], layer.output[1]] for layer in s.layers if layer.type == "DenseBlock"]
    E.that(len(blocks) == 4, f"densenet() should run 4 DenseBlocks; {len(blocks)} ran.")
    if blocks != DENSE_CHANNELS and [b[0] for b in blocks[1:]] == [b[1] for b in blocks[:-1]]:
        E.fail(
            f"The dense blocks' channels (in, out) are {blocks}: no channel halving. Each "
            "transition block between dense blocks halves the channels "
            "(transition_block(num_channels, num_channels // 2))."
        )
    E.that(blocks == DENSE_CHANNELS, f"The dense blocks' channels (in, out) are {blocks}; expected {DENSE_CHANNELS}.")
    linear = [layer for layer in s.layers if layer.type == "Linear"]
    E.that(
        bool(linear) and linear[-1].input == [1, 248],
        f"The final Linear layer should see "
        f"(1, 248) features; it got {linear[-1].input if linear else 'no Linear layer'}.",
    )
    E.that(s.output == [1, 10], f"densenet()'s output is {s.output}; expected [1, 10].")


def _reference_parameters(ref, **kwargs):
    return sum(p.numel() for p in ref.densenet(**kwargs).parameters())


@check("densenet", "as many parameters as the book's, and every argument is used", weight=0.5)
def densenet_parameters(ctx):
    info = ctx.describe(network_handle(ctx, "densenet"))
    total = sum(math.prod(p.shape) for p in info.parameters)
    want = ctx.expected(_reference_parameters)
    E.that(total == want, f"densenet() has {total:,} parameters; the book's has {want:,}.")
    kwargs = {"num_classes": 5, "in_channels": 3, "growth_rate": 8, "num_convs_in_dense_blocks": (2, 3)}
    h = network_handle(ctx, "densenet", (), kwargs)
    info = ctx.describe(h)
    total = sum(math.prod(p.shape) for p in info.parameters)
    want = ctx.expected(_reference_parameters, **kwargs)
    E.that(
        total == want,
        f"densenet(num_classes=5, in_channels=3, growth_rate=8, "
        f"num_convs_in_dense_blocks=(2, 3)) has {total:,} parameters; expected {want:,}.",
    )
    out = ctx.probe("networks.forward", h, torch.rand(2, 3, 32, 32, generator=ctx.generator()), False)
    E.shape(out, (2, 5), "densenet(num_classes=5, in_channels=3, ...) on (2, 3, 32, 32)")


@check("densenet", "with the reference's weights, the same outputs and gradients", weight=1.5)
def densenet_outputs(ctx):
    h = network_handle(ctx, "densenet")
    # 64x64 leaves 2x2 pixels before the global pooling (48x48 left one, where pooling
    # before the last ReLU gives the same output: a survivor of `divekit audit`).
    X = torch.randn(2, 1, 64, 64, generator=ctx.generator(), dtype=torch.float64)
    compare_network(ctx, h, lambda ref: ref.densenet(), X, "densenet")


# CPU: 400 images resized to 32x32 (the smallest size four dense stages and three
# transitions leave a pixel of), batch 32, lr 0.05, 5 epochs (about 5 s on one core); the
# reference reached 0.58-0.64 on Fashion-MNIST and 0.96-0.98 on the digits over three
# seeds. CUDA: all of Fashion-MNIST at 32x32 for 3 epochs, batch 256, lr 0.1 (the book's
# run is 96x96 for 10 epochs, about 0.84-0.89, minutes on a GPU; docs/grading-time.md).
DENSENET = training_check(
    check,
    TrainingThreshold(
        stub="densenet",
        uses=("conv_block", "DenseBlock", "transition_block", "densenet"),
        name="DenseNet",
        cpu=Budget(train=400, test=300, epochs=5, batch_size=32),
        cuda=Budget(train=60000, test=10000, epochs=3, batch_size=256),
        floors={("fashion-mnist", "cpu"): 0.4, ("digits-fallback", "cpu"): 0.75, ("fashion-mnist", "cuda"): 0.75},
        lr=0.05,
        lr_cuda=0.1,
        resize_cpu=32,
        resize_cuda=32,
    ),
)
