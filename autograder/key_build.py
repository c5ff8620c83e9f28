"""``divekit key build``: grade the reference solutions once, recording every value the checks
take from them, into an answer key a student pack grades with (framework/answer_key.py).

Besides the values, the key holds what the grader would otherwise read from the
solutions: each check's calibrated call times (measured on this very run), which piece of
a module calls which (for the pack's "fix this piece first" notes), and which checks the
reference passed. Every check must pass on the reference: a key built from a failing
reference would teach students the wrong answer, so that is an error, not a key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import curriculum, intake, reference
from .config import GradingConfig
from .faults import GraderFault
from .framework import stand_ins
from .framework.answer_key import AnswerKey
from .grading import ModuleGrader, _check_key
from .sandbox.zygote import fork_server


def build(
    config: GradingConfig | None = None,
    only: list[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> AnswerKey:
    """The answer key of the curriculum (or of ``only``'s modules), under the public seed."""
    options = (config or GradingConfig()).built()
    if options.seed:
        raise ValueError("an answer key is built with the public seed; unset --seed/DIVEKIT_SEED")
    if options.from_key:
        raise ValueError("an answer key is built from the solutions, not from another key")
    assert options.rubric is not None
    key = AnswerKey()
    key.meta = {"call_times": {}, "solutions": {}, "passed": {}, "training": options.training}
    with fork_server(options.limits, options.mode, options.device):
        for name, stubs in curriculum.select(only).items():
            module = curriculum.module(name)
            ref = reference.load(name, options.solutions)
            path = Path(ref.__file__)
            source = intake.Source(name, module.filename, path.read_text(encoding="utf-8"), "file")
            grader = ModuleGrader(
                module,
                stubs,
                source,
                options,
                options.rubric,
                progress,
                calibrate=False,
                key=key,
                key_mode="record",
            )
            grader.on_reference = True  # a check that raises here is the grader's fault
            results = grader.grade()
            failed = [r for r in results if r.status != "passed"]
            if failed:
                first = failed[0]
                raise GraderFault(
                    f"the reference solution {path} fails {len(failed)} check(s), first "
                    f"{first.name}: {first.output.splitlines()[0] if first.output else ''}; "
                    "no key is built from a reference that fails its own checks"
                )
            solution = stand_ins.parse(path)
            key.meta["call_times"][name] = grader.measured
            key.meta["solutions"][name] = {
                "order": list(solution.order),
                "refers": {k: sorted(v) for k, v in solution.refers.items()},
            }
            key.meta["passed"][name] = sorted(_check_key(e.check) for e in grader.entries if e.check is not None)
    return key
