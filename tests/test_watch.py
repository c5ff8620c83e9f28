"""`divekit watch` driven in a real pseudo-terminal: a student saves a wrong stub, sees the
named mistake, saves the fix, sees it pass and the loop move on; Ctrl-C leaves with exit 0."""

from __future__ import annotations

import ast
import io
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from autograder import watch
from autograder.curriculum import module
from tests.variants.harness import replace_stub
from tests.variants.linear_regression import WRONG

pexpect = pytest.importorskip("pexpect")

REPO = Path(__file__).resolve().parents[1]


def solution_definition(module_name: str, stub: str) -> str:
    """The reference's definition of ``stub``, read from solutions/ (never copied by hand)."""
    text = (REPO / "solutions" / f"{module_name}.py").read_text(encoding="utf-8")
    node = next(n for n in ast.parse(text).body if getattr(n, "name", None) == stub)
    segment = ast.get_source_segment(text, node)
    assert segment is not None
    return segment


def save(path: Path, text: str) -> None:
    """Save as an editor does: a new file renamed over the old one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@pytest.mark.slow
def test_a_student_fixes_a_named_mistake_and_the_loop_moves_on(tmp_path):
    exercises = tmp_path / "exercises"
    shutil.copytree(REPO / "exercises", exercises)
    target = exercises / "linear_regression.py"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "COLUMNS": "200", "TERM": "xterm"}
    env.pop("LC_ALL", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "autograder.cli", "watch", "--path", str(exercises), "--no-training", "--lang", "en"]
        + ["--only", "linear_regression.linreg", "--only", "linear_regression.squared_loss"],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=120,
        dimensions=(50, 200),
    )
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        child.expect("linear_regression.linreg")  # the first stub that does not pass: the shipped one
        child.expect("The linear regression model: X @ w")  # its task text, first paragraph
        child.expect("progress: 0/2 stubs pass")
        child.expect("fix linreg in")
        wrong = next(v for v in WRONG if v.stub == "linreg" and v.name == "elementwise product")
        save(target, replace_stub(target.read_text(encoding="utf-8"), "linreg", wrong.code))
        child.expect("saved: checking linear_regression.linreg again")
        child.expect("elementwise product")  # the known mistake, by name
        child.expect("divekit hint linear_regression.linreg")  # what to do next
        child.expect("fix linreg in")
        fixed = replace_stub(
            target.read_text(encoding="utf-8"), "linreg", solution_definition("linear_regression", "linreg")
        )
        save(target, fixed)
        child.expect("linear_regression.linreg passes")
        child.expect("next: linear_regression.squared_loss")
        child.expect("progress: 1/2 stubs pass, 1/2 points")
        child.expect("fix squared_loss in")
        time.sleep(2)  # Ctrl-C once the loop waits for a save (not while its spinner stops)
        child.sendintr()
        child.expect("leaving divekit watch")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)
    assert "Traceback" not in seen.getvalue(), seen.getvalue()[-3000:]


def test_watch_starts_at_the_first_stub_that_is_not_written(tmp_path):
    # Without grading: a stub that still raises NotImplementedError plainly does not pass.
    exercises = tmp_path / "exercises"
    shutil.copytree(REPO / "exercises", exercises)
    stubs = list(module("linear_regression").stubs)
    assert [watch.unstarted(exercises, s) for s in stubs] == [True] * 5
    target = exercises / "linear_regression.py"
    text = target.read_text(encoding="utf-8")
    target.write_text(
        replace_stub(text, "synthetic_data", "def synthetic_data(w, b, n, noise=0.01, generator=None):\n    return 1\n")
    )
    assert [watch.unstarted(exercises, s) for s in stubs] == [False, True, True, True, True]
    (exercises / "linear_regression.py").unlink()
    assert watch.unstarted(exercises, stubs[0])
    assert watch.has_training(stubs[4]) and not watch.has_training(stubs[2])  # sgd trains, linreg does not


def test_a_threshold_trained_at_the_cpu_budget_says_so():
    from types import SimpleNamespace

    from autograder import framework
    from autograder.course.mlp.checks import MLP_BUDGETS
    from autograder.framework import image_data
    from autograder.framework.context import Ctx

    check = next(c for c in framework.load("mlp") if c.kind == "training")

    def notes(device: str, dataset: str) -> list[str]:
        ctx = Ctx(check=check, session_factory=None, reference=None, device=device)
        image_data.budget_for(ctx, SimpleNamespace(name=dataset), MLP_BUDGETS)
        return ctx.notes

    cpu, cuda = MLP_BUDGETS["fashion-mnist"]
    assert notes("cpu", "fashion-mnist") == [
        f"mlp.net: {check.title}: ran at the CPU budget ({cpu.describe()}; on a GPU: {cuda.describe()})"
    ]
    assert notes("cuda", "fashion-mnist") == []
    assert notes("cpu", "digits-fallback") == []  # the same budget on a GPU: nothing smaller to say
