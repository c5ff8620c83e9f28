"""The stand-in mechanism's judge side: what a piece calls, whose pieces a check uses, and
the source a worker receives (framework/stand_ins.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from autograder import curriculum
from autograder import framework as registry
from autograder.framework import stand_ins as S

REPO = Path(__file__).resolve().parents[1]


def _setup(module: str):
    solution = S.parse(REPO / "solutions" / f"{module}.py")
    stubs = [s.name for s in curriculum.module(module).stubs]
    return solution, stubs


def _check(module: str, stub: str, kind: str = "unit"):
    return next(c for c in registry.load(module) if c.stub == stub and c.kind == kind)


def test_calls_are_read_from_the_solution_and_arguments_do_not_count():
    solution, stubs = _setup("softmax_regression")
    assert S.calls(solution, "net", stubs) == {"softmax"}
    # evaluate_accuracy(net, data_iter) calls its argument, not the stub net.
    assert S.calls(solution, "evaluate_accuracy", stubs) == {"accuracy"}
    solution, stubs = _setup("batch_norm")
    assert S.calls(solution, "lenet_bn", stubs) == {"BatchNorm"}


def test_a_piece_is_the_students_only_when_what_it_calls_is_too():
    solution, stubs = _setup("batch_norm")
    training = _check("batch_norm", "lenet_bn", "training")
    assert S.students(training, solution, stubs, {"batch_norm", "BatchNorm"}) == {"batch_norm", "BatchNorm", "lenet_bn"}
    # BatchNorm passed, but it calls batch_norm, which did not: both are stand-ins.
    assert S.students(training, solution, stubs, {"BatchNorm"}) == {"lenet_bn"}
    assert S.stand_ins(training, solution, stubs, {"BatchNorm"}) == {"batch_norm", "BatchNorm"}
    # A check's own stub is always the student's, whatever it calls.
    unit = _check("batch_norm", "BatchNorm")
    assert S.stand_ins(unit, solution, stubs, set()) == {"batch_norm"}


def test_the_derived_source_defines_exactly_the_stand_ins():
    solution, stubs = _setup("batch_norm")
    tree = ast.parse(S.source(solution, {"BatchNorm"}, stubs))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert defined == {"BatchNorm"}  # batch_norm stays the student's: never sent along
    assert any(isinstance(n, ast.Import | ast.ImportFrom) for n in tree.body)


def test_no_probe_module_holds_a_definition_of_a_stub():
    """Probes are sent to every worker that needs them: none may carry reference code."""
    names = {s.name for m in curriculum.modules() for s in m.stubs}
    for path in [
        *(REPO / "autograder" / "course").glob("*/probes.py"),
        *(REPO / "autograder/worker/probes").glob("*.py"),
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {n.name.lstrip("_") for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        shadow = defined & names - {"train"}  # the probes' own training loops are not stubs
        assert not shadow, f"{path} defines {sorted(shadow)}"
