"""Mutants of a reference solution: the solution file with one small change inside one
``### BEGIN SOLUTION`` block, made with ``ast`` (mutmut's and cosmic-ray's operators,
for the mistakes students make in tensor code).

Each mutant is the whole file with one node's source text replaced (comments, layout
and every other block untouched), so a grade of it is a grade of a plausible student
file. The candidates of a stub are listed in source order; a budget picks a sample of
them with a generator seeded by ``seed`` and the stub, so the same seed gives the same
mutants on every machine.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..release import MARKER
from ..static import syntax_tree

# Operator swaps: each operator becomes the one a slip most often gives.
BINOPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div,),
    ast.Div: (ast.Mult,),
    ast.FloorDiv: (ast.Div,),
    ast.Pow: (ast.Mult,),
    ast.MatMult: (ast.Mult,),
    ast.Mod: (ast.FloorDiv,),
}
COMPARES: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
# Reductions and their look-alikes, as methods (x.sum()) or functions (torch.sum(x)).
ATTRIBUTES = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "amax": "amin", "amin": "amax"}


@dataclass(frozen=True)
class Mutant:
    module: str
    stub: str  # the top-level name whose block was changed
    index: int  # its place among the stub's candidates, in source order
    operator: str  # e.g. "binop", "constant", "drop-statement"
    line: int  # 1-based line of the change in the solution file
    before: str  # the changed node's source
    after: str  # what replaced it
    text: str  # the whole mutated file

    @property
    def stub_id(self) -> str:
        return f"{self.module}.{self.stub}"

    @property
    def ident(self) -> str:
        return f"{self.stub_id}#{self.index}"

    @property
    def digest(self) -> str:
        """The mutant's own fingerprint: its module, stub and file text."""
        return hashlib.sha256(f"{self.module}\0{self.stub}\0{self.text}".encode()).hexdigest()[:20]

    def describe(self) -> str:
        return f"line {self.line} ({self.operator}): {self.before.strip()}  ->  {self.after.strip()}"


def solution_blocks(text: str) -> list[tuple[int, int]]:
    """(first, last) 1-based lines strictly inside each solution block."""
    blocks, start = [], None
    for number, line in enumerate(text.splitlines(), 1):
        m = MARKER.match(line)
        if not m or m.group(3) != "SOLUTION":
            continue
        if m.group(2) == "BEGIN":
            start = number
        elif start is not None:
            blocks.append((start + 1, number - 1))
            start = None
    return blocks


def _owner(tree: ast.Module, line: int) -> str | None:
    """The top-level definition (function, class or assigned name) around ``line``; a
    block at the top level belongs to the assignment inside it."""
    for node in tree.body:
        if node.lineno <= line <= node.end_lineno:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                return node.name
            if isinstance(node, ast.Assign | ast.AnnAssign):
                target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                return target.id if isinstance(target, ast.Name) else None
    return None


def _splice(lines: list[str], node: ast.AST, replacement: str) -> str:
    """The file with ``node``'s source span replaced (offsets are UTF-8 bytes, as ast gives them)."""
    raw = [line.encode() for line in lines]
    first, last = node.lineno - 1, node.end_lineno - 1
    head = raw[first][: node.col_offset]
    tail = raw[last][node.end_col_offset :]
    new = raw[:first] + [head + replacement.encode() + tail] + raw[last + 1 :]
    return "\n".join(b.decode() for b in new) + "\n"


def _wrap(node: ast.AST) -> str:
    text = ast.unparse(node)
    return f"({text})" if isinstance(node, ast.BinOp | ast.BoolOp | ast.Compare | ast.UnaryOp) else text


