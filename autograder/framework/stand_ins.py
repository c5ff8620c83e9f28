"""Stand-ins: the reference's own pieces, in place of a student's pieces that are not used.

A check may need more of the student's module than its own stub (``net`` calls ``relu``;
a training run uses every piece). A piece of the student's is used only where it has
passed its own unit checks and everything it calls within the check is the student's too;
every other piece the check needs is replaced by a *stand-in*, so that one broken piece
costs only its own points.

Stand-ins are derived, never written by hand: the top-level definition of each piece is
taken from the reference solution's source (with the solution's imports and the private
helpers it refers to), and which pieces a piece calls is read from the same source.

Security rests on one rule, kept by construction: a worker is given its stand-ins when it
starts and is used only by checks that need exactly that set, so a check that awards
points to a stub never runs in a process holding reference code for that stub (the stub
itself is always the student's in its own checks).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..static import syntax_tree
from . import Check


@dataclass(frozen=True)
class Solution:
    """What the stand-in mechanism needs from a reference solution's source."""

    imports: tuple[str, ...]  # the source of each top-level import, in order
    definitions: dict[str, str]  # top-level name -> the source of its definition
    order: tuple[str, ...]  # top-level names in the order they are defined
    refers: dict[str, frozenset[str]]  # top-level name -> the top-level names its code uses


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _free_names(node: ast.AST, bound: frozenset[str] = frozenset()) -> set[str]:
    """Names ``node`` reads that none of its enclosing functions binds (``evaluate_accuracy(net,
    data_iter)`` calling its argument ``net`` does not call the stub ``net``)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = node.args
        local = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        local |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        body = node.body if isinstance(node.body, list) else [node.body]
        for stmt in body:
            for n in ast.walk(stmt):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    local.add(n.id)
        bound = bound | local
        found = set()
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            found |= _free_names(default, bound - local)
        for stmt in body:
            found |= _free_names(stmt, bound)
        return found
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return set() if node.id in bound else {node.id}
    found = set()
    for child in ast.iter_child_nodes(node):
        found |= _free_names(child, bound)
    return found


@cache
def parse(path: Path) -> Solution:
    text = path.read_text(encoding="utf-8")
    tree = syntax_tree(text)
    imports, definitions, order, bodies = [], {}, [], {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(ast.get_source_segment(text, node))
            continue
        for name in _defined_names(node):
            start = node.decorator_list[0] if getattr(node, "decorator_list", None) else node
            lines = text.splitlines()[start.lineno - 1 : node.end_lineno]
            definitions[name] = "\n".join(lines) + "\n"
            order.append(name)
            bodies[name] = node
    refers = {name: frozenset(_free_names(node) & set(definitions)) - {name} for name, node in bodies.items()}
    return Solution(tuple(imports), definitions, tuple(order), refers)


def calls(solution: Solution, piece: str, stubs: Iterable[str]) -> frozenset[str]:
    """The stubs ``piece`` reaches in the solution: directly, or through private helpers."""
    stubs = set(stubs)
    seen, todo, found = {piece}, [piece], set()
    while todo:
        for name in solution.refers.get(todo.pop(), ()):
            if name in seen:
                continue
            seen.add(name)
            if name in stubs:
                found.add(name)  # another piece: its own calls are its own business
            else:
                todo.append(name)
    return frozenset(found)


def needed(check: Check, solution: Solution, stubs: Iterable[str]) -> frozenset[str]:
    """Every piece a check runs: its stub, its ``uses``, and what they call, transitively."""
    stubs = set(stubs)
    found, todo = set(), [check.stub, *check.uses]
    while todo:
        piece = todo.pop()
        if piece in found or piece not in stubs:
            continue
        found.add(piece)
        todo += calls(solution, piece, stubs)
    return frozenset(found)


def students(check: Check, solution: Solution, stubs: Iterable[str], passed: Iterable[str]) -> frozenset[str]:
    """The student's pieces in ``check``: its own stub always; another piece when it passed
    its unit checks and every piece it calls within the check is the student's too."""
    stubs = set(stubs)
    pieces = needed(check, solution, stubs)
    mine = {p for p in pieces if p in set(passed)} | {check.stub}
    while True:
        drop = {p for p in mine if p != check.stub and not (calls(solution, p, stubs) & pieces) <= mine}
        if not drop:
            return frozenset(mine)
        mine -= drop


def stand_ins(check: Check, solution: Solution, stubs: Iterable[str], passed: Iterable[str]) -> frozenset[str]:
    """The pieces ``check`` needs that are not the student's: the worker's stand-in set."""
    stubs = set(stubs)
    return needed(check, solution, stubs) - students(check, solution, stubs, passed)


def source(solution: Solution, names: Iterable[str], stubs: Iterable[str]) -> str:
    """Python source defining the stand-ins ``names``: the solution's imports, the private
    helpers they use (never another stub), and their definitions, in the solution's order."""
    stubs, wanted = set(stubs), set(names)
    todo = list(wanted)
    while todo:
        for name in solution.refers.get(todo.pop(), ()):
            if name not in stubs and name not in wanted:
                wanted.add(name)
                todo.append(name)
    parts = list(solution.imports) + [solution.definitions[n] for n in solution.order if n in wanted]
    return "\n".join(parts)
