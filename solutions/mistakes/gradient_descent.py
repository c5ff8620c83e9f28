"""Known mistakes of ``gd_2d`` and ``sgd_2d``, written from the solution: instructor-only.

Each is the solution's step with one thing changed (a sign, a factor, where the noise
goes), so this file would show a student the answer. It never ships in a pack
(autograder/reference.py, known mistakes); the checks import it only inside the
functions they give ``ctx.expected``, and a pack reads the answers from the answer key.
"""

from __future__ import annotations


def gd_2d(x1, x2, eta):
    """By the keys of checks.GD_2D_MISTAKES, where their names and hints are."""
    return {
        "isotropic": (x1 - eta * 2 * x1, x2 - eta * 2 * x2),
        "swapped": (x1 - eta * 4 * x1, x2 - eta * 2 * x2),
        "ascent": (x1 + eta * 2 * x1, x2 + eta * 4 * x2),
    }


def sgd_2d(x1, x2, eta, noise):
    """By the keys of checks.SGD_2D_MISTAKES."""
    n1, n2 = noise
    g1, g2 = 2 * x1, 4 * x2
    return {
        "after": (x1 - eta * g1 + n1, x2 - eta * g2 + n2),
        "left_out": (x1 - eta * g1, x2 - eta * g2),
        "subtracted": (x1 - eta * (g1 - n1), x2 - eta * (g2 - n2)),
        "swapped": (x1 - eta * (g1 + n2), x2 - eta * (g2 + n1)),
        "isotropic": (x1 - eta * (g1 + n1), x2 - eta * (2 * x2 + n2)),
    }
