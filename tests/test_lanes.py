"""Grading lanes: modules graded at the same time (threads of the judge) give the report
one lane gives, test for test, and a grader fault in one lane still stops the grading."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from autograder import curriculum
from autograder.awards import plan
from autograder.config import GradingConfig
from autograder.faults import GraderFault
from autograder.grading import grade

from .grading_sandbox import SANDBOX
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
    told: list[tuple[int, int]] = []
    two = grade(
        str(folder), MODULES, replace(options, lanes=2), progress=lambda _, done, total: told.append((done, total))
    )
    assert _seen(two) == _seen(one)
    # The progress is the submission's, whichever lane tells it: one total, never going back.
    assert {total for _, total in told} == {len(two.tests)}
    assert [done for done, _ in told] == sorted(done for done, _ in told)
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


def test_a_fault_stops_the_other_lane_at_its_next_check(tmp_path):
    # One lane grades softmax_regression with a hanging softmax (many checks, each waiting
    # out a call limit), the other faults at once: the first lane starts no check after it.
    folder = _submission(tmp_path / "sub")
    solutions = tmp_path / "solutions"
    shutil.copytree(REPO / "solutions", solutions)
    (solutions / "gradient_descent.py").unlink()
    started: list[str] = []
    options = GradingConfig(sandbox="process", examples=5, training=False, solutions=str(solutions), lanes=2)
    with pytest.raises(GraderFault, match="gradient_descent"):
        grade(
            str(folder), ["softmax_regression", "gradient_descent"], options, progress=lambda s, *_: started.append(s)
        )
    for lane in [t for t in threading.enumerate() if t.name.startswith("divekit-lane")]:
        lane.join(timeout=120)
        assert not lane.is_alive(), "a lane went on grading after the fault"
    built = options.built()
    module = curriculum.module("softmax_regression")
    softmax_checks = len(plan(module, list(module.stubs), built, built.rubric))
    begun = [s for s in started if s.startswith("softmax_regression.")]
    assert len(begun) < softmax_checks / 2, (len(begun), softmax_checks)  # waiting in order let all of them run


def test_the_lanes_take_the_longest_modules_first(tmp_path, monkeypatch):
    # A module started last that runs long (a ResNet's training) would run on alone while
    # the other lane stood idle: the lanes take the modules in the order of what their
    # checks took the reference (the cached calibration figures), the report stays in the
    # curriculum's order.
    from autograder import grading

    folder = _submission(tmp_path / "sub")
    options = GradingConfig(sandbox="process", examples=5, training=False, lanes=2)
    grade(str(folder), MODULES, options)  # the reference's figures are cached from here on
    started: list[str] = []
    expected: dict[str, float] = {}
    graded, estimate = grading.ModuleGrader.grade, grading.ModuleGrader.expected_seconds

    def spy_estimate(self):
        expected[self.module.name] = estimate(self)
        return expected[self.module.name]

    def spy_grade(self):
        started.append(self.module.name)
        return graded(self)

    monkeypatch.setattr(grading.ModuleGrader, "expected_seconds", spy_estimate)
    monkeypatch.setattr(grading.ModuleGrader, "grade", spy_grade)
    report = grade(str(folder), MODULES, options)
    assert all(expected[m] > 0 for m in MODULES), expected  # the figures were found
    by_estimate = sorted(MODULES, key=lambda m: -expected[m])
    assert set(started[:2]) == set(by_estimate[:2]), (started, expected)  # the two lanes' first modules
    assert sorted(started) == sorted(MODULES)
    assert [t.stub.split(".")[0] for t in report.tests] == sorted(
        (t.stub.split(".")[0] for t in report.tests), key=MODULES.index
    )


def test_the_judge_freezes_what_it_imported_once(tmp_path):
    """Before its first grading the judge leaves its imports out of the collector's full
    passes (grading._freeze_what_was_imported), and only once: a judge grading many
    submissions never freezes a grading's own objects."""
    import gc

    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy(REPO / "solutions" / "quiz.py", folder / "quiz.py")
    config = GradingConfig(sandbox=SANDBOX, training=False)
    grade(str(folder), ["quiz"], config)
    frozen = gc.get_freeze_count()
    assert frozen > 10_000, "torch, hypothesis and the checks are frozen"
    grade(str(folder), ["quiz"], config)
    assert gc.get_freeze_count() == frozen
