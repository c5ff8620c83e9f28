"""The reference's values kept from its calibration run (framework/reference_runs.py,
``values_folder``): a grading that looks them up gives the report one that computes them
gives, test for test, and it did look them up; a value not kept is computed; the values
are named by the code and settings they came from."""

from __future__ import annotations

import types
from dataclasses import replace
from pathlib import Path

import pytest

from autograder import curriculum, reference
from autograder.awards import plan
from autograder.config import GradingConfig
from autograder.framework import answer_key, context, reference_runs
from autograder.grading import grade

from .grading_sandbox import SANDBOX
from .variants import optimizers, softmax_regression
from .variants.harness import replace_stub

pytestmark = pytest.mark.usefixtures("zygote_for_module")
REPO = Path(__file__).resolve().parents[1]
MODULES = ["softmax_regression", "optimizers"]


class _CountingTurn:
    """Stands in for the lock every live reference computation takes (lanes.REFERENCE_TURN)."""

    def __init__(self, turn):
        self.turn, self.entered = turn, 0

    def __enter__(self):
        self.entered += 1
        return self.turn.__enter__()

    def __exit__(self, *exc):
        return self.turn.__exit__(*exc)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty reference cache, nothing read from one in this process."""
    monkeypatch.setenv("DIVEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(reference_runs, "_VALUES", {})
    return tmp_path / "cache"


def _wrong_submission(folder: Path) -> Path:
    """Known mistakes in both modules (one each), so that failing feedback is compared too."""
    folder.mkdir()
    wrong = {"softmax_regression": softmax_regression.WRONG[0], "optimizers": optimizers.WRONG[0]}
    for module in MODULES:
        text = (REPO / "solutions" / f"{module}.py").read_text(encoding="utf-8")
        mistake = wrong[module]
        (folder / f"{module}.py").write_text(replace_stub(text, mistake.stub, mistake.code, mistake.extra_imports))
    return folder


def _said(report) -> list[tuple]:
    return [(t.name, t.status, t.score, t.output) for t in report.tests]


def test_kept_values_grade_as_computed_ones_and_are_looked_up(cache, tmp_path, monkeypatch):
    submission = _wrong_submission(tmp_path / "submission")
    config = GradingConfig(sandbox=SANDBOX, training=False)
    computed = grade(str(submission), MODULES, GradingConfig(sandbox=SANDBOX, training=False, reference_values=False))
    assert not list(cache.glob("values-*")), "nothing is kept when the values are not asked for"
    assert any(t.status == "failed" for t in computed.tests) and any(t.status == "passed" for t in computed.tests)

    first = grade(str(submission), MODULES, config)  # calibrates, keeping the values
    assert sorted(p.name.split("-")[1] for p in cache.glob("values-*")) == sorted(MODULES)
    turn = _CountingTurn(context.REFERENCE_TURN)
    monkeypatch.setattr(context, "REFERENCE_TURN", turn)
    reads = _count_reads(monkeypatch)
    kept = grade(str(submission), MODULES, config)
    assert _said(first) == _said(computed)
    assert _said(kept) == _said(computed)
    assert reads[0] > 100, "the values were looked up"
    assert turn.entered == 0, "every value the checks asked for was kept: none computed"


def _count_reads(monkeypatch) -> list[int]:
    reads = [0]
    get = answer_key.AnswerKey.get

    def counted(self, name):
        reads[0] += 1
        return get(self, name)

    monkeypatch.setattr(answer_key.AnswerKey, "get", counted)
    return reads


def test_a_value_not_kept_is_computed(cache, tmp_path, monkeypatch):
    submission = _wrong_submission(tmp_path / "submission")
    config = GradingConfig(sandbox=SANDBOX, training=False)
    computed = grade(str(submission), ["softmax_regression"], replace(config, reference_values=False))
    grade(str(submission), ["softmax_regression"], config)
    (kept,) = reference_runs._VALUES.values()
    dropped = sorted(kept.entries)[::2]
    for name in dropped:
        del kept.entries[name]
    turn = _CountingTurn(context.REFERENCE_TURN)
    monkeypatch.setattr(context, "REFERENCE_TURN", turn)
    again = grade(str(submission), ["softmax_regression"], config)
    assert _said(again) == _said(computed)
    assert turn.entered >= len(dropped) // 2, "the values no longer kept were computed"


def test_the_values_are_named_by_the_reference_and_the_settings(cache, tmp_path):
    module = curriculum.module("softmax_regression")
    config = GradingConfig(sandbox=SANDBOX).built()
    checks = [e.check for e in plan(module, module.stubs, config, config.rubric) if e.check]
    ref = reference.load(module.name, None)
    # The reference edited (one line more), as a module whose source is read from its file.
    edited = tmp_path / "softmax_regression.py"
    edited.write_text(Path(ref.__file__).read_text(encoding="utf-8") + "\nEXTRA = 1\n", encoding="utf-8")
    other_ref = types.ModuleType("edited_softmax_regression")
    other_ref.__file__ = str(edited)

    def folder(ref=ref, settings=("public", True), examples=25, mistakes="def mistake(): ..."):
        return reference_runs.values_folder(module.name, ref, checks, "cpu", examples, list(settings), mistakes)

    assert folder() == folder()
    assert folder(ref=other_ref) != folder()
    assert folder(mistakes="def mistake(): return 1") != folder()
    assert folder(settings=("sha256:0123456789ab", True)) != folder()
    assert folder(settings=("public", False)) != folder()
    assert folder(examples=10) != folder()
    assert folder().parent == cache