def _changes(node: ast.AST) -> Iterator[tuple[str, ast.AST, ast.AST]]:
    """(operator, node replaced, its replacement) for each mutation of this one node."""
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        for op in BINOPS[type(node.op)]:
            yield "binop", node, ast.BinOp(copy.deepcopy(node.left), op(), copy.deepcopy(node.right))
    elif isinstance(node, ast.AugAssign) and type(node.op) in BINOPS:
        for op in BINOPS[type(node.op)]:
            yield "augassign", node, ast.AugAssign(copy.deepcopy(node.target), op(), copy.deepcopy(node.value))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARES:
        new = copy.deepcopy(node)
        new.ops = [COMPARES[type(node.ops[0])]()]
        yield "compare", node, new
    elif isinstance(node, ast.BoolOp):
        yield "boolop", node, ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        yield "drop-unary", node, copy.deepcopy(node.operand)
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str | bytes) and node.value is not None:
        v = node.value
        if isinstance(v, bool):
            yield "constant", node, ast.Constant(not v)
        elif isinstance(v, int):
            for new in dict.fromkeys([1 if v == 0 else 0 if v == 1 else v + 1, v + 1] if v in (0, 1) else [v + 1]):
                yield "constant", node, ast.Constant(new)
        elif isinstance(v, float):
            yield "constant", node, ast.Constant(1.0 if v == 0 else v * 2)
    elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
        new = copy.deepcopy(node)
        new.attr = ATTRIBUTES[node.attr]
        yield "reduction", node, new
    if isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg is not None:
                new = copy.deepcopy(node)
                del new.keywords[i]
                yield "drop-keyword", node, new
        for i in range(len(node.args) - 1):
            if any(isinstance(a, ast.Starred) for a in node.args[i : i + 2]):
                continue
            new = copy.deepcopy(node)
            new.args[i], new.args[i + 1] = new.args[i + 1], new.args[i]
            yield "swap-arguments", node, new


def _statements(block: list[ast.stmt]) -> Iterator[ast.stmt]:
    for stmt in block:
        yield stmt
        for field in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(stmt, field, []) or [])


def candidates(module: str, text: str) -> list[Mutant]:
    """Every mutant of the solution ``text``, by stub in source order, each compiling and
    each different from the reference and from the others."""
    tree = syntax_tree(text)
    lines = text.splitlines()
    blocks = solution_blocks(text)
    inside = lambda n: any(a <= n.lineno and n.end_lineno <= b for a, b in blocks)  # noqa: E731
    reference = ast.dump(tree)
    seen: set[str] = set()
    found: dict[str, list[Mutant]] = {}

    def add(stub: str | None, operator: str, node: ast.AST, new_text: str, after: str) -> None:
        if stub is None or new_text in seen:
            return
        try:
            if ast.dump(syntax_tree(new_text)) == reference:
                return
            compile(new_text, f"{module}.py", "exec")
        except SyntaxError:
            return
        seen.add(new_text)
        bucket = found.setdefault(stub, [])
        before = ast.get_source_segment(text, node) or ast.unparse(node)
        bucket.append(Mutant(module, stub, len(bucket), operator, node.lineno, before, after, new_text))

    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or not inside(node):
            continue
        stub = _owner(tree, node.lineno)
        if isinstance(node, ast.stmt) and not isinstance(node, ast.Return):
            docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            whole = lines[node.lineno - 1][: node.col_offset].strip() == ""
            if not docstring and whole and not isinstance(node, ast.FunctionDef | ast.ClassDef):
                indent = lines[node.lineno - 1][: node.col_offset]
                new = lines[: node.lineno - 1] + [indent + "pass"] + lines[node.end_lineno :]
                add(stub, "drop-statement", node, "\n".join(new) + "\n", "pass")
        for operator, old, new in _changes(node):
            replacement = _wrap(new) if isinstance(new, ast.expr) else ast.unparse(new)
            add(stub, operator, old, _splice(lines, old, replacement), replacement)
    for bucket in found.values():
        bucket.sort(key=lambda m: (m.line, m.operator, m.after))
    return [
        Mutant(m.module, m.stub, i, m.operator, m.line, m.before, m.after, m.text)
        for stub in found
        for i, m in enumerate(found[stub])
    ]


def sample(mutants: list[Mutant], seed: int, max_per_stub: int | None) -> list[Mutant]:
    """At most ``max_per_stub`` mutants of each stub, drawn by ``seed`` (the same seed, the same mutants)."""
    by_stub: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_stub.setdefault(m.stub_id, []).append(m)
    chosen = []
    for stub_id, bucket in by_stub.items():
        if max_per_stub is not None and len(bucket) > max_per_stub:
            rng = random.Random(f"{seed}:{stub_id}")
            bucket = sorted(rng.sample(bucket, max_per_stub), key=lambda m: m.index)
        chosen += bucket
    return chosen


def of_module(module: str, solutions: Path) -> list[Mutant]:
    return candidates(module, (solutions / f"{module}.py").read_text(encoding="utf-8"))
