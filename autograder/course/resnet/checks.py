"""Checks for Task 6.2, residual networks (section 7.6)."""

from __future__ import annotations

import math

import torch

from ...framework import checks_for
from ...framework import expect as E
from ...framework.expect import Mistake
from ...framework.image_data import Budget
from ...framework.networks import (
    TrainingThreshold,
    compare_network,
    network_handle,
    reference_network,
    training_check,
)
from ...reference import mistakes as mistakes_of
from ...session import StudentError

check = checks_for("resnet")


# -- Residual -----------------------------------------------------------------------------


RESIDUAL_HINTS = {
    "stride on conv2": "The stride belongs to conv1 (and to the 1x1 conv3 on the shortcut); conv2 always has stride 1.",
    "ReLU before the addition": "Add the shortcut to bn2's output first, then apply the ReLU: "
    "relu(bn2(conv2(...)) + X).",
    "ReLU before and after the addition": "Add the shortcut to bn2's output first, then "
    "apply one ReLU: relu(bn2(conv2(...)) + X).",
    "no ReLU after the addition": "The block ends with a ReLU after the addition.",
    "no shortcut": "The shortcut is never added: Y += X (or conv3(X)) before the last ReLU.",
    "bn2 after the addition": "bn2 normalises conv2's output before the shortcut is added.",
    "no ReLU after bn1": "relu(bn1(conv1(X))) feeds conv2.",
}


def _reference_residual_mistake(ref, build, seed, X, train, stride, kind):
    """What the reference Residual (with the comparison's weights) gives written wrong as
    ``kind`` (solutions/mistakes/resnet.py: the reference's forward pass with one change)."""
    mistakes = mistakes_of(ref)  # solutions/mistakes/: where the solutions are, never in a pack

    with torch.no_grad():
        return mistakes.residual_variant(reference_network(ref, build, seed), X, train, stride, kind)


def residual_mistakes(ctx, build, X, stride):
    def make(train):
        return [
            Mistake(
                "a Residual that never adds the shortcut" if kind == "no shortcut" else f"a Residual with {kind}",
                hint,
                lambda kind=kind: ctx.expected(_reference_residual_mistake, build, ctx.seed, X, train, stride, kind),
            )
            for kind, hint in RESIDUAL_HINTS.items()
        ]

    return make


RESIDUAL_CASES = ((3, 3, False, 1), (3, 6, True, 2))


@check(
    "Residual",
    "Residual(3, 3) keeps (4, 3, 6, 6); Residual(3, 6, use_1x1conv=True, stride=2) gives (4, 6, 3, 3)",
    needs_correctness=True,
)
def residual_shapes(ctx):
    X = torch.randn(4, 3, 6, 6, generator=ctx.generator())
    for (cin, cout, one, stride), want in zip(RESIDUAL_CASES, ((4, 3, 6, 6), (4, 6, 3, 3))):
        h = ctx.new("Residual", cin, cout, use_1x1conv=one, stride=stride)
        out = ctx.probe("networks.forward", h, X, True)
        E.shape(out, want, f"Residual({cin}, {cout}, use_1x1conv={one}, stride={stride}) on (4, 3, 6, 6)")


@check(
    "Residual",
    "layers conv1, bn1, conv2, bn2 (and conv3 with use_1x1conv) with the contract's sizes and strides",
    needs_correctness=True,
)
def residual_layers(ctx):
    for cin, cout, one, stride in RESIDUAL_CASES + ((4, 8, True, 1),):
        what = f"Residual({cin}, {cout}, use_1x1conv={one}, stride={stride})"
        h = ctx.new("Residual", cin, cout, use_1x1conv=one, stride=stride)
        info = ctx.describe(h)
        children = {c.name: c.type for c in info.children}
        want = {"conv1": "Conv2d", "bn1": "BatchNorm2d", "conv2": "Conv2d", "bn2": "BatchNorm2d"}
        if one:
            want["conv3"] = "Conv2d"
        for name, kind in want.items():
            if name not in children:
                missing = "missing bn" if name.startswith("bn") else f"missing {name}"
                E.fail(
                    f"{what} has no {name} ({missing}; its layers: {sorted(children)}). The "
                    "contract names the layers conv1, bn1, conv2, bn2 and conv3: they are "
                    "the keys of state_dict()."
                )
            E.that(children[name] == kind, f"{what}.{name} is a {children[name]}; expected nn.{kind}.")
        conv3 = ctx.probe("networks.attribute", h, "conv3")
        if not one:
            E.that(
                conv3 is None,
                f"{what}: without use_1x1conv, conv3 should be None (the shortcut is X itself), got {conv3}.",
            )
        params = {p.name: tuple(p.shape) for p in info.parameters}
        shapes = {
            "conv1.weight": (cout, cin, 3, 3),
            "conv2.weight": (cout, cout, 3, 3),
            "bn1.weight": (cout,),
            "bn2.weight": (cout,),
        }
        if one:
            shapes["conv3.weight"] = (cout, cin, 1, 1)
        for name, shape in shapes.items():
            E.that(params.get(name) == shape, f"{what}.{name} has shape {params.get(name)}; expected {shape}.")
        strides = {"conv2": [1, 1], "conv1": [stride] * 2}  # conv2 first: the usual slip
        if one:
            strides["conv3"] = [stride] * 2
        for name, want_stride in strides.items():
            got = ctx.probe("networks.attribute", h, f"{name}.stride")
            if name == "conv2" and got != want_stride:
                E.fail(
                    f"{what}.conv2 has stride {got}: the stride on conv2 is a mistake; "
                    "the stride belongs to conv1 (and conv3), conv2 keeps stride 1."
                )
            E.that(got == want_stride, f"{what}.{name} has stride {got}; expected {want_stride}.")
        for name in ("conv1", "conv2"):
            got = ctx.probe("networks.attribute", h, f"{name}.padding")
            E.that(got == [1, 1], f"{what}.{name} has padding {got}; expected 1.")


