"""What the judge learns from a student's source without running it.

Syntax errors, which stubs are defined, and calls to routines a "from scratch" stub must
not use, with import aliases resolved (``from torch import softmax as sm`` still counts).
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass
from functools import lru_cache

# CPython 3.11 keeps the syntax-tree builder's recursion depth in interpreter-wide state
# (python/cpython#106905, fixed in 3.12): when a garbage collection during one thread's
# build runs a finalizer, another thread may build a tree meanwhile, and the first then
# fails with "SystemError: AST constructor recursion depth mismatch". The judge's lanes
# salvage and inspect two files at once, so every tree the judge builds or compiles goes
# through this one lock (re-entrant: a finalizer may itself parse).
_TREES = threading.RLock()


def syntax_tree(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse``, safe to call from several threads at once."""
    with _TREES:
        return ast.parse(source, filename=filename)


def compile_tree(tree: ast.Module, filename: str) -> None:
    """Compile ``tree`` only to see that it compiles (a SyntaxError if not), thread-safely."""
    with _TREES:
        compile(tree, filename, "exec", dont_inherit=True)


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    message: str
    text: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "the file"
        shown = f": {self.text.strip()}" if self.text else ""
        return f"SyntaxError at {where}{shown} ({self.message})"


def parse(source: str, filename: str) -> ast.Module | SyntaxProblem:
    try:
        return syntax_tree(source, filename)
    except SyntaxError as exc:
        return SyntaxProblem(exc.lineno or 0, exc.msg, exc.text or "")
    except ValueError as exc:  # null bytes
        return SyntaxProblem(0, str(exc), "")


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted origin, from imports and simple module-level assignments."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    root = a.name.split(".")[0]
                    names[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in tree.body:  # sm = torch.softmax
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            dotted = _dotted(node.value, names)
            if dotted:
                names[node.targets[0].id] = dotted
    return names


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        root = aliases.get(node.id, node.id)
        return ".".join([root, *reversed(parts)])
    return None


def _canonical(name: str) -> str:
    # torch.nn.functional is also reachable as torch.functional for some names, and
    # "import torch.nn.functional" spells it in full; compare on the full path.
    return name.replace("torch.functional.", "torch.nn.functional.")


def _reachable_defs(tree: ast.Module, stub: str) -> list[ast.AST]:
    """The stub's definition plus every module-level function or class it refers to."""
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    assigned = {
        n.targets[0].id: n
        for n in tree.body
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
    }
    seen: list[ast.AST] = []
    todo = [stub]
    names_seen = set()
    while todo:
        name = todo.pop()
        if name in names_seen:
            continue
        names_seen.add(name)
        node = defs.get(name) or assigned.get(name)
        if node is None:
            continue
        seen.append(node)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in (defs.keys() | assigned.keys()):
                todo.append(sub.id)
    return seen


def forbidden_calls(tree: ast.Module, stub: str, forbidden: tuple[str, ...]) -> list[str]:
    """Forbidden routines the stub uses, each with its line: ``"torch.softmax (line 12)"``."""
    if not forbidden:
        return []
    aliases = _aliases(tree)
    wanted = {_canonical(f) for f in forbidden}
    methods = {f.split(".", 1)[1] for f in forbidden if f.startswith("Tensor.")}
    hits: list[str] = []
    for node in _reachable_defs(tree, stub):
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Attribute, ast.Name)):
                dotted = _dotted(sub, aliases)
                if dotted and _canonical(dotted) in wanted:
                    hits.append(f"{_canonical(dotted)} (line {sub.lineno})")
                elif (
                    isinstance(sub, ast.Attribute)
                    and sub.attr in methods
                    and isinstance(getattr(sub, "ctx", None), ast.Load)
                ):
                    root = _dotted(sub.value, aliases) or ""
                    if not root.startswith("torch"):
                        hits.append(f"Tensor.{sub.attr} (line {sub.lineno})")
    return sorted(set(hits), key=lambda h: int(h.rsplit("line ", 1)[1].rstrip(")")))


def forbidden_at_runtime(recorded: set[str], forbidden: tuple[str, ...]) -> list[str]:
    """Forbidden routines among the torch calls the worker recorded during the stub's calls."""
    wanted = {_canonical(f) for f in forbidden}
    found = set()
    for name in recorded:
        full = _canonical(name)
        last = full.rsplit(".", 1)[-1]
        for f in wanted:
            f_last = f.rsplit(".", 1)[-1]
            if full == f or (
                f.startswith("torch.") and f.count(".") == 1 and last == f_last and not full.startswith("Tensor.")
            ):
                found.add(f)
    return sorted(found)


def signature_differences(expected: str | None, actual: str | None) -> list[str]:
    """How ``actual`` (from inspect.signature) differs from the contract's ``expected``."""
    if not expected or actual is None:
        return []
    try:
        want = syntax_tree(f"def f{expected}: pass").body[0].args
        got = syntax_tree(f"def f{actual}: pass").body[0].args
    except SyntaxError:
        return []

    def listing(args):
        params = [a.arg for a in args.posonlyargs + args.args]
        defaults = [None] * (len(params) - len(args.defaults)) + [ast.unparse(d) for d in args.defaults]
        return list(zip(params, defaults))

    w, g = listing(want), listing(got)
    problems = []
    if [n for n, _ in w] != [n for n, _ in g][: len(w)]:
        problems.append(f"parameters should be {expected}, found {actual}")
    else:
        for (name, dw), (_, dg) in zip(w, g):
            if dw != dg:
                problems.append(f"parameter {name!r} should default to {dw}, found {dg}")
        extra = g[len(w) :]
        if any(d is None for _, d in extra):
            problems.append(f"extra required parameters {[n for n, d in extra if d is None]}")
    return problems


def raises_not_implemented(tree: ast.Module, stub: str) -> bool:
    """True when the stub's body still contains ``raise NotImplementedError``."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == stub:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Raise) and sub.exc is not None:
                    target = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
                    if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                        return True
        if isinstance(node, ast.Raise) and stub == "ANSWERS":
            return True
    return False


def defines(tree: ast.Module, name: str) -> bool:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return True
    return False


# What torch imports torch._dynamo for on first use (2-9 s of CPU): building any torch.optim
# optimizer, torch.compile, activation checkpointing, custom operators.
_DYNAMO_USERS = ("torch.optim", "torch.compile", "torch._dynamo", "torch.utils.checkpoint", "torch.library")


@lru_cache(maxsize=64)  # asked for each worker a module starts, of the same few texts
def uses_dynamo(source: str) -> bool:
    """Whether ``source`` names something that imports ``torch._dynamo`` when first used
    (``torch.optim.SGD``, ``from torch import optim``, ``torch.compile``, with aliases
    resolved), so that the fork server imports it once before forking instead of each
    worker in its own call limit (sandbox/zygote.py). Names in comments and docstrings do
    not count; a source that does not parse is assumed to use it (the import then costs
    time, never a grade)."""
    tree = parse(source, "<submission>")
    if isinstance(tree, SyntaxProblem):
        return True
    aliases = _aliases(tree)
    named = set(aliases.values())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)):
            named.add(_dotted(node, aliases) or "")
        elif isinstance(node, ast.Import):  # import torch.optim: its own import does it
            named.update(a.name for a in node.names)
    return any(n == p or n.startswith(p + ".") for n in named for p in _DYNAMO_USERS)
