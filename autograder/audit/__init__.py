"""``divekit audit``: mutation testing of the check suites.

An autograder is worth the mistakes it catches. The audit makes mutants of the reference
solutions (one small change inside one solution block: :mod:`.mutants`), grades each
with the real grader on its own stub (:mod:`.run`), checks every survivor against the
reference on other inputs (:mod:`.differential`) and reports, per stub, how many
mutants the checks kill (:mod:`.summary`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import curriculum
from ..config import GradingConfig
from .mutants import Mutant, of_module, sample
from .run import Outcome, Store, run
from .summary import FORMATS, Audit

DEFAULT_RESULTS = Path("out") / "audit" / "results.jsonl"


def select(names: list[str] | None, solutions: Path, seed: int, max_mutants: int | None) -> list[Mutant]:
    """The mutants of the chosen modules or stubs (all: every module), sampled by ``seed``.

    Raises ``KeyError`` for a name that matches no module, stub or task."""
    chosen = curriculum.select(list(names) if names else None)
    mutants: list[Mutant] = []
    for module, stubs in chosen.items():
        ids = {s.id for s in stubs}
        mutants += [m for m in of_module(module, solutions) if m.stub_id in ids]
    return sample(mutants, seed, max_mutants)


def audit(
    names: list[str] | None,
    config: GradingConfig,
    *,
    seed: int = 0,
    max_mutants: int | None = 10,
    seconds: float | None = None,
    jobs: int = 1,
    results: Path = DEFAULT_RESULTS,
    progress: Callable[[Outcome], None] | None = None,
    redo: frozenset[str] = frozenset(),
) -> Audit:
    from ..reference import DEFAULT_SOLUTIONS

    config = config.built()
    solutions = Path(config.solutions) if config.solutions else DEFAULT_SOLUTIONS
    mutants = select(names, solutions, seed, max_mutants)
    outcomes, left = run(
        mutants, config, Store(Path(results)), jobs=jobs, seconds=seconds, progress=progress, redo=redo
    )
    options = {
        "max mutants per stub": max_mutants if max_mutants is not None else "all",
        "training": config.training,
        "examples": config.examples,
        "sandbox": config.mode,
    }
    return Audit(seed, options, outcomes, left, {m.ident: m for m in mutants})


__all__ = ["FORMATS", "Audit", "Mutant", "Outcome", "audit", "select"]