@check(
    "Residual",
    "with the reference's weights, the same outputs and gradients (so the "
    "stride, the ReLUs and the shortcut are where the book puts them)",
    weight=2,
)
def residual_outputs(ctx):
    X = torch.randn(4, 3, 6, 6, generator=ctx.generator(), dtype=torch.float64)
    for cin, cout, one, stride in RESIDUAL_CASES:
        what = f"Residual({cin}, {cout}, use_1x1conv={one}, stride={stride})"
        h = ctx.new("Residual", cin, cout, use_1x1conv=one, stride=stride)

        def build(ref, cin=cin, cout=cout, one=one, stride=stride):
            return ref.Residual(cin, cout, use_1x1conv=one, stride=stride)

        compare_network(
            ctx,
            h,
            build,
            X,
            what,
            residual_mistakes(ctx, build, X, stride),
            names_hint=" The contract names them conv1, bn1, conv2, bn2, conv3.",
        )


# -- resnet_block -------------------------------------------------------------------------


@check(
    "resnet_block",
    "Residual blocks; only the first halves the resolution with a 1x1 conv, and none does with first_block=True",
)
def resnet_block_structure(ctx):
    cases = (
        ((4, 8, 3), {}, (2, 4, 6, 6), (2, 8, 3, 3)),
        ((8, 8, 2), {"first_block": True}, (2, 8, 6, 6), (2, 8, 6, 6)),
    )
    for args, kwargs, in_shape, out_shape in cases:
        first = kwargs.get("first_block", False)
        what = f"resnet_block({', '.join(map(str, args))}{', first_block=True' if first else ''})"
        h = network_handle(ctx, "resnet_block", args, kwargs)
        info = ctx.describe(h)
        kinds = [c.type for c in info.children]
        E.that(
            kinds == ["Residual"] * args[2],
            f"{what} should be an nn.Sequential of {args[2]} Residual blocks; its children are {kinds}.",
        )
        names = {p.name for p in info.parameters}
        with_1x1 = [i for i in range(args[2]) if f"{i}.conv3.weight" in names]
        if first:
            E.that(
                not with_1x1,
                f"{what}: Residual {with_1x1} got a 1x1 convolution on the "
                "first block. With first_block=True (the stage right after the max-pool) "
                "no Residual changes the shape: all use Residual(out, out).",
            )
        else:
            E.that(
                0 in with_1x1,
                f"{what}: the first Residual has no 1x1 convolution, so it "
                "cannot change the channels or halve the resolution: use "
                "Residual(in_channels, out_channels, use_1x1conv=True, stride=2).",
            )
            E.that(
                with_1x1 == [0],
                f"{what}: Residuals {with_1x1} have 1x1 convolutions; only the first one of the block should.",
            )
            stride = ctx.probe("networks.attribute", h, "0.conv1.stride")
            E.that(
                stride == [2, 2],
                f"{what}: the first Residual has stride {stride}; it should halve the height and width (stride=2).",
            )
        X = torch.randn(in_shape, generator=ctx.generator())
        out = ctx.probe("networks.forward", h, X, True)
        E.shape(out, out_shape, f"{what} on {in_shape}")


