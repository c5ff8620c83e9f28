"""Grading what parses of a file with a syntax error: the error costs only its definition.

Python rejects a whole file for one syntax error, which would zero every stub of it. When
the file does not parse, it is split at its top-level statements (lines that start in
column 0), each piece is parsed on its own, and a piece that does not parse is dropped:

* a ``def`` or ``class`` becomes a one-line definition of the same name that raises the
  SyntaxError when called, so the grader can fail that stub with the error and its line,
  and code that calls a broken helper fails with the same message;
* any other statement (an import, a constant) is blanked out. It is not a stub, so
  nothing is graded on it; what uses it fails with a NameError, and a note of the module
  says which line was dropped and why. Zeroing the file for it instead would charge the
  student for every stub that never used the broken line.

Dropped pieces keep their number of lines, so every line number in a later traceback is
the student's own.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .static import SyntaxProblem, compile_tree, parse

# Column-0 lines that continue the statement above them rather than starting one.
_CONTINUES = re.compile(r"(else|elif|except|finally)\b|[)\]}]")
_NAMED = re.compile(r"(?:async\s+def|def|class)\s+([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")


@dataclass
class Salvaged:
    source: str  # what the worker imports: the student's text with broken pieces dropped
    tree: ast.Module
    broken: dict[str, SyntaxProblem] = field(default_factory=dict)  # top-level name -> its error
    dropped: list[SyntaxProblem] = field(default_factory=list)  # broken pieces that define no name

    def notes(self, filename: str) -> list[str]:
        said = [f"{filename}: {name} was left out: {p}." for name, p in self.broken.items()]
        said += [f"{filename}: the statement at line {p.line} was left out: {p}." for p in self.dropped]
        return said


def _starts(lines: list[str]) -> list[int]:
    """Indices of the lines that begin a top-level statement (a decorator joins its def)."""
    starts: list[int] = []
    decorated = False
    for i, line in enumerate(lines):
        if not line.strip() or line[0] in " \t#" or _CONTINUES.match(line):
            continue
        if not decorated:
            starts.append(i)
        decorated = line.startswith("@")
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return starts


def _compiles(text: str, filename: str) -> ast.Module | SyntaxProblem:
    """The tree of ``text`` if it compiles: the parser alone accepts a ``return`` outside a
    function, which would still make importing the file fail."""
    tree = parse(text, filename)
    if isinstance(tree, ast.Module):
        try:
            compile_tree(tree, filename)
        except SyntaxError as exc:
            return SyntaxProblem(exc.lineno or 0, exc.msg, exc.text or "")
    return tree


def _parses(lines: list[str], first: int, filename: str) -> ast.Module | SyntaxProblem:
    # Blank lines in front keep the error's line number the file's own.
    return _compiles("\n" * first + "".join(lines), filename)


def _marker(name: str, problem: SyntaxProblem, count: int) -> list[str]:
    message = f"{name} could not be read: {problem}"
    return [f"def {name}(*args, **kwargs):  raise SyntaxError({message!r})\n"] + ["\n"] * (count - 1)


def salvage(source: str, filename: str) -> Salvaged | SyntaxProblem:
    """The parts of ``source`` that parse, or the file's SyntaxProblem when nothing can be saved."""
    tree = _compiles(source, filename)
    if isinstance(tree, ast.Module):
        return Salvaged(source, tree)
    if "\0" in source:
        return tree  # null bytes: no line of the file can be trusted
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    bounds = [*_starts(lines), len(lines)]
    out: list[str] = []
    broken: dict[str, SyntaxProblem] = {}
    dropped: list[SyntaxProblem] = []
    i = 0
    while i < len(bounds) - 1:
        # The smallest run of pieces from here that parses: a docstring with lines in
        # column 0 is one statement split in several pieces by _starts.
        for j in range(i + 1, len(bounds)):
            if isinstance(_parses(lines[bounds[i] : bounds[j]], bounds[i], filename), ast.Module):
                out += lines[bounds[i] : bounds[j]]
                i = j
                break
        else:
            piece = lines[bounds[i] : bounds[i + 1]]
            problem = _parses(piece, bounds[i], filename)
            assert isinstance(problem, SyntaxProblem)
            named = next((m for m in map(_NAMED.match, piece) if m), None)
            if named and named.group(1):
                broken[named.group(1)] = problem
                out += _marker(named.group(1), problem, len(piece))
            elif named:
                broken[named.group(2)] = problem
                out += ["\n"] * len(piece)
            else:
                dropped.append(problem)
                out += ["\n"] * len(piece)
            i += 1
    text = "".join(out)
    rebuilt = _compiles(text, filename)
    if isinstance(rebuilt, SyntaxProblem):
        return tree  # the pieces parse apart but not together: grade nothing rather than guess
    return Salvaged(text, rebuilt, broken, dropped)
