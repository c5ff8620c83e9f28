"""Grading results: Gradescope's results.json, and a readable text report."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from . import i18n


@dataclass
class TestResult:
    name: str
    stub: str  # "<module>.<name>"
    score: float
    max_score: float
    status: str  # "passed" or "failed"
    output: str = ""
    kind: str = "unit"
    seed: int | None = None
    seconds: float = 0.0
    visibility: str = "visible"

    @property
    def title(self) -> str:
        """The check's title (the name less its stub), in the language in force."""
        return i18n.title(self.name.split(": ", 1)[-1])

    def to_gradescope(self) -> dict:
        return {
            "name": self.name,
            "score": round(self.score, 6),
            "max_score": round(self.max_score, 6),
            "status": self.status,
            "output": self.output,
            "visibility": self.visibility,
            "extra_data": {"stub": self.stub, "kind": self.kind, "seed": self.seed},
        }


@dataclass
class Attachment:
    """A picture for the feedback. Checks hand over a renderer, drawn on first use: the
    text and Classroom reports show no pictures, and drawing them all (matplotlib's import
    and about 0.1-0.3 s a figure) was about 3 s of one submission's grading."""

    name: str
    data: bytes | Callable[[], bytes] | None  # the PNG, or its renderer until asked
    stub: str
    problem: str = ""  # why it could not be drawn (a picture is a courtesy, never a verdict)

    def png(self) -> bytes | None:
        if callable(self.data):
            render, self.data = self.data, None
            try:
                self.data = render()
            except Exception as exc:  # noqa: BLE001 - pictures are a courtesy, never a verdict
                self.problem = f"a picture ({self.name}) could not be drawn: {type(exc).__name__}: {exc}"
        return self.data

    @staticmethod
    def drawn(attachments: list[Attachment]) -> tuple[list[Attachment], list[str]]:
        """The pictures that could be drawn, and a note for each that could not."""
        pngs = [a for a in attachments if a.png() is not None]
        return pngs, [a.problem for a in attachments if a.problem]


@dataclass
class Report:
    submission: str
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def by_stub(self) -> dict[str, tuple[float, float]]:
        out: dict[str, list[float]] = {}
        for t in self.tests:
            acc = out.setdefault(t.stub, [0.0, 0.0])
            acc[0] += t.score
            acc[1] += t.max_score
        return {k: (v[0], v[1]) for k, v in out.items()}

    def shown(self) -> dict:
        """Every score as text shows it (see points.py): ``"total"``, each stub's and each
        test's (by index) ``(score, max_score)``, rounded to the cent so that the tests add up
        to their stub and the stubs to the total, exactly as printed."""
        from .points import apportion

        groups = self.grouped()
        index = {id(t): i for i, t in enumerate(self.tests)}
        out: dict = {"total": (round(self.score, 2), round(self.max_score, 2)), "stubs": {}, "tests": {}}
        stub_scores = apportion([sum(t.score for t in g) for _, g in groups], self.score)
        stub_maxes = apportion([sum(t.max_score for t in g) for _, g in groups], self.max_score)
        for (stub, tests), got, most in zip(groups, stub_scores, stub_maxes):
            out["stubs"][stub] = (got, most)
            scores = apportion([t.score for t in tests], got)
            maxes = apportion([t.max_score for t in tests], most)
            for t, a, b in zip(tests, scores, maxes):
                out["tests"][index[id(t)]] = (a, b)
        return out

    def grouped(self) -> list[tuple[str, list[TestResult]]]:
        """Tests by stub, stubs in the order they were first graded (training runs last,
        but read best next to the stub they belong to)."""
        groups: dict[str, list[TestResult]] = {}
        for t in self.tests:
            groups.setdefault(t.stub, []).append(t)
        return list(groups.items())

    def to_gradescope(self, *, include_attachments: bool = False) -> dict:
        pictures, problems = Attachment.drawn(self.attachments) if include_attachments else ([], [])
        data = {
            "score": round(self.score, 6),
            "max_score": round(self.max_score, 6),
            "output": "\n".join(self.notes + problems),
            "stdout_visibility": "hidden",
            "tests": [t.to_gradescope() for t in self.tests],
            "extra_data": dict(self.meta),
        }
        if pictures:
            data["extra_data"]["attachments"] = [
                {"name": a.name, "stub": a.stub, "base64": base64.b64encode(a.png()).decode()} for a in pictures
            ]
        return data

    def to_classroom(self) -> dict:
        """GitHub Classroom's autograding reporter payload for one runner (its
        ``<RUNNER>_RESULTS``, base64-encoded by :meth:`classroom_payload`): the dashboard adds
        up the tests' ``score``, so partial credit shows per test."""
        return {
            "version": 1,
            "status": "pass" if all(t.status == "passed" for t in self.tests) else "fail",
            "max_score": round(self.max_score, 6),
            "tests": [
                {
                    "name": t.name,
                    "status": "pass" if t.status == "passed" else "fail",
                    "score": round(t.score, 6),
                    "message": t.output,
                    "test_code": t.stub,
                    "filename": f"exercises/{t.stub.split('.')[0]}.py",
                    "line_no": 0,
                    "execution_time": f"{t.seconds:.2f}s",
                }
                for t in self.tests
            ],
        }

    def classroom_payload(self) -> str:
        import json

        return base64.b64encode(json.dumps(self.to_classroom()).encode()).decode()

    def rows(self, hints: dict[str, str] | None = None) -> list[tuple[str, tuple, list[tuple]]]:
        """What every rendering of the report prints, in :meth:`grouped` order: per stub its
        shown points and its tests as ``(test, shown points, hint)``. A stub's hint sits
        under its first failed test, unless that test says the stub is not implemented yet
        (one who has not started needs the task text first, not a hint)."""
        shown = self.shown()
        position = {id(t): i for i, t in enumerate(self.tests)}
        out = []
        for stub, tests in self.grouped():
            first = next((t for t in tests if t.status != "passed"), None)
            started = first is not None and not any(
                p in first.output for p in i18n.in_every_language("grading.not_started")
            )
            hint = (hints or {}).get(stub) if started else None
            out.append(
                (
                    stub,
                    shown["stubs"][stub],
                    [(t, shown["tests"][position[id(t)]], hint if t is first else None) for t in tests],
                )
            )
        return out

    def to_text(self, *, hints: dict[str, str] | None = None, verbose: bool = False) -> str:
        from .points import show

        lines = [i18n.t("report.header", submission=self.submission)]
        lines += [i18n.t("report.note", note=n) for n in self.notes]
        for stub, (got, total), tests in self.rows(hints):
            lines.append(f"\n{stub}  {show(got)}/{show(total)}")
            for t, points, hint in tests:
                lines += self._test_lines(t, hint, verbose, points)
        got, total = self.shown()["total"]
        lines.append("\n" + i18n.t("report.total", got=show(got), total=show(total)))
        return "\n".join(lines)

    def _test_lines(self, t: TestResult, hint: str | None, verbose: bool, points: tuple[float, float]) -> list[str]:
        from .points import show

        mark = i18n.t("report.passed" if t.status == "passed" else "report.failed")
        lines = [f"  [{mark}] {t.title}  ({show(points[0])}/{show(points[1])})"]
        if t.status != "passed" or verbose:
            lines += [f"         {ln}" for ln in t.output.splitlines()]
        if hint:
            lines += ["         " + i18n.t("report.hint", hint=line) for line in hint.splitlines()]
        return lines

    def as_dict(self) -> dict:
        return asdict(self)
