"""What ``divekit grade-all`` shows while a class is graded.

On a terminal: one live bar (done/total, submissions per minute, time left, failures so
far). Anywhere else (CI logs, a pipe, tests): one plain line per submission, so a log
says what happened to each student and can be searched. Submissions skipped because
they were already graded count as done but not in the rate: they took no time, and
counting them would promise an ETA the rest of the class cannot keep.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from .batch import Row
from .points import show

FAILED = ("error", "unusable")  # a grade of 0 is not a failure: the grader did its job


def line(row: Row) -> str:
    """The plain line of one finished submission."""
    return f"{row.name}: {row.status} {show(row.score)}/{show(row.max_score)}" + (
        f" ({row.reason})" if row.reason else ""
    )


class Tally:
    """Done, failed and the grading rate so far (skipped submissions excluded from the rate)."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.clock = total, clock
        self.started = clock()
        self.done = self.graded_here = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()  # the local backend reports from its worker threads

    def add(self, row: Row) -> None:
        with self._lock:
            self.done += 1
            if row.seconds > 0:  # graded in this run (a skipped one comes back with 0 s)
                self.graded_here += 1
            if row.status in FAILED:
                self.failures.append(row.name)

    def per_minute(self) -> float:
        elapsed = self.clock() - self.started
        return 60.0 * self.graded_here / elapsed if elapsed > 0 and self.graded_here else 0.0

    def eta(self) -> str:
        rate = self.per_minute()
        if self.done >= self.total:
            return "0:00"
        if not rate:
            return "-:--"
        seconds = int(round(60.0 * (self.total - self.done) / rate))
        return f"{seconds // 60}:{seconds % 60:02d}"

    def fields(self) -> dict:
        shown = ", ".join(self.failures[-3:]) + (" ..." if len(self.failures) > 3 else "")
        return {
            "rate": f"{self.per_minute():.1f}/min",
            "eta": self.eta(),
            "failures": f"{len(self.failures)} failed" + (f" ({shown})" if shown else ""),
        }


@contextmanager
def class_progress(total: int, stream: TextIO | None = None) -> Iterator[Callable[[Row], None]]:
    """A ``progress`` callback for :func:`batch.grade_all`: a rich bar when ``stream``
    (default stderr) is a terminal, plain lines otherwise. Failures are also printed as
    lines above the bar, so they stay on screen once the bar is gone."""
    stream = sys.stderr if stream is None else stream
    tally = Tally(total)
    if not stream.isatty():

        def plain(row: Row) -> None:
            tally.add(row)
            print(line(row), file=stream, flush=True)

        yield plain
        return

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
    from rich.text import Text

    class TallyColumn(ProgressColumn):
        """Rate, ETA and failures read at each refresh, so the ETA counts down between rows."""

        def render(self, task) -> Text:
            f = tally.fields()
            return Text(f"{f['rate']}  ETA {f['eta']}  {f['failures']}", no_wrap=True, overflow="ellipsis")

    console = Console(file=stream)
    bar = Progress(TextColumn("grading"), BarColumn(bar_width=24), MofNCompleteColumn(), TallyColumn(), console=console)
    task = bar.add_task("grading", total=total)

    def live(row: Row) -> None:
        tally.add(row)
        if row.status in FAILED:
            bar.console.print(line(row), markup=False, highlight=False)
        bar.update(task, completed=tally.done)

    with bar:
        yield live


__all__ = ["Tally", "class_progress", "line"]
