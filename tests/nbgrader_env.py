"""The environment real nbgrader commands run in, for the tests and the class benchmark."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def nbgrader_env() -> dict[str, str]:
    """This environment, with this checkout importable and this interpreter's tools first.

    nbgrader's kernels import divekit: this checkout's (CI installs it; a worktree may not
    be). nbgrader runs its tools (alembic) by name: the environment's bin folder comes first,
    as in an activated virtual environment."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    bin_path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    return dict(os.environ, PYTHONPATH=path, PATH=bin_path)
