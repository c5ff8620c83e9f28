"""Faults of the grader itself, told apart from a student's mistakes: they score no one."""

from __future__ import annotations

import traceback
from pathlib import Path

__all__ = ["GraderFault", "where"]


class GraderFault(Exception):
    """Grading cannot go on for a reason that is no student's doing: a dataset that is
    there but unusable, a reference missing, a check that raises on the reference solution
    too. No score is given for it, not even a 0: grading stops, and the command line says
    why in one line (exit 2)."""

    def __init__(self, reason: str):
        super().__init__(" ".join(reason.split()))


REPO = Path(__file__).resolve().parents[1]


def where(exc: BaseException) -> str:
    """``TypeError: ... (at course/mlp/checks.py:12)``: what an instructor needs to find the
    fault, the innermost line of divekit's own code (a check, a probe, a reference), not torch's."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(REPO)] or frames
    if not ours:
        return f"{type(exc).__name__}: {exc}"
    path = Path(ours[-1].filename).resolve()
    shown = path.relative_to(REPO / "autograder") if path.is_relative_to(REPO / "autograder") else path.name
    return f"{type(exc).__name__}: {exc} (at {shown}:{ours[-1].lineno})"
