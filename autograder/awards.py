"""Which points a stub's results earn: the plan of its tests with their points, and the
rule that only a right output earns anything.

A property that a constant, an identity or an untouched input also has (a check registered
with ``needs_correctness=True``), the signature and the from-scratch share all count only
once at least one correctness check of the stub passed: a trivial answer scores 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from . import framework as check_registry
from .config import GradingConfig
from .curriculum import Module, Rubric, Stub
from .report import TestResult

API_TITLE = "defined with the contract's signature"
SCRATCH_TITLE = "written from scratch"


@dataclass
class Entry:
    """One graded test: a check of the registry, or one of the two automatic ones."""

    stub: Stub
    title: str
    kind: str  # "api", "unit", "training", "scratch"
    weight: float
    check: check_registry.Check | None = None
    max_score: float = 0.0


def plan(module: Module, stubs: list[Stub], options: GradingConfig, rubric: Rubric) -> list[Entry]:
    """Every test this module will report, with its points, in the order they run."""
    registered = check_registry.load(module.name)
    entries: list[Entry] = []
    training: list[Entry] = []
    for stub in stubs:
        mine = [c for c in registered if c.stub == stub.name]
        stub_entries = []
        for c in mine:
            if c.kind == "training" and not options.training:
                continue
            e = Entry(stub, c.title, c.kind, c.weight, c)
            (training if c.kind == "training" else stub_entries).append(e)
        # The signature check runs after the behaviour checks: it earns credit only for a
        # stub that does something, so a shipped stub scores 0.
        if stub.kind != "value":
            stub_entries.append(Entry(stub, API_TITLE, "api", 0.5))
        points = rubric.stub_points(stub.id)
        all_mine = stub_entries + [e for e in training if e.stub == stub]
        share = rubric.from_scratch_share if stub.forbidden else 0.0
        total_weight = sum(e.weight for e in all_mine) or 1.0
        for e in all_mine:
            e.max_score = points * (1 - share) * e.weight / total_weight
        if stub.forbidden:
            stub_entries.append(Entry(stub, SCRATCH_TITLE, "scratch", 0.0, max_score=points * share))
        entries += stub_entries
    return entries + training


def _name(entry: Entry) -> str:
    return f"{entry.stub.id}: {entry.title}"


def correct(stub: Stub, entries: list[Entry], results: list[TestResult]) -> bool:
    """Whether some output of ``stub`` was right: a check that is not a mere property passed."""
    properties = {_name(e) for e in entries if e.check and e.check.needs_correctness}
    return any(
        r.stub == stub.id and r.kind in ("unit", "training") and r.status == "passed" and r.name not in properties
        for r in results
    )


def withhold_properties(entries: list[Entry], results: list[TestResult]) -> list[TestResult]:
    """``results`` with what a property check earned taken back for each stub none of whose
    outputs is right: a constant or an untouched input has the property too."""
    withheld = {
        _name(e): e.stub
        for e in entries
        if e.check and e.check.needs_correctness and not correct(e.stub, entries, results)
    }
    return [
        dataclasses.replace(
            r,
            score=0.0,
            status="failed",
            output=f"Not awarded: this property holds, but it counts only once an output of "
            f"{withheld[r.name].name} is right: see its failing checks. (A constant or an unchanged "
            "input has it too.)",
        )
        if r.name in withheld and r.status == "passed"
        else r
        for r in results
    ]
