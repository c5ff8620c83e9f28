"""Each stub's points and feedback from one divekit report (Gradescope's results.json).

Both autograde routes go through here, so that a test cell run by nbgrader in the kernel
and the trusted route writing the gradebook give a stub the same points and the same text.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import i18n
from ..points import show

DIGITS = 6  # the precision of results.json's scores, and so of every cell's points


def stub_scores(results: Mapping) -> dict[str, tuple[float, float]]:
    """(points earned, points possible) per stub id (``"<module>.<stub>"``), summed over its tests."""
    out: dict[str, list[float]] = {}
    for test in results.get("tests", []):
        acc = out.setdefault(test.get("extra_data", {}).get("stub", ""), [0.0, 0.0])
        acc[0] += float(test.get("score", 0.0))
        acc[1] += float(test.get("max_score", 0.0))
    return {k: (v[0], v[1]) for k, v in out.items()}


def cell_points(results: Mapping, stub: str, points: float) -> float:
    """What the test cell of ``stub`` (worth ``points``) earns: its share of the stub's
    points, so that a stub whose every check passed earns exactly ``points`` (its tests'
    scores, each rounded to 6 digits in results.json, may add up to 1.999999 of 2). Never
    below 0 nor above ``points``: nbgrader refuses a partial grade above the cell's points,
    and reads a negative one as full marks."""
    got, most = stub_scores(results).get(stub, (0.0, 0.0))
    share = got / most if most > 0 else 0.0
    return round(min(max(share, 0.0), 1.0) * float(points), DIGITS)


def feedback(results: Mapping, stub: str, hint: str = "") -> str:
    """The lines a student reads under the test cell: each check, passed or failed with
    what was expected and what came back, and the stub's hint under a failure (not for a
    stub left unstarted: that one needs the task text first)."""
    tests = [t for t in results.get("tests", []) if t.get("extra_data", {}).get("stub") == stub]
    got = sum(float(t.get("score", 0.0)) for t in tests)
    most = sum(float(t.get("max_score", 0.0)) for t in tests)
    if not tests:
        return f"{stub}: not graded (no checks ran for it; see the notes of the report)"
    lines = [f"{stub}: {show(got)}/{show(most)}"]
    failed = None
    for t in tests:
        ok = t.get("status") == "passed"
        name = str(t.get("name", "")).split(": ", 1)[-1]
        lines.append(f"  [{'PASS' if ok else 'FAIL'}] {name}  ({show(t['score'])}/{show(t['max_score'])})")
        if not ok:
            failed = failed or t
            lines += [f"         {ln}" for ln in str(t.get("output", "")).splitlines()]
    # Not started is recognised in every language: a report graded with --lang zh says so in Chinese.
    unstarted = failed is not None and any(
        said in str(failed.get("output", "")) for said in i18n.in_every_language("grading.not_started")
    )
    if failed is not None and hint and not unstarted:
        lines.append(f"  hint: {hint}")
    return "\n".join(lines)
