"""Grading lanes: modules graded at the same time (threads of the judge) give the report
one lane gives, test for test, and a grader fault in one lane still stops the grading."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.config import GradingConfig
from autograder.faults import GraderFault
from autograder.grading import grade

from .variants import gradient_descent, linear_regression
from .variants.harness import replace_stub

REPO = Path(__file__).resolve().parents[1]
MODULES = ["linear_regression", "softmax_regression", "gradient_descent", "quiz"]  # the curriculum's order
HANGING = "def softmax(X):\n    while True:\n        pass\n"


def _submission(folder: Path) -> Path:
    """Known mistakes in two modules, a hanging stub in a third, the quiz right."""
    folder.mkdir()
    wrong = {"linear_regression": linear_regression.WRONG[0], "gradient_descent": gradient_descent.WRONG[0]}
    for module in MODULES:
        text = (REPO / "solutions" / f"{module}.py").read_text(encoding="utf-8")
        if module in wrong:
            text = replace_stub(text, wrong[module].stub, wrong[module].code, wrong[module].extra_imports)
        elif module == "softmax_regression":
            text = replace_stub(text, "softmax", HANGING)
        (folder / f"{module}.py").write_text(text, encoding="utf-8")
    return folder


def _seen(report) -> tuple:
    return [(t.name, round(t.score, 9), t.status, t.output) for t in report.tests], report.notes


def test_two_lanes_give_the_report_one_lane_gives(tmp_path):
    folder = _submission(tmp_path / "sub")
    options = GradingConfig(sandbox="process", examples=5, training=False)
    one = grade(str(folder), MODULES, replace(options, lanes=1))
    two = grade(str(folder), MODULES, replace(options, lanes=2))
    assert _seen(two) == _seen(one)
    assert [t.stub.split(".")[0] for t in two.tests] == sorted(
        (t.stub.split(".")[0] for t in two.tests), key=MODULES.index
    )  # in the curriculum's order, whichever lane finished first
    by_stub = {stub: got for stub, (got, _) in two.by_stub().items()}
    assert by_stub["softmax_regression.softmax"] == 0 and by_stub["quiz.ANSWERS"] > 0
    assert 0 < two.score < two.max_score


def test_a_fault_in_one_lane_stops_the_grading(tmp_path):
    # A solutions folder without the gradient_descent reference: a grader fault, no report.
    solutions = tmp_path / "solutions"
    shutil.copytree(REPO / "solutions", solutions)
    (solutions / "gradient_descent.py").unlink()
    options = GradingConfig(sandbox="process", examples=5, training=False, solutions=str(solutions), lanes=2)
    with pytest.raises(GraderFault, match="gradient_descent"):
        grade(str(REPO / "solutions"), MODULES, options)
