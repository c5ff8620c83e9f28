"""grade-all's progress: a live bar on a terminal, one plain line per submission elsewhere."""

from __future__ import annotations

import io
import os
import pty
import re
import sys
from pathlib import Path

import pytest

from autograder.batch import Row
from autograder.class_progress import Tally, class_progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as a real tty does (rich then draws a bar)."""

    def isatty(self) -> bool:
        return True


def _rows() -> list[Row]:
    return [
        Row("ada", "graded", 9.0, 9.0, 0.0, "already graded (same files, same grading)", "ada"),
        Row("bo", "graded", 4.5, 9.0, 12.0, "", "bo"),
        Row("cy", "error", 0.0, 0.0, 30.0, "the grader was killed by SIGKILL", "cy"),
    ]


def test_off_a_terminal_it_prints_one_plain_line_per_submission():
    stream = io.StringIO()
    with class_progress(3, stream) as tell:
        for row in _rows():
            tell(row)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "ada: graded 9/9 (already graded (same files, same grading))",
        "bo: graded 4.5/9",
        "cy: error 0/0 (the grader was killed by SIGKILL)",
    ], f"expected one plain line per submission (no bar, no escape codes) in a log, got {lines!r}"


def test_on_a_terminal_it_draws_a_bar_with_done_total_and_failures():
    stream = Terminal()
    with class_progress(3, stream) as tell:
        for row in _rows():
            tell(row)
    text = ANSI.sub("", stream.getvalue())
    assert "━" in text and "3/3" in text, f"expected a bar reading 3/3 at the end, got {text[-300:]!r}"
    assert "1 failed (cy)" in text, f"expected the failures so far named on the bar, got {text[-300:]!r}"
    # The failure is also printed as a line of its own, so it stays once the bar is gone.
    assert "cy: error 0/0 (the grader was killed by SIGKILL)" in text
    assert "bo: graded" not in text, "a terminal should get the bar, not a line per graded submission"


def test_the_rate_and_eta_count_only_what_this_run_graded():
    now = [100.0]
    tally = Tally(5, clock=lambda: now[0])
    ada, bo, _ = _rows()
    tally.add(ada)  # skipped: already graded, took no time
    assert tally.per_minute() == 0.0 and tally.eta() == "-:--"
    now[0] += 30.0
    tally.add(bo)  # graded in 30 s: 2 a minute, 3 left -> 1:30
    fields = tally.fields()
    assert fields["rate"] == "2.0/min", f"a skipped submission must not count in the rate, got {fields['rate']}"
    assert fields["eta"] == "1:30" and fields["failures"] == "0 failed"


@pytest.mark.slow
def test_grade_all_under_a_real_pseudo_terminal_shows_the_bar(tmp_path):
    """The real command under a real pty (the CLI must pick the bar itself)."""
    (tmp_path / "class" / "empty").mkdir(parents=True)  # graded: 0 points, not a failure
    (tmp_path / "class" / "broken.zip").write_bytes(b"not a zip at all")  # unusable: a failure
    repo = Path(__file__).resolve().parents[1]
    argv = [sys.executable, "-m", "autograder.cli", "grade-all", str(tmp_path / "class")]
    argv += ["--out-dir", str(tmp_path / "out"), "--only", "linear_regression", "--no-training"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, its stdin/stdout/stderr the pty
        os.chdir(repo)
        os.execv(sys.executable, argv)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the pty
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    text = ANSI.sub("", out.decode("utf-8", "replace"))
    assert os.waitstatus_to_exitcode(status) == 0, text[-1000:]
    assert "━" in text and "2/2" in text and "1 failed (broken)" in text, f"expected the bar, got {text[-600:]!r}"
    assert "broken: unusable" in text and "empty: graded" not in text, text[-600:]
