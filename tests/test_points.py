"""Readable points (autograder/points.py): two decimals, and lines that add up as shown."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from autograder.points import apportion, show
from autograder.report import Report
from autograder.report import TestResult as Result


def test_points_read_as_people_write_them():
    assert [show(v) for v in (0.818182, 3.0, 2.5, 0.0, 1e-12, 0.005, 10 / 3)] == [
        "0.82",
        "3",
        "2.5",
        "0",
        "0",
        "0.01",
        "3.33",
    ]


@given(st.lists(st.floats(min_value=0, max_value=50, allow_nan=False), min_size=1, max_size=12))
def test_apportioned_parts_add_up_to_the_rounded_total_and_stay_within_a_cent(parts):
    shown = apportion(parts)
    assert round(sum(shown) * 100) == round(sum(parts) * 100)
    assert all(abs(a - b) < 0.01 + 1e-9 for a, b in zip(shown, parts))


def test_a_text_report_adds_up_as_printed():
    third = 1 / 3
    tests = [Result(f"m.s: check {i}", "m.s", third, third, "passed") for i in range(3)]
    tests.append(Result("m.t: other", "m.t", 0.818182, 3, "failed", "wrong"))
    text = Report("sub", tests).to_text()
    assert "m.s  1/1" in text and "m.t  0.82/3" in text and "Total: 1.82/4" in text
    shown = [float(x) for x in re.findall(r"\((\d+(?:\.\d+)?)/", text)]
    assert round(sum(shown[:3]), 2) == 1.0 and sorted(shown[:3]) == [0.33, 0.33, 0.34]
