"""``divekit audit``: mutants graded by the real grader, counts that add up, the same
mutants under the same seed, a rerun that grades nothing new, and a check suite made
weaker in a test that lets mutants survive (which the differential run tells apart from
equivalent ones)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from click.testing import CliRunner

from autograder import framework
from autograder.audit import mutants, select
from autograder.cli import main
from autograder.framework import Check
from autograder.framework.expect import CheckFailed
from autograder.reference import DEFAULT_SOLUTIONS

# Two small stubs of one small module: every mutant of them is graded in about a second.
STUBS = ["linear_regression.linreg", "linear_regression.squared_loss"]


def _audit(tmp_path: Path, *names: str, seed: int = 3, results: str = "results.jsonl") -> tuple[dict, str]:
    out = tmp_path / "audit.json"
    args = ["audit", *names, "--seed", str(seed), "--max-mutants", "3", "--sandbox", "auto"]
    args += ["--results", str(tmp_path / results), "--format", "json", "--out", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), result.output


def _consistent(report: dict) -> None:
    for row in report["stubs"] + report["modules"] + [report["total"]]:
        assert row["killed"] + row["survived"] + row["equivalent"] + row["crashed"] == row["made"], row
        judged = row["made"] - row["equivalent"]
        assert row["score"] == (round(row["killed"] / judged, 4) if judged else None), row


def test_mutants_are_drawn_the_same_under_a_seed_and_stay_in_solution_blocks():
    a = select(["linear_regression"], DEFAULT_SOLUTIONS, 5, 4)
    b = select(["linear_regression"], DEFAULT_SOLUTIONS, 5, 4)
    assert [(m.ident, m.digest) for m in a] == [(m.ident, m.digest) for m in b]
    other = select(["linear_regression"], DEFAULT_SOLUTIONS, 6, 4)
    assert [m.ident for m in other] != [m.ident for m in a], "another seed should draw other mutants"
    text = (DEFAULT_SOLUTIONS / "linear_regression.py").read_text()
    inside = {n for lo, hi in mutants.solution_blocks(text) for n in range(lo, hi + 1)}
    for m in a:
        changed = [i for i, (x, y) in enumerate(zip(text.splitlines(), m.text.splitlines()), 1) if x != y]
        assert changed and set(changed) <= inside, (m.ident, changed)
        compile(m.text, "mutant.py", "exec")


def test_audit_counts_add_up_and_a_rerun_grades_nothing_new(tmp_path):
    report, log = _audit(tmp_path, *STUBS)
    _consistent(report)
    assert report["total"]["made"] == 5  # linreg has 2 mutants, squared_loss 5, at most 3 each
    assert report["total"]["crashed"] == 0, report["crashed"]
    # The real checks kill every mutant of these two stubs.
    assert report["total"]["killed"] == 5, report["survivors"]
    assert log.count("killed") == 5
    again, log = _audit(tmp_path, *STUBS)
    assert "killed" not in log and "survived" not in log, "the rerun graded mutants again:\n" + log
    assert again["stubs"] == report["stubs"]


def _shape_only(ctx) -> None:
    """A check as weak as a first draft: the output's shape, never its values."""
    X = torch.randn(5, 3, generator=ctx.generator(), dtype=torch.float64)
    w = torch.randn(3, 1, generator=ctx.generator(1), dtype=torch.float64)
    b = torch.randn(1, generator=ctx.generator(2), dtype=torch.float64)
    out = ctx.call("linreg", X, w, b)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (5, 1):
        raise CheckFailed(f"linreg should return shape (5, 1), got {getattr(out, 'shape', type(out).__name__)}")


def test_a_weakened_check_shows_up_as_survivors(tmp_path, monkeypatch):
    # The real registry, with linreg's checks replaced by a shape-only one: what an
    # instructor's weak first draft would be. The audit grades in this process (--jobs 1).
    checks = [c for c in framework.load("linear_regression") if c.stub != "linreg"]
    weak = Check("linear_regression", "linreg", "output shape only (weakened by a test)", _shape_only)
    monkeypatch.setitem(framework._REGISTRY, "linear_regression", [*checks, weak])
    report, _ = _audit(tmp_path, "linear_regression.linreg")
    _consistent(report)
    row = report["stubs"][0]
    assert row["name"] == "linear_regression.linreg" and row["made"] == 2
    # matmul(w, X) still raises, but X @ w - b has the right shape: it survives, and the
    # differential run shows that its values differ from the reference's.
    assert row["killed"] == 1 and row["survived"] == 1, report
    (survivor,) = report["survivors"]
    assert survivor["score"] == survivor["max_score"] > 0
    assert "values differ" in survivor["detail"]
    assert "- b" in survivor["diff"] and "+ b" in survivor["diff"]
    # The other formats, from the results file alone (nothing is graded again).
    for fmt in ("text", "html"):
        out = tmp_path / f"audit.{fmt}"
        args = ["audit", "linear_regression.linreg", "--seed", "3", "--max-mutants", "3"]
        args += ["--results", str(tmp_path / "results.jsonl"), "--format", fmt, "--out", str(out)]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0 and "survived" not in result.output, result.output
        page = out.read_text()
        assert "linear_regression.linreg" in page and "50.0%" in page
        assert "torch.matmul(X, w) - b" in page
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert page.index("<table") < page.index("Survivors (1)") < page.index("Equivalent-looking")


def test_differential_comparison_tells_rounding_from_a_difference():
    from autograder.audit.differential import difference
    from autograder.worker.protocol import Handle

    x = torch.randn(4, 3, dtype=torch.float64)
    assert difference(x, x * (1 + 1e-13)) is None  # rounding
    assert "largest gap" in difference(x, x + 1e-3, "y")
    assert "float32" in difference(x, x.float(), "y")
    assert difference([x, {"a": 1.0}], [x, {"a": 1.0 + 1e-15}]) is None
    assert "2 items vs 1" in difference([x, x], [x])
    # Objects left in the worker are the same object when they are the same in number and type.
    assert difference(Handle(1, "Sequential"), Handle(1, "Sequential")) is None
    assert difference(Handle(1, "Sequential"), Handle(2, "Sequential"))