@check("resnet_block", "with the reference's weights, the same outputs and gradients")
def resnet_block_outputs(ctx):
    for args, kwargs, shape in (((4, 8, 2), {}, (2, 4, 6, 6)), ((8, 8, 2), {"first_block": True}, (2, 8, 4, 4))):
        what = f"resnet_block{args}{' with first_block=True' if kwargs else ''}"
        h = network_handle(ctx, "resnet_block", args, kwargs)
        X = torch.randn(shape, generator=ctx.generator(), dtype=torch.float64)
        compare_network(ctx, h, lambda ref, args=args, kwargs=kwargs: ref.resnet_block(*args, **kwargs), X, what)


# -- resnet18 -----------------------------------------------------------------------------


RESNET_STAGES = [[1, 64, 56, 56]] * 2 + [[1, 128, 28, 28]] * 2 + [[1, 256, 14, 14]] * 2 + [[1, 512, 7, 7]] * 2


@check("resnet18", "layer by layer on a (1, 1, 224, 224) image: 64x56x56, 128x28x28, 256x14x14, 512x7x7, then (1, 10)")
def resnet18_shapes(ctx):
    h = network_handle(ctx, "resnet18")
    X = torch.rand(1, 1, 224, 224, generator=ctx.generator())
    s = ctx.probe("networks.shapes", h, X, ["Residual", "MaxPool2d", "AdaptiveAvgPool2d", "Linear"])
    residuals = [layer for layer in s.layers if layer.type == "Residual"]
    E.that(len(residuals) == 8, f"resnet18 should run 8 Residual blocks (2 per stage); {len(residuals)} ran.")
    E.that(
        residuals[0].input == [1, 64, 56, 56],
        f"The stem (7x7 conv with stride 2, BN, ReLU, "
        f"3x3 max-pool with stride 2) should turn (1, 1, 224, 224) into (1, 64, 56, 56); "
        f"the first Residual got {residuals[0].input}.",
    )
    got = [layer.output for layer in residuals]
    E.that(
        got == RESNET_STAGES,
        f"The Residual blocks' outputs are {got}; expected "
        f"{RESNET_STAGES} (each stage but the first halves the height and width and "
        "doubles the channels).",
    )
    E.that(s.output == [1, 10], f"resnet18's output is {s.output}; expected [1, 10].")


@check("resnet18", "as many parameters as the book's, and num_classes / in_channels are used", weight=0.5)
def resnet18_parameters(ctx):
    info = ctx.describe(network_handle(ctx, "resnet18"))
    total = sum(math.prod(p.shape) for p in info.parameters)
    want = ctx.expected(lambda ref: sum(p.numel() for p in ref.resnet18().parameters()))
    E.that(total == want, f"resnet18() has {total:,} parameters; the book's has {want:,}.")
    h = network_handle(ctx, "resnet18", (), {"num_classes": 5, "in_channels": 3})
    try:
        out = ctx.probe("networks.forward", h, torch.rand(2, 3, 64, 64, generator=ctx.generator()), False)
    except StudentError as err:
        E.fail(
            f"resnet18(num_classes=5, in_channels=3) cannot take a batch of shape (2, 3, 64, 64): "
            f"{err.type_name}: {err.message}. Pass in_channels to the first convolution and num_classes "
            "to the last linear layer instead of the book's 1 and 10."
        )
    E.shape(out, (2, 5), "resnet18(num_classes=5, in_channels=3) on (2, 3, 64, 64)")


@check("resnet18", "with the reference's weights, the same outputs and input gradients", weight=1.5)
def resnet18_outputs(ctx):
    h = network_handle(ctx, "resnet18")
    X = torch.randn(2, 1, 32, 32, generator=ctx.generator(), dtype=torch.float64)
    compare_network(ctx, h, lambda ref: ref.resnet18(), X, "resnet18", param_grads=False)


# CPU: 400 images at 28x28 for 4 epochs (about 7 s on one core); the reference reached
# 0.56-0.63 on Fashion-MNIST and 0.90-0.96 on the digits over three seeds. CUDA: all of
# Fashion-MNIST at 28x28 for 3 epochs, batch 256, lr 0.05 (the book's run is 96x96 for 10
# epochs, about 0.89, minutes on a GPU; docs/grading-time.md sizes this one).
RESNET18 = training_check(
    check,
    TrainingThreshold(
        stub="resnet18",
        uses=("Residual", "resnet_block", "resnet18"),
        name="ResNet-18",
        cpu=Budget(train=400, test=300, epochs=4, batch_size=32),
        cuda=Budget(train=60000, test=10000, epochs=3, batch_size=256),
        floors={("fashion-mnist", "cpu"): 0.4, ("digits-fallback", "cpu"): 0.7, ("fashion-mnist", "cuda"): 0.8},
        lr=0.05,
    ),
)
