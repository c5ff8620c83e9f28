"""The release step: solution blocks become stubs, everything else stays."""

from __future__ import annotations

import pytest

from autograder.release import ReleaseError, strip_solutions

SOLUTION = '''"""Task text."""


def f(x):
    """Docstring stays."""
    ### BEGIN SOLUTION
    return x + 1
    ### END SOLUTION


class M:
    def forward(self, x):
        ### BEGIN SOLUTION
        y = x * 2
        return y
        ### END SOLUTION


### BEGIN SOLUTION
ANSWERS = {"q1": "B"}
### END SOLUTION
### BEGIN STUB
# ANSWERS = {"q1": None}
### END STUB
'''


def test_solution_blocks_become_not_implemented_at_their_indentation():
    out = strip_solutions(SOLUTION)
    assert '    """Docstring stays."""\n    # YOUR CODE HERE\n    raise NotImplementedError()' in out
    assert "        # YOUR CODE HERE\n        raise NotImplementedError()" in out
    assert "x + 1" not in out and "x * 2" not in out
    compile(out, "<released>", "exec")


def test_stub_block_replaces_a_module_level_answer():
    out = strip_solutions(SOLUTION)
    assert 'ANSWERS = {"q1": None}' in out
    assert '"B"' not in out and "STUB" not in out


@pytest.mark.parametrize(
    "broken",
    [
        "### BEGIN SOLUTION\nx = 1\n",
        "x = 1\n### END SOLUTION\n",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
        "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### BEGIN STUB\nx = None\n### END STUB\n",
    ],
)
def test_malformed_markers_are_errors(broken):
    with pytest.raises(ReleaseError):
        strip_solutions(broken)
