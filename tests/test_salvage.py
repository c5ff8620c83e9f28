"""The pieces of a file with a syntax error that still parse are kept, and each broken
top-level definition is known by name with its line (grading is tested in
tests/test_broken_submissions.py)."""

from __future__ import annotations

import textwrap

from autograder.salvage import Salvaged, salvage
from autograder.static import SyntaxProblem


def _salvage(text: str) -> Salvaged:
    got = salvage(textwrap.dedent(text), "m.py")
    assert isinstance(got, Salvaged), got
    return got


def test_a_file_that_parses_is_left_as_it_is():
    text = "import torch\n\ndef f(x):\n    return x\n"
    got = _salvage(text)
    assert got.source == text and not got.broken and not got.dropped


def test_a_docstring_with_lines_in_column_0_stays_one_definition():
    got = _salvage(
        '''
        def f(x):
            """Doc
        text in column 0
            """
            return x

        def g(x)
            return x
        '''
    )
    assert set(got.broken) == {"g"} and got.broken["g"].line == 8
    namespace: dict = {}
    exec(compile(got.source, "m.py", "exec"), namespace)
    assert namespace["f"](3) == 3


def test_a_decorated_definition_is_kept_whole_and_a_broken_class_is_named():
    got = _salvage(
        """
        import functools

        @functools.cache
        def f(x):
            return x

        class C:
            def m(self):
                return (
        """
    )
    assert set(got.broken) == {"C"} and "never closed" in str(got.broken["C"])
    namespace: dict = {}
    exec(compile(got.source, "m.py", "exec"), namespace)
    assert namespace["f"](2) == 2
    # The marker fails with the error and its line wherever C is used.
    try:
        namespace["C"]()
    except SyntaxError as exc:
        assert "line 10" in str(exc)
    else:
        raise AssertionError("the marker of a broken class did not raise")


def test_line_numbers_after_a_dropped_piece_are_the_files_own():
    got = _salvage("x = (1,\n\ndef f():\n    return undefined_name\n")
    assert got.dropped == [] and set(got.broken) == {"x"}
    assert got.source.splitlines()[3] == "    return undefined_name"


def test_null_bytes_leave_nothing_to_salvage():
    assert isinstance(salvage("def f():\n    return 1\0\n", "m.py"), SyntaxProblem)
