"""``divekit watch``: rustlings' loop for the exercises.

It finds the first stub, in curriculum order, that does not pass, checks it each time its
module file is saved (its unit checks first, in seconds; its training thresholds after,
once the unit checks pass), says what passed, what failed and what to do next, and moves
on to the next stub when it passes, showing the progress through the course. Ctrl-C leaves
it (exit 0). Grading is :func:`autograder.grading.grade` on the one stub, exactly as
``divekit check STUB`` grades it; one fork server serves the whole session, so that torch
is imported once, not at every save.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from . import curriculum, framework, hints, intake, static, task_texts
from .config import GradingConfig
from .curriculum import Stub
from .grading import grade
from .points import show
from .report import Report
from .sandbox.zygote import fork_server

DEBOUNCE_MS = 300  # an editor's save is often several writes: one check for them all


@dataclass
class Course:
    """Where the student stands: the stubs in order, and those seen passing this session."""

    stubs: list[Stub]
    points: dict[str, float]
    passed: set[str] = field(default_factory=set)

    def line(self) -> str:
        got = sum(self.points[s] for s in self.passed)
        total = sum(self.points.values())
        return f"progress: {len(self.passed)}/{len(self.stubs)} stubs pass, {show(got)}/{show(total)} points"


def has_training(stub: Stub) -> bool:
    return any(c.stub == stub.name and c.kind == "training" for c in framework.load(stub.module))


def unstarted(exercises: Path, stub: Stub) -> bool:
    """Whether ``stub`` is plainly not written yet (missing, or still the shipped stub): no
    need to grade it to know it does not pass."""
    path = exercises / f"{stub.module}.py"
    try:
        tree = static.parse(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError):
        return True
    if isinstance(tree, static.SyntaxProblem):
        return False  # graded, so that the student sees the syntax error named
    return not static.defines(tree, stub.name) or static.raises_not_implemented(tree, stub.name)


class Watch:
    def __init__(
        self,
        exercises: Path,
        stubs: list[Stub],
        config: GradingConfig,
        lang: str = "en",
        console: Console | None = None,
    ):
        self.exercises = exercises
        self.config = config.built()
        self.units = dataclasses.replace(self.config, training=False)
        self.lang = lang
        self.console = console or Console(highlight=False)
        rubric = self.config.rubric
        assert rubric is not None
        self.course = Course(stubs, {s.id: rubric.stub_points(s.id) for s in stubs})
        self.noted: set[str] = set()

    # -- grading ------------------------------------------------------------------------
    def _grade(self, stubs: list[Stub], config: GradingConfig, what: str) -> Report:
        with self.console.status(f"{what} ...", spinner="dots") as status:

            def progress(_label: str, done: int, total: int) -> None:
                status.update(f"{what} ({done}/{total} done)")

            return grade(str(self.exercises), [s.id for s in stubs], config, progress=progress)

    @staticmethod
    def _passes(report: Report, stub: Stub) -> bool:
        got, most = report.by_stub().get(stub.id, (0.0, 1.0))
        return most > 0 and got >= most - 1e-9

    def first_failing(self) -> int:
        """The index of the first stub that does not pass: every written stub before the first
        unwritten one is graded (unit checks, one run); those that pass count as done."""
        stubs = self.course.stubs
        todo = next((i for i, s in enumerate(stubs) if unstarted(self.exercises, s)), len(stubs))
        if todo:
            report = self._grade(stubs[:todo], self.units, f"checking the {todo} stub(s) you have written")
            for i, s in enumerate(stubs[:todo]):
                if not self._passes(report, s):
                    return i
                self.course.passed.add(s.id)
        return todo

    def check(self, stub: Stub) -> bool:
        """Grade ``stub`` (unit checks, then its training thresholds) and show the outcome."""
        report = self._grade([stub], self.units, f"unit checks of {stub.id}")
        self._show(report, stub, kinds=None)
        if not self._passes(report, stub):
            return False
        if self.config.training and has_training(stub):
            trained = self._grade([stub], self.config, f"training thresholds of {stub.id}")
            self._show(trained, stub, kinds=("training",))
            for note in trained.notes:
                if "CPU budget" in note:
                    self.console.print(f"  [yellow]note:[/yellow] {escape(note)}")
            return self._passes(trained, stub)
        return True

    # -- showing ------------------------------------------------------------------------
    def _show(self, report: Report, stub: Stub, kinds: tuple[str, ...] | None) -> None:
        shown = hints.for_report(self.lang, self.exercises)
        for note in report.notes:
            # Each note once a session (the isolation in force, a data fallback), not at every save.
            if note not in self.noted and "CPU budget" not in note:
                self.noted.add(note)
                self.console.print(f"  [dim]note: {escape(note)}[/dim]")
        for _, _, tests in report.rows(shown):
            for t, points, hint in tests:
                if kinds and t.kind not in kinds:
                    continue
                ok = t.status == "passed"
                mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
                name = t.name.split(": ", 1)[-1]
                self.console.print(f"  {mark} {escape(name)}  ({show(points[0])}/{show(points[1])})")
                if not ok and t.output:
                    self.console.print("    " + t.output.replace("\n", "\n    "), markup=False)
                for line in hint.splitlines() if hint else ():
                    self.console.print(f"    [cyan]hint:[/cyan] {escape(line)}")

    def _header(self, index: int, stub: Stub) -> None:
        module = curriculum.module(stub.module)
        self.console.rule(f"[bold]{stub.id}[/bold]  ({index + 1}/{len(self.course.stubs)})")
        self.console.print(
            f"{escape(module.title)}, book section {escape(module.book)}; in {self.exercises / module.filename}"
        )
        task = task_texts.summary(stub.id, self.exercises, self.lang)  # what to write, in the language chosen
        if task:
            self.console.print(escape(task))
        self.console.print(f"[dim]{self.course.line()}[/dim]")

    # -- the loop -----------------------------------------------------------------------
    def _wait_for_save(self, path: Path, graded: bytes | None) -> None:
        """Return when ``path`` holds other bytes than those graded (saved since, or now)."""
        import watchfiles

        def current() -> bytes | None:
            try:
                return path.read_bytes()
            except OSError:
                return None

        if current() != graded:  # saved while it was being graded
            return
        # The watcher starts after that look, so a save in between raises no event: it also
        # wakes every second (an empty set of changes) to compare the bytes again.
        for _ in watchfiles.watch(
            path.parent,
            watch_filter=lambda _change, changed: Path(changed).name == path.name,
            debounce=DEBOUNCE_MS,
            raise_interrupt=True,
            rust_timeout=1000,
            yield_on_timeout=True,
        ):
            if current() != graded:
                return

    def run(self) -> int:
        try:
            with fork_server(self.config.limits, self.config.mode, self.config.device):
                self._loop()
        except KeyboardInterrupt:
            self.console.print(f"\nleaving divekit watch; {self.course.line()}")
        return 0

    def _loop(self) -> None:
        stubs = self.course.stubs
        self.console.print(f"divekit watch: {len(stubs)} stub(s) in curriculum order; Ctrl-C leaves.")
        if not self.config.device.startswith("cuda") and self.config.training:
            self.console.print(
                "[dim]No GPU here: every check runs, and training thresholds that depend on the device run at "
                "their CPU budget (each one is named when it does).[/dim]"
            )
        index = self.first_failing()
        while index < len(stubs):
            stub = stubs[index]
            self._header(index, stub)
            path = self.exercises / f"{stub.module}.py"
            while True:
                try:
                    graded = path.read_bytes()
                except OSError:
                    graded = None
                started = time.monotonic()
                ok = self.check(stub)
                took = time.monotonic() - started
                if ok:
                    self.course.passed.add(stub.id)
                    following = stubs[index + 1].id if index + 1 < len(stubs) else None
                    self.console.print(
                        f"[green bold]{stub.id} passes[/green bold] ({took:.0f} s)"
                        + (f"; next: {following}" if following else "")
                    )
                    break
                self.console.print(
                    f"[bold]next:[/bold] fix {stub.name} in {path} and save (checked again on save); "
                    f"`divekit hint {stub.id}` for a hint. [dim]({took:.0f} s; Ctrl-C leaves)[/dim]"
                )
                self._wait_for_save(path, graded)
                self.console.print(f"\n[dim]{path.name} saved: checking {stub.id} again[/dim]")
            index += 1
        self.console.print(f"\n[green bold]Every stub passes.[/green bold] {self.course.line()}")


def stubs_for(only: list[str] | None) -> list[Stub]:
    """The stubs to work through, in curriculum order (``only``: modules, stub ids or tasks)."""
    return [s for stubs in curriculum.select(only).values() for s in stubs]


def check_exercises(path: str | Path) -> Path:
    """The exercises folder; raises intake.UnusableSubmission for anything else."""
    folder = Path(path)
    if not folder.is_dir():
        raise intake.UnusableSubmission(f"{folder} is not a folder of exercises (divekit watch needs one to watch)")
    return folder.resolve()
