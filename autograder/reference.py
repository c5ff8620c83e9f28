"""Loading the reference solutions into the judge (they are trusted code)."""

from __future__ import annotations

import importlib.util
import sys
import types
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOLUTIONS = REPO / "solutions"


class ReferenceMissing(Exception):
    pass


@cache
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
