"""Points as a student reads them: two decimals at most, and sums that add up as shown.

Rounding each score on its own makes a report whose lines do not add up (0.33 + 0.33 +
0.33 shown under a total of 1). Here a total is rounded once, and the parts under it are
rounded so that they sum to exactly that (the largest-remainder method: each part is cut
down to the cent, and the cents still missing go to the parts that lost the most). The
JSON keeps full precision; only text is rounded.
"""

from __future__ import annotations

import math

CENTS = 100  # two decimals


def show(value: float) -> str:
    """``0.818182`` -> ``0.82``, ``3.0`` -> ``3``, ``2.5`` -> ``2.5``."""
    text = f"{round(value + 0.0, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def apportion(parts: list[float], total: float | None = None) -> list[float]:
    """``parts`` rounded to the cent so that they sum to ``total`` rounded to the cent
    (default: their own sum). Every part stays within a cent of its value."""
    want = round((sum(parts) if total is None else total) * CENTS)
    floors = [math.floor(p * CENTS + 1e-9) for p in parts]
    missing = want - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: parts[i] * CENTS - floors[i], reverse=True)
    for i in order[: max(0, missing)]:
        floors[i] += 1
    return [f / CENTS for f in floors]
