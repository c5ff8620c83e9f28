"""`divekit dev check` passes on the repository and names each kind of hole made in a copy of it."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import dev
from autograder.cli import main

REPO = Path(__file__).resolve().parents[1]
LAYOUT = dev.Layout(REPO)


@pytest.fixture(scope="module")
def repo_problems():
    return dev.static_problems(LAYOUT)


def test_the_repository_has_no_static_problem(repo_problems):
    assert repo_problems == []


def test_the_inventory_sees_every_stub_of_the_curriculum():
    from autograder import curriculum

    inv = dev.inventory(LAYOUT)
    assert {m.name: [s.name for s in m.stubs] for m in curriculum.modules()} == {
        name: list(m.stubs) for name, m in inv.modules.items()
    }
    # The optimisers register their checks in a loop: those come from importing the file.
    assert all(s.checks for s in inv.modules["optimizers"].stubs.values())


@pytest.fixture
def copy(tmp_path) -> dev.Layout:
    """The folders dev check reads, copied (the package too: a checks file that computes
    its stub names is imported from the copy)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("autograder", "solutions", "exercises", "tests/variants"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=ignore)
    return dev.Layout(tmp_path)


def _delete_nodes(path: Path, nodes: list[ast.AST]) -> None:
    """Delete the lines of each node (a decorator, or a list item with its trailing comma)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for node in sorted(nodes, key=lambda n: n.lineno, reverse=True):
        del lines[node.lineno - 1 : node.end_lineno]
    path.write_text("".join(lines), encoding="utf-8")
    ast.parse(path.read_text(encoding="utf-8"))  # still a valid file: the test is about what is missing


def _problems(layout: dev.Layout) -> list[str]:
    problems = dev.static_problems(layout)
    assert problems, "dev check found nothing wrong in the damaged copy"
    return problems


def test_a_stub_with_no_check_is_named(copy):
    path = copy.checks_file("linear_regression")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    decorators = [
        d
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        for d in node.decorator_list
        if isinstance(d, ast.Call) and d.args and isinstance(d.args[0], ast.Constant) and d.args[0].value == "linreg"
    ]
    assert decorators
    _delete_nodes(path, decorators)
    problems = _problems(copy)
    assert any(p.startswith("linear_regression.linreg: no check") and str(copy.rel(path)) in p for p in problems), (
        problems
    )


def test_a_stub_with_no_wrong_variant_is_named(copy):
    path = copy.variants_file("linear_regression")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong = next(n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "WRONG")
    calls = [c for c in wrong.elts if isinstance(c, ast.Call) and c.args[0].value == "linreg"]
    assert calls
    _delete_nodes(path, calls)
    problems = _problems(copy)
    assert any(p.startswith("linear_regression.linreg: no wrong variant") for p in problems), problems
    assert not any("right variant" in p for p in problems), problems


def test_a_stub_with_too_few_hints_is_named(copy):
    # Graded hints go from the idea to the shape of the code: one alone gives the answer or too little.
    path = copy.curriculum
    text = path.read_text(encoding="utf-8")
    start = text.index("hints = [", text.index('name = "linreg"'))
    end = text.index("\n]\n", start) + 3
    path.write_text(text[:start] + 'hints = ["Just one."]\n' + text[end:], encoding="utf-8")
    problems = _problems(copy)
    assert problems == [
        "linear_regression.linreg: 1 hint(s), 2 to 4 wanted, from the idea to the shape of the code "
        f"(hints = [...] in its [[module.stub]] in {copy.rel(path)})"
    ], problems


def test_an_orphan_checks_file_is_named(copy):
    home = copy.checks_file("mlp")
    orphan = (
        home.parent.parent / "perceptron" / "checks.py" if home.name == "checks.py" else home.with_stem("perceptron")
    )
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_text(home.read_text(encoding="utf-8").replace('checks_for("mlp")', 'checks_for("perceptron")'))
    problems = _problems(copy)
    assert len(problems) == 1 and problems[0].startswith("perceptron: ") and "no curriculum module" in problems[0], (
        problems
    )


def test_a_stale_exercise_is_named_and_the_command_exits_1(copy):
    path = copy.exercises / "mlp.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited by hand\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["dev", "check", "--static", "--root", str(copy.root)])
    assert result.exit_code == 1, result.output
    assert "problem: mlp: exercises/mlp.py is out of date with solutions/ (run `divekit release`)" in result.output


def test_the_command_passes_on_the_repository():
    result = CliRunner().invoke(main, ["dev", "check", "--static"])
    assert result.exit_code == 0, result.output
    assert "ok: " in result.output


def test_the_graded_part_runs_the_verify_grading():
    result = CliRunner().invoke(main, ["dev", "check", "--only", "quiz", "--sandbox", "process"])
    assert result.exit_code == 0, result.output
    assert "solutions: 5/5" in result.output and "exercises: 0/5" in result.output, result.output
