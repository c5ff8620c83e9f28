"""A broken submission costs its author the points of what is broken and nothing else:
a stub that raises, hangs or returns garbage scores exactly 0 (its signature earns nothing
when none of its behaviour does), and the other stubs of the file keep full marks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from autograder.config import GradingConfig
from autograder.grading import grade
from autograder.sandbox import Limits

from .grading_sandbox import SANDBOX
from .variants.harness import replace_stub

REPO = Path(__file__).resolve().parents[1]
REFERENCE = (REPO / "solutions" / "linear_regression.py").read_text(encoding="utf-8")
FAST = GradingConfig(sandbox=SANDBOX, examples=5, training=False, limits=Limits(call_seconds=5, module_seconds=120))
# Plain process mode whatever the environment requires, so that the mode stays covered.
PROCESS = replace(FAST, sandbox="process")
# A broken stub (a hang, an exception, a syntax error) breaks only its own forked child:
# one zygote serves the module's gradings (tests/conftest.py).
ZYGOTE_CONFIG = lambda: FAST  # noqa: E731
pytestmark = pytest.mark.usefixtures("zygote_for_module")


def _grade(tmp_path, text, only=("linear_regression",), config=FAST):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "linear_regression.py").write_text(text)
    return grade(str(folder), list(only), config)


def _stub_scores(report):
    return {stub: got / total for stub, (got, total) in report.by_stub().items()}


BROKEN_STUB = {
    "exception": ("def squared_loss(y_hat, y):\n    return y_hat.no_such_method()\n", "AttributeError"),
    "nan": ("def squared_loss(y_hat, y):\n    return (y_hat - y.reshape(y_hat.shape)) * float('nan')\n", "NaN"),
    "wrong shape": (
        "def squared_loss(y_hat, y):\n    return (y_hat - y.reshape(y_hat.shape)).sum() ** 2 / 2\n",
        "expected shape",
    ),
    "wrong dtype": (
        "def squared_loss(y_hat, y):\n    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).float()\n",
        "dtype",
    ),
    "infinite loop": ("def squared_loss(y_hat, y):\n    while True:\n        pass\n", "time limit"),
    "returns None": ("def squared_loss(y_hat, y):\n    (y_hat - y) ** 2 / 2\n", "forget to return"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_STUB))
def test_a_broken_stub_costs_only_itself(tmp_path, case):
    code, phrase = BROKEN_STUB[case]
    report = _grade(tmp_path, replace_stub(REFERENCE, "squared_loss", code))
    scores = _stub_scores(report)
    assert scores.pop("linear_regression.squared_loss") == 0, report.to_text()
    assert all(v == pytest.approx(1) for v in scores.values()), scores
    feedback = " ".join(t.output for t in report.tests if t.stub.endswith("squared_loss"))
    assert phrase.lower() in feedback.lower(), feedback


def test_a_missing_function_costs_only_itself(tmp_path):
    text = replace_stub(REFERENCE, "linreg", "")
    report = _grade(tmp_path, text)
    scores = _stub_scores(report)
    assert scores.pop("linear_regression.linreg") == 0
    assert all(v == pytest.approx(1) for v in scores.values()), scores
    assert any("linreg is not defined" in t.output for t in report.tests)


def _line(text: str, snippet: str) -> int:
    return text[: text.index(snippet)].count("\n") + 1


SYNTAX_ERRORS = {
    # case: (stub, its broken definition, the line's snippet, a phrase of Python's message)
    "missing colon": (
        "linreg",
        "def linreg(X, w, b)\n    return torch.matmul(X, w) + b\n",
        "def linreg(X",
        "expected ':'",
    ),
    # Python reads everything after the bracket as part of it: sgd below is swallowed.
    "unclosed bracket": (
        "squared_loss",
        "def squared_loss(y_hat, y):\n    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2\n",
        "return ((y_hat",
        "never closed",
    ),
    "tabs and spaces": ("linreg", "def linreg(X, w, b):\n    out = X @ w\n\treturn out + b\n", "\treturn", "tabs"),
    "bad indentation": ("linreg", "def linreg(X, w, b):\nreturn X @ w + b\n", "def linreg(X", "indented block"),
}


@pytest.mark.parametrize("case", sorted(SYNTAX_ERRORS))
def test_a_syntax_error_costs_only_its_definition_with_the_line(tmp_path, case):
    stub, code, snippet, phrase = SYNTAX_ERRORS[case]
    text = replace_stub(REFERENCE, stub, code)
    report = _grade(tmp_path, text)
    scores = _stub_scores(report)
    assert scores.pop(f"linear_regression.{stub}") == 0, report.to_text()
    assert all(v == pytest.approx(1) for v in scores.values()), (scores, report.to_text())
    mine = [t.output for t in report.tests if t.stub == f"linear_regression.{stub}"]
    assert mine and all(f"SyntaxError at line {_line(text, snippet)}" in out for out in mine), mine
    assert all(phrase in out and "the rest of linear_regression.py was graded" in out for out in mine), mine


def test_a_broken_import_line_is_left_out_with_a_note(tmp_path):
    # An unused import that does not parse costs nothing; what would use it fails by name.
    report = _grade(tmp_path, "from math import (pi\n" + REFERENCE)
    assert report.score == pytest.approx(report.max_score), report.to_text()
    assert any("statement at line 1 was left out" in n and "never closed" in n for n in report.notes), report.notes


def test_an_import_error_is_reported_on_every_stub_of_the_file(tmp_path):
    report = _grade(tmp_path, "import torch\nraise RuntimeError('boom at import')\n" + REFERENCE, config=PROCESS)
    assert report.score == 0
    assert all("boom at import" in t.output for t in report.tests)


def test_a_missing_file_scores_zero_for_that_module_only(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "linear_regression.py").write_text(REFERENCE)
    report = grade(str(folder), ["linear_regression", "mlp.relu"], FAST)
    scores = _stub_scores(report)
    assert scores.pop("mlp.relu") == 0
    assert all(v == pytest.approx(1) for v in scores.values())
    assert any("No mlp.py in the submission" in t.output for t in report.tests)
