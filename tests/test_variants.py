"""Every check proven both ways: realistic wrong implementations lose points with a
message naming the mistake; different correct implementations get full marks."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from . import variants
from .variants.harness import feedback, grade_variant

MODULES = sorted(m.name for m in pkgutil.iter_modules(variants.__path__) if m.name != "harness")
TASK = {"linear_regression": "task1", "softmax_regression": "task1", "mlp": "task1"}


def _cases(kind: str):
    for module in MODULES:
        for v in getattr(importlib.import_module(f"{variants.__name__}.{module}"), kind, []):
            yield pytest.param(module, v, id=f"{module}-{v}", marks=getattr(pytest.mark, TASK.get(module, "task6")))


@pytest.mark.parametrize(("module", "variant"), list(_cases("WRONG")))
def test_wrong_variant_is_caught(tmp_path, module, variant):
    report = grade_variant(tmp_path, module, variant)
    assert report.score < report.max_score, f"{variant.name} got full marks on {module}.{variant.stub}"
    text = feedback(report)
    assert variant.expect.lower() in text.lower(), (
        f"the feedback for {variant.name} does not say {variant.expect!r}:\n{text}"
    )


@pytest.mark.parametrize(("module", "variant"), list(_cases("RIGHT")))
def test_right_variant_gets_full_marks(tmp_path, module, variant):
    report = grade_variant(tmp_path, module, variant)
    assert report.score == pytest.approx(report.max_score), feedback(report)
