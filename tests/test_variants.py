"""Every check proven both ways: realistic wrong implementations lose points with a
message naming the mistake; different correct implementations get full marks. And every
variant gets the same verdicts from a student pack's answer key as from the solutions.

The modules and their pytest markers come from the curriculum (``task1`` for a module of
"Task 1"), and each variant is graded as a real grade would grade it (see
``variants.harness.grade_variant``). That every stub has a wrong and a right variant is
``divekit dev check``'s to say (``tests/test_dev_check.py``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from autograder import curriculum
from autograder import framework as check_registry
from autograder.config import GradingConfig
from autograder.report import Report
from autograder.sandbox.zygote import fork_server

from . import variants
from .variants.harness import feedback, grade_variant

# One zygote per module and xdist worker (tests/conftest.py): the variants are trusted code.
pytestmark = pytest.mark.usefixtures("zygote_for_module")


def _marker(module: curriculum.Module):
    return getattr(pytest.mark, module.task.lower().replace(" ", ""))


def _variants(module: str, kind: str) -> list:
    # No default: a module without its WRONG or RIGHT list fails collection, loudly.
    return getattr(importlib.import_module(f"{variants.__name__}.{module}"), kind)


def _trains(module: str, variant) -> bool:
    """Whether grading this variant runs a training threshold (the long part of the proof)."""
    if variant.options.get("training") is False:
        return False
    return any(c.kind == "training" and c.stub == variant.stub for c in check_registry.load(module))


def _cases(kind: str):
    for module in curriculum.modules():
        for v in _variants(module.name, kind):
            # Training variants are marked slow: CI runs them, the quick local loop does not.
            marks = [_marker(module)] + ([pytest.mark.slow] if _trains(module.name, v) else [])
            yield pytest.param(module.name, v, id=f"{module.name}-{v}", marks=marks)


def _graded(tmp_path, module: str, variant, key: Path) -> Report:
    """The variant graded from the solutions, as a course grades it; and, since a student
    pack must say the same, graded again from the public answer key (unit checks: a
    training threshold reads the reference's run from a recorded value either way), with
    the same status, message and share of its points on every unit check."""
    config = GradingConfig().built()
    with fork_server(config.limits, config.mode or "process", config.device):
        report = grade_variant(tmp_path / "solutions", module, variant)
        packed = grade_variant(tmp_path / "key", module, variant, training=False, key=str(key))
    # Each check's share of its points (the points themselves are spread over the checks
    # that run, and the key's run leaves the training checks out).
    units = lambda r: [  # noqa: E731
        (t.name, round(t.score / t.max_score, 9) if t.max_score else 0.0, t.status, t.output)
        for t in r.tests
        if t.kind == "unit"
    ]
    assert packed.meta["references"].startswith("answer key")
    assert units(packed) == units(report), "the pack's verdicts differ:\n" + "\n".join(
        f"solutions: {a}\nkey:       {b}" for a, b in zip(units(report), units(packed)) if a != b
    )
    return report


@pytest.mark.parametrize(("module", "variant"), list(_cases("WRONG")))
def test_wrong_variant_is_caught(tmp_path, public_key, module, variant):
    report = _graded(tmp_path, module, variant, public_key)
    assert report.score < report.max_score, f"{variant.name} got full marks on {module}.{variant.stub}"
    assert variant.expect, f"{variant.name} names no phrase that shows its mistake was detected"
    text = feedback(report)
    assert variant.expect.lower() in text.lower(), (
        f"the feedback for {variant.name} does not say {variant.expect!r}:\n{text}"
    )


def test_variants_are_graded_alike_in_plain_process_mode(tmp_path):
    # The variants grade under sandbox "auto" (bwrap where it starts, required in CI); one
    # wrong and one right variant in plain process mode keep that mode covered.
    wrong, right = _variants("linear_regression", "WRONG")[0], _variants("linear_regression", "RIGHT")[0]
    report = grade_variant(tmp_path / "wrong", "linear_regression", wrong, sandbox="process")
    assert report.meta["sandbox"] == "process" and report.score < report.max_score
    assert wrong.expect.lower() in feedback(report).lower(), feedback(report)
    report = grade_variant(tmp_path / "right", "linear_regression", right, sandbox="process")
    assert report.score == pytest.approx(report.max_score), feedback(report)


@pytest.mark.parametrize(("module", "variant"), list(_cases("RIGHT")))
def test_right_variant_gets_full_marks(tmp_path, public_key, module, variant):
    report = _graded(tmp_path, module, variant, public_key)
    assert report.score == pytest.approx(report.max_score), feedback(report)
