"""The known mistakes of the resnet and densenet comparisons (solutions/mistakes/), on the
weights the comparison draws from the network's layout: each one must differ from the right
output where it applies, or a right answer could be named as it (and the other way round),
and from the other mistakes, so that the name a student reads is the one that fits.

The variants (tests/variants) prove that a student written each way is named; these are
the mistakes no variant covers, checked on the very inputs the checks use, in-process.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from autograder import reference
from autograder.course.resnet import checks as resnet_checks
from autograder.framework.networks import reference_network

pytestmark = pytest.mark.task6

dense_mistakes = reference.mistakes(reference.load("densenet"))
resnet_mistakes = reference.mistakes(reference.load("resnet"))

SEED = 20240


def _differ(a: torch.Tensor, b: torch.Tensor) -> bool:
    # The comparison's float64 tolerance (expect.TOLERANCES), scaled as E.close scales it.
    return a.shape != b.shape or not torch.allclose(a, b, rtol=1e-7, atol=1e-9 * max(1.0, float(b.abs().max())))


def _right(net, X, train):
    net.train(train)
    with torch.no_grad():
        return net(X)


@pytest.mark.parametrize(("cin", "cout", "one", "stride"), resnet_checks.RESIDUAL_CASES)
@pytest.mark.parametrize("train", [False, True])
def test_every_residual_mistake_is_told_apart(cin, cout, one, stride, train):
    ref = reference.load("resnet")
    net = reference_network(ref, lambda r: r.Residual(cin, cout, use_1x1conv=one, stride=stride), SEED)
    X = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(SEED), dtype=torch.float64)
    with torch.no_grad():
        wrong = {k: resnet_mistakes.residual_variant(net, X, train, stride, k) for k in resnet_checks.RESIDUAL_HINTS}
    right = _right(net, X, train)
    for kind, value in wrong.items():
        if kind == "stride on conv2" and stride == 1:  # moving a stride of 1 changes nothing
            assert not _differ(value, right)
            continue
        assert _differ(value, right), f"{kind} gives the right output"
    for (a, va), (b, vb) in itertools.combinations(wrong.items(), 2):
        if stride == 1 and "stride on conv2" in (a, b):
            continue
        assert _differ(va, vb), f"{a} and {b} give the same output"


def test_the_right_residual_is_not_among_the_mistakes():
    """mistakes.py holds wrong blocks only: asked for anything else it refuses."""
    ref = reference.load("resnet")
    net = reference_network(ref, lambda r: r.Residual(3, 3), SEED)
    assert set(resnet_mistakes.KINDS) == set(resnet_checks.RESIDUAL_HINTS)
    with pytest.raises(ValueError, match="no known Residual mistake"):
        resnet_mistakes.residual_variant(net, torch.zeros(1, 3, 4, 4, dtype=torch.float64), True, 1, "")


@pytest.mark.parametrize("train", [False, True])
def test_the_reversed_dense_block_is_told_apart(train):
    ref = reference.load("densenet")
    net = reference_network(ref, lambda r: r.DenseBlock(3, 2, 4), SEED)
    X = torch.randn(3, 2, 5, 5, generator=torch.Generator().manual_seed(SEED), dtype=torch.float64)
    with torch.no_grad():
        wrong = dense_mistakes.dense_reversed(net, X, train)
    assert wrong.shape == (3, 14, 5, 5)
    assert _differ(wrong, _right(net, X, train))
