"""Loading the reference solutions into the judge (they are trusted code)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

from .lanes import shared_once

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOLUTIONS = REPO / "solutions"


class ReferenceMissing(Exception):
    pass


@shared_once
def load(module: str, solutions_dir: str | None = None) -> types.ModuleType:
    folder = Path(solutions_dir) if solutions_dir else DEFAULT_SOLUTIONS
    path = folder / f"{module}.py"
    if not path.exists():
        raise ReferenceMissing(
            f"the reference solution {path} is not here: grading needs the instructor's "
            "solutions/ folder (pass --solutions DIR)"
        )
    name = f"divekit_reference_{module}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# -- known mistakes, implemented -------------------------------------------------------------
# A known mistake written as the reference with one change is solution code, so it lives
# beside the solutions (``solutions/mistakes/<module>.py``), never in the grader package:
# it runs only where the solutions are, inside the checks' ``ctx.expected`` functions, and
# a student pack gets its values through the answer key.
@shared_once
def _mistakes_at(path: str) -> types.ModuleType:
    file = Path(path)
    if not file.exists():
        raise ReferenceMissing(f"the known mistakes {file} are not here: they sit beside the solutions")
    name = f"divekit_mistakes_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def mistakes(ref: types.ModuleType) -> types.ModuleType:
    """The known mistakes of the module ``ref`` is the reference solution of (a module
    derived from a reference, another right network, keeps its solution's file)."""
    solution = Path(ref.__file__)
    return _mistakes_at(str(solution.parent / "mistakes" / solution.name))


def known_mistake(ref: types.ModuleType, what: str, *args):
    """``mistakes.<what>(*args)`` for ``ref``'s module: a ``ctx.expected`` function."""
    return getattr(mistakes(ref), what)(*args)
