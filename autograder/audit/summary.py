"""The audit's report: per stub (and per module) the mutants made, killed, survived,
equivalent-looking and crashed, the mutation score, and every survivor with its diff and
the score it got; as text, JSON or one self-contained HTML page (survivors first)."""

from __future__ import annotations

import difflib
import html
import json
from dataclasses import asdict, dataclass, field

from .mutants import Mutant
from .run import STATUSES, Outcome


@dataclass
class Tally:
    name: str
    made: int = 0
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    crashed: int = 0
    not_graded: int = 0  # left when the --time budget ran out

    def add(self, status: str) -> None:
        self.made += 1
        setattr(self, status, getattr(self, status) + 1)

    @property
    def score(self) -> float | None:
        """killed / (made - equivalent): None when nothing non-equivalent was graded."""
        judged = self.made - self.equivalent
        return self.killed / judged if judged > 0 else None

    def row(self) -> dict:
        return dict(asdict(self), score=None if self.score is None else round(self.score, 4))


@dataclass
class Audit:
    seed: int
    options: dict
    outcomes: list[Outcome]
    left: list[Mutant] = field(default_factory=list)
    mutants: dict[str, Mutant] = field(default_factory=dict)  # by ident, for the diffs

    def tallies(self, by: str = "stub") -> list[Tally]:
        out: dict[str, Tally] = {}
        for o in self.outcomes:
            name = o.stub_id if by == "stub" else o.module
            out.setdefault(name, Tally(name)).add(o.status)
        for m in self.left:
            name = m.stub_id if by == "stub" else m.module
            out.setdefault(name, Tally(name)).not_graded += 1
        return list(out.values())

    def total(self) -> Tally:
        t = Tally("all")
        for o in self.outcomes:
            t.add(o.status)
        t.not_graded = len(self.left)
        return t

    def diff(self, outcome: Outcome) -> str:
        mutant = self.mutants.get(outcome.ident)
        if mutant is None:
            return f"-{outcome.before}\n+{outcome.after}"
        return "\n".join(
            difflib.unified_diff(
                _reference_lines(mutant),
                mutant.text.splitlines(),
                f"solutions/{mutant.module}.py",
                f"mutant {mutant.ident}",
                n=1,
                lineterm="",
            )
        )

    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "survived"]

    def to_json(self) -> dict:
        return {
            "seed": self.seed,
            "options": self.options,
            "total": self.total().row(),
            "modules": [t.row() for t in self.tallies("module")],
            "stubs": [t.row() for t in self.tallies("stub")],
            "survivors": [dict(asdict(o), diff=self.diff(o)) for o in self.survivors()],
            "equivalent": [dict(asdict(o), diff=self.diff(o)) for o in self.outcomes if o.status == "equivalent"],
            "crashed": [asdict(o) for o in self.outcomes if o.status == "crashed"],
        }


_REFERENCES: dict[str, list[str]] = {}


def _reference_lines(mutant: Mutant) -> list[str]:
    from ..reference import DEFAULT_SOLUTIONS

    if mutant.module not in _REFERENCES:
        path = DEFAULT_SOLUTIONS / f"{mutant.module}.py"
        _REFERENCES[mutant.module] = path.read_text(encoding="utf-8").splitlines()
    return _REFERENCES[mutant.module]


def _pct(score: float | None) -> str:
    return "-" if score is None else f"{score:.1%}"


COLUMNS = ("made", "killed", "survived", "equivalent", "crashed", "not_graded")


