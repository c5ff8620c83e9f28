"""Where the worker-side code of a check comes from, and how the judge runs the same code.

Probes for module ``m`` are written in ``course/m/probes.py``; the worker's own helpers
(``common``, ``networks``, ...) in ``worker/probes/``. Either way a probe module runs as
``<probes package>.m``: in a worker the judge sends its source when a check first needs it
(after the sibling modules it imports), and in the judge, for reference runs, it is
executed the same way under ``autograder.worker.probes.m``. So a probe's relative
imports (``from .networks import ...``) reach the worker's helpers on both sides.
"""

from __future__ import annotations

import ast
import importlib
import sys
import types
from collections.abc import Callable
from functools import cache
from pathlib import Path

from ..lanes import shared_once
from ..static import syntax_tree
from ..worker import probes

COURSE = Path(__file__).resolve().parent.parent / "course"
WORKER_PROBES = Path(probes.__file__).resolve().parent


def probe_file(module: str) -> Path | None:
    """The file that defines the probe module ``module``, or None."""
    if not module.isidentifier() or module.startswith("_"):
        return None
    for path in (COURSE / module / "probes.py", WORKER_PROBES / f"{module}.py"):
        if path.is_file():
            return path
    return None


def source(module: str) -> str | None:
    path = probe_file(module)
    return path.read_text(encoding="utf-8") if path else None


def siblings(text: str) -> list[str]:
    """The probe modules that ``text`` imports relatively (``from .networks import x``)."""
    return list(_siblings(text))


@cache  # keyed on the text itself: a probe file edited between runs is parsed again
def _siblings(text: str) -> tuple[str, ...]:
    # Every request names its probe and asks for this closure: parsing each time cost
    # about 6 s of the judge's CPU in one submission's unit checks.
    try:
        tree = syntax_tree(text)
    except SyntaxError:
        return ()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for name in [node.module] if node.module else [a.name for a in node.names]:
                if name.split(".")[0] not in found:
                    found.append(name.split(".")[0])
    return tuple(found)


def closure(module: str) -> list[str]:
    """``module`` and every probe module it imports, transitively, dependencies first."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        text = source(name)
        if text is None:
            return
        order.append(name)  # before its imports: a cycle stops here
        for other in siblings(text):
            visit(other)
        order.remove(name)
        order.append(name)

    visit(module)
    return order


@shared_once  # cached, and executed by one grading lane at a time
def judge_module(module: str) -> types.ModuleType:
    """The probe module ``module`` in the judge, executed as the worker executes it."""
    name = f"{probes.__name__}.{module}"
    path = probe_file(module)
    if path is None:
        raise LookupError(f"unknown probe module {module!r}")
    if path.parent == WORKER_PROBES:
        return importlib.import_module(name)
    for other in siblings(path.read_text(encoding="utf-8")):
        if other != module:
            judge_module(other)
    mod = types.ModuleType(name)
    mod.__package__ = probes.__name__
    mod.__file__ = str(path)
    sys.modules[name] = mod
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), mod.__dict__)  # our code
    setattr(probes, module, mod)
    return mod


def find(name: str) -> Callable:
    """The probe ``"module.function"``, in the judge."""
    module, _, function = name.partition(".")
    judge_module(module)
    return probes.find(name)
