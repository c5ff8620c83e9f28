"""batch_norm's known mistakes written as the formula with one change (course/batch_norm/
mistakes.py, instructor-only): each must differ from the reference's right answer, or a
right answer could be named as it, and from the other mistakes of its comparison, so that
the name a student reads is the one that fits.

The variants (tests/variants/batch_norm.py) prove that a student written each way is
named; these cover the mistakes no variant writes (statistics over every axis or per
example, the variance taken for a deviation, the detached batch statistics), on inputs of
the kind the checks draw (two or more channels: with one, statistics over every axis are
the right ones, which is why a mistake is only ever matched after the right answer failed).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from autograder import reference
from autograder.course.batch_norm import checks

pytestmark = pytest.mark.task6

mistakes = reference.mistakes(reference.load("batch_norm"))

SPECS = [
    checks.BNInput((6, 3), 1.0, 3.0, 11),
    checks.BNInput((3, 4, 2, 2), 10.0, -100.0, 12),
]


def _differ(a: torch.Tensor, b: torch.Tensor) -> bool:
    # The checks' float64 tolerance (expect.TOLERANCES), scaled as E.close scales it.
    return a.shape != b.shape or not torch.allclose(a, b, rtol=1e-7, atol=1e-9 * max(1.0, float(b.abs().max())))


@pytest.fixture(scope="module")
def ref():
    return reference.load("batch_norm")


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_training_mistakes_differ_from_the_answer_and_each_other(ref, spec):
    X = spec.make()
    gamma, beta, mm, mv = spec.params("random")
    right = checks._reference(ref, True, X, gamma, beta, mm, mv)[0]
    # Over the batch axis alone is right for (N, C) input: the checks name it for 4-D only.
    changes = [c for c in mistakes.TRAINING if X.dim() == 4 or c != "batch axis"]
    wrong = {c: mistakes.training(c, X, gamma, beta) for c in changes}
    for change, value in wrong.items():
        assert _differ(value, right), f"{change} gives the right answer for {spec}"
    for (a, va), (b, vb) in itertools.combinations(wrong.items(), 2):
        assert _differ(va, vb), f"{a} and {b} give the same output for {spec}"


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_prediction_mistakes_differ_from_the_answer_and_each_other(ref, spec):
    X = spec.make()
    gamma, beta, mm, mv = spec.params("random")
    right = checks._reference(ref, False, X, gamma, beta, mm, mv)[0]
    eps_outside = mistakes.prediction("eps outside", X, gamma, beta, mm, mv)
    as_deviation = mistakes.prediction("variance as deviation", X, gamma, beta, mm, mv)
    assert _differ(eps_outside, right) and _differ(as_deviation, right) and _differ(eps_outside, as_deviation)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_gradient_and_moving_variance_mistakes_differ_from_the_answer(ref, spec):
    X = spec.make()
    gamma, beta, mm, mv = spec.params("random")
    g = torch.randn(X.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    right = checks._reference_grads(ref, X, gamma, beta, mm, mv, g)
    detached = mistakes.gradients("detach", X, gamma, beta, g)
    unbiased = mistakes.gradients("unbiased", X, gamma, beta, g)
    # gamma's and beta's gradients do not see a detached mean or variance; X's does.
    assert _differ(detached[0], right[0]) and _differ(unbiased[0], right[0]) and _differ(detached[0], unbiased[0])
    assert _differ(unbiased[1], right[1])
    for momentum in (0.9, 0.5):
        moving_var = checks._reference(ref, True, X, gamma, beta, mm, mv, momentum)[2]
        assert _differ(mistakes.unbiased_moving_var(X, gamma, beta, mv, momentum), moving_var)
