"""Is a surviving mutant a weakness of the checks, or equivalent to the reference?

A general answer, for functions and classes alike, without writing inputs per stub: the
stub's own checks are run again, under other seeds than the public one (other inputs
from their hypothesis strategies: other shapes, scales and values) and with twice the
examples, once on the mutant and once on the reference solution graded as a submission,
and every answer the worker sends back (``framework.context.OBSERVED``: values, the
arguments of in-place calls, gradients) is compared in order. The same seed gives both
the same inputs, so any answer that differs beyond rounding (a tolerance by dtype) is a
real difference: the mutant *survived* the public grade although it computes something
else. Answers that agree everywhere make it *equivalent-looking*.

Training checks run only with ``--training``; without, a change that only training would
see shows up here as a difference (the answers of the unit checks' calls still differ).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace
from pathlib import Path

import torch

from ..config import GradingConfig
from ..framework.context import OBSERVED
from ..worker.protocol import Handle
from .mutants import Mutant

SEEDS = ("divekit-audit-differential-1", "divekit-audit-differential-2")
# Beyond rounding: the grader's own float64 and float32 tolerances are looser than these.
TOLERANCE = {torch.float64: (1e-9, 1e-12), torch.float32: (1e-5, 1e-7), torch.float16: (1e-2, 1e-4)}

_REFERENCE: dict[tuple, list] = {}  # (stub id, seed, examples, reference text) -> its answers


def answers(module: str, text: str, stub_id: str, config: GradingConfig) -> tuple[list, object]:
    """Every answer the worker gave the stub's checks when grading ``text`` (and the report)."""
    from .run import grade_text

    token = OBSERVED.set([])
    try:
        report = grade_text(module, text, stub_id, config)
        return list(OBSERVED.get() or []), report
    finally:
        OBSERVED.reset(token)


def difference(a, b, where: str = "") -> str | None:
    """Where ``a`` and ``b`` first differ, in words (None: they agree)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return f"{where}: {type(a).__name__} vs {type(b).__name__}"
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"{where}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
        if a.is_floating_point() or a.is_complex():
            rtol, atol = TOLERANCE.get(a.dtype, (1e-5, 1e-7))
            if not torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
                gap = (a.double() - b.double()).abs().nan_to_num(float("inf")).max().item()
                return f"{where}: values differ (largest gap {gap:.3g})"
            return None
        return None if torch.equal(a, b) else f"{where}: values differ"
    if isinstance(a, Handle) or isinstance(b, Handle):
        # An object left in the worker: what it does shows in the answers about it.
        same = isinstance(a, Handle) and isinstance(b, Handle) and (a.ident, a.type_name) == (b.ident, b.type_name)
        return None if same else f"{where}: {a!r} vs {b!r}"
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{where}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}"
        for k in a:
            found = difference(a[k], b[k], f"{where}[{k!r}]")
            if found:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"{where}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b) and not isinstance(a, type):
        if type(a) is not type(b):
            return f"{where}: {type(a).__name__} vs {type(b).__name__}"
        return difference(dataclasses.asdict(a), dataclasses.asdict(b), where)
    if isinstance(a, float) and isinstance(b, float):
        # A Python float does not say in which precision it was computed: float32's rounding.
        same = math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
        return None if same else f"{where}: {a!r} vs {b!r}"
    return None if a == b else f"{where}: {a!r:.80} vs {b!r:.80}"


def compare(mutant: Mutant, config: GradingConfig, seeds: tuple[str, ...] = SEEDS) -> dict:
    """The differential run: {"seeds", "scores" (the mutant's under each seed), "answers"
    (how many compared), "difference" (the first, or "")}."""
    from ..reference import DEFAULT_SOLUTIONS

    reference = (Path(config.solutions or DEFAULT_SOLUTIONS) / f"{mutant.module}.py").read_text(encoding="utf-8")
    result: dict = {"seeds": list(seeds), "scores": [], "answers": 0, "difference": ""}
    for seed in seeds:
        options = replace(config, seed=seed, examples=config.examples * 2)
        key = (mutant.stub_id, seed, options.examples, options.training, reference)
        if key not in _REFERENCE:
            _REFERENCE[key] = answers(mutant.module, reference, mutant.stub_id, options)[0]
        theirs = _REFERENCE[key]
        ours, report = answers(mutant.module, mutant.text, mutant.stub_id, options)
        got, total = report.by_stub().get(mutant.stub_id, (0.0, 0.0))
        result["scores"].append([round(got, 6), round(total, 6)])
        result["answers"] += min(len(ours), len(theirs))
        if result["difference"]:
            continue
        for i, (mine, ref) in enumerate(zip(ours, theirs, strict=False)):
            found = difference(mine[1:], ref[1:], f"answer {i + 1} ({ref[0]})")
            if mine[0] != ref[0]:
                found = f"answer {i + 1}: asked {mine[0]!r} where the reference was asked {ref[0]!r}"
            if found:
                result["difference"] = f"seed {seed!r}, {found}"
                break
        else:
            if len(ours) != len(theirs):
                result["difference"] = f"seed {seed!r}: {len(ours)} answers vs the reference's {len(theirs)}"
        if got < total - 1e-9 and not result["difference"]:
            result["difference"] = f"seed {seed!r}: it scores {got:g}/{total:g} there"
    return result