def text(audit: Audit) -> str:
    lines = [f"divekit audit (seed {audit.seed}; {', '.join(f'{k} {v}' for k, v in audit.options.items())})", ""]
    width = max([len(t.name) for t in audit.tallies()] + [10])
    head = f"{'stub':<{width}}  " + "  ".join(f"{c.replace('_', ' '):>10}" for c in COLUMNS) + "       score"
    lines.append(head)
    for t in audit.tallies() + [audit.total()]:
        lines.append(
            f"{t.name:<{width}}  " + "  ".join(f"{getattr(t, c):>10}" for c in COLUMNS) + f"  {_pct(t.score):>10}"
        )
    lines += ["", "score = killed / (made - equivalent)", ""]
    for title, status in (("Survivors (weaknesses of the checks)", "survived"), ("Crashed (grader bugs)", "crashed")):
        chosen = [o for o in audit.outcomes if o.status == status]
        lines.append(f"{title}: {len(chosen)}")
        for o in chosen:
            lines.append(f"  {o.ident} scored {o.score:g}/{o.max_score:g}: line {o.line} ({o.operator})")
            lines.append(f"    why: {o.detail}")
            lines += ["    " + d for d in audit.diff(o).splitlines()]
        lines.append("")
    equivalent = [o for o in audit.outcomes if o.status == "equivalent"]
    lines.append(
        f"Equivalent-looking (agree with the reference on every answer of the differential run): {len(equivalent)}"
    )
    for o in equivalent:
        lines.append(f"  {o.ident}: line {o.line}: {o.before.strip()[:70]}  ->  {o.after.strip()[:70]}")
    return "\n".join(lines) + "\n"


def as_json(audit: Audit) -> str:
    return json.dumps(audit.to_json(), indent=2) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}.low{background:#fde2e2}.ok{background:#e4f6e4}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}.add{color:#067d17}.del{color:#b00020}
section{border-top:1px solid #ddd;margin-top:1em}
"""


def _diff_html(diff: str) -> str:
    out = []
    for line in diff.splitlines():
        cls = "add" if line.startswith("+") and not line.startswith("+++") else ""
        cls = cls or ("del" if line.startswith("-") and not line.startswith("---") else "")
        out.append(f'<span class="{cls}">{html.escape(line)}</span>' if cls else html.escape(line))
    return "<pre>" + "\n".join(out) + "</pre>"


def as_html(audit: Audit, goal: float = 0.9) -> str:
    e = html.escape
    survivors = audit.survivors()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>divekit audit</title>",
        f"<style>{_CSS}</style></head><body><h1>divekit audit: how strong is each stub's check suite?</h1>",
        f"<p>Seed {audit.seed}; {e(', '.join(f'{k} {v}' for k, v in audit.options.items()))}. "
        "Score = killed / (made &minus; equivalent); a stub under "
        f"{goal:.0%} is marked. Survivors to look at first are below the table.</p>",
        "<table><tr><th>stub</th>"
        + "".join(f"<th>{c.replace('_', ' ')}</th>" for c in COLUMNS)
        + "<th>score</th></tr>",
    ]
    for t in sorted(audit.tallies(), key=lambda t: (t.score if t.score is not None else 2, t.name)) + [audit.total()]:
        cls = "" if t.score is None else ("low" if t.score < goal else "ok")
        cells = "".join(f"<td>{getattr(t, c)}</td>" for c in COLUMNS)
        parts.append(f"<tr class='{cls}'><td>{e(t.name)}</td>{cells}<td>{_pct(t.score)}</td></tr>")
    parts.append("</table>")
    parts.append(f"<h2>Survivors ({len(survivors)})</h2>")
    for o in survivors:
        parts.append(
            f"<section><h3>{e(o.ident)}: scored {o.score:g}/{o.max_score:g}</h3>"
            f"<p>line {o.line}, {e(o.operator)}. Differential run: {e(o.detail)}</p>"
            f"{_diff_html(audit.diff(o))}</section>"
        )
    for title, status in (("Crashed: grader bugs", "crashed"), ("Equivalent-looking", "equivalent")):
        chosen = [o for o in audit.outcomes if o.status == status]
        parts.append(f"<h2>{title} ({len(chosen)})</h2>")
        for o in chosen:
            parts.append(f"<section><h3>{e(o.ident)}</h3><p>{e(o.detail)}</p>{_diff_html(audit.diff(o))}</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


FORMATS = {"text": text, "json": as_json, "html": as_html}
assert set(STATUSES) <= set(COLUMNS)
