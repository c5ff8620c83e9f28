"""Known mistakes of ``is_convex_quadratic``, written from the solution: instructor-only.

Most of them are the solution's test with one thing changed (the threshold, the
symmetrising), so this file would show a student the answer. It never ships in a pack
(autograder/reference.py, known mistakes); the checks import it only inside the
functions they give ``ctx.expected``, and a pack reads the answers from the answer key.
"""

from __future__ import annotations

import torch


def _sym_min(A: torch.Tensor) -> float:
    A = A.detach().to(torch.float64).cpu()
    return float(torch.linalg.eigvalsh((A + A.T) / 2).min())


# By the keys of checks.QUAD_MISTAKES, where their names and hints are.
QUADRATIC = {
    "eigvals": lambda A: bool(torch.linalg.eigvals(A).real.min() >= -1e-6),
    "eigvalsh": lambda A: bool(torch.linalg.eigvalsh(A).min() >= -1e-6),
    "zero": lambda A: _sym_min(A) >= 0,
    "definite": lambda A: _sym_min(A) > 0,
    "diagonal": lambda A: bool((torch.diag(A) >= -1e-6).all()),
}
