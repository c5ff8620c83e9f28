"""Every hostile submission, in both modes: the stub gets no credit it did not earn, the
grader finishes, the other stubs are unaffected, no process is left behind, and the
feedback says what happened."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import cli

from .cases import CASES, Hostile
from .support import (
    FAST_LIMITS,
    MODES,
    OTHER,
    REFERENCE,
    REPO,
    TARGET,
    feedback,
    grade_text,
    leftovers,
    marker,
    protections,
    stub_fraction,
    submission,
    with_stub,
)

GAPS = {
    "files": "plain processes without Landlock can read every file the judge's user can read",
    "network": "plain processes without Landlock (ABI 4+) can open network connections",
    "signals": "plain processes of the judge's own uid, without Landlock signal scoping (ABI 6+), can signal the judge",
    "children": "without a uid of its own, a daemon with an empty environment started just "
    "before its worker dies can outlive the worker",
}


def source_of(case: Hostile, mark: str, port: int, out: Path) -> str:
    code = (
        case.code.replace("MARKER", mark)
        .replace("REPO_PATH", str(REPO))
        .replace("PORT", str(port))
        .replace("OUT_PATH", str(out))
    )
    if case.where == "import":
        return code + "\n" + REFERENCE
    if case.where == "module":
        return code
    return with_stub(code)


def wait_gone(mark: str, seconds: float = 3.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := leftovers(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_submission(tmp_path, mode, case):
    if case.needs and case.needs not in protections(mode):
        pytest.skip(f"documented gap in {mode} mode on this host: {GAPS[case.needs]}")
    mark = marker()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    out = tmp_path / "out" / "results.json"
    text = source_of(case, mark, listener.getsockname()[1], out)
    limits = replace(FAST_LIMITS, **case.limits)
    start = time.monotonic()
    try:
        report = grade_text(tmp_path, text, mode, limits=limits)
    finally:
        left = wait_gone(mark)
    elapsed = time.monotonic() - start

    said = feedback(report)
    assert elapsed < 150, f"grading took {elapsed:.0f} s"
    assert left == [], f"processes left behind: {left}"
    if case.earns:
        assert stub_fraction(report, TARGET) == pytest.approx(1), said
    else:
        assert stub_fraction(report, TARGET) == 0, said
    assert case.says.lower() in said.lower(), said
    if case.others_ok:
        assert stub_fraction(report, OTHER) == pytest.approx(1), feedback(report, OTHER)
    if case.name == "network":
        with pytest.raises(BlockingIOError):
            listener.accept()
        assert "connected" not in said
    listener.close()
    if case.name == "delete-own-files":
        assert (tmp_path / "sub" / "linear_regression.py").read_text() == text


@pytest.mark.parametrize("mode", MODES)
def test_forged_results_are_never_read(tmp_path, mode):
    """The CLI writes its own results.json after grading; whatever the worker wrote or
    printed is not a result."""
    case = next(c for c in CASES if c.name == "forged-results")
    out = tmp_path / "out" / "results.json"
    folder = submission(tmp_path, source_of(case, marker(), 1, out))
    created_autograder = not Path("/autograder").exists()
    try:
        result = CliRunner().invoke(
            cli.main,
            [
                "grade",
                str(folder),
                "--only",
                TARGET,
                "--only",
                OTHER,
                "--sandbox",
                mode,
                "--no-training",
                "--examples",
                "3",
                "--timeout",
                "5",
                "--format",
                "json",
                "--out",
                str(out),
            ],
            catch_exceptions=False,
        )
    finally:
        for leftover in (Path("/tmp/results.json"),):
            if leftover.exists() and "forged" in leftover.read_text(errors="replace"):
                leftover.unlink()
        if created_autograder and Path("/autograder").exists():
            import shutil

            shutil.rmtree("/autograder", ignore_errors=True)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    scores = {t["extra_data"]["stub"]: 0.0 for t in data["tests"]}
    for t in data["tests"]:
        scores[t["extra_data"]["stub"]] += t["score"]
    assert scores[TARGET] == 0
    assert data["score"] == pytest.approx(scores[OTHER]) and scores[OTHER] > 0
    assert "forged" not in data["output"]
    assert not (folder / "results.json").exists()


@pytest.mark.parametrize("mode", MODES)
def test_a_clean_submission_alongside_is_unaffected(tmp_path, mode):
    """The reference solution graded right after hostile ones in the same process."""
    report = grade_text(tmp_path, REFERENCE, mode, limits=FAST_LIMITS)
    assert report.score == pytest.approx(report.max_score)
