"""Maintainer tools: ``divekit dev check``, rustlings' ``dev check`` for this course.

A module of the course is spread over several files (solution, checks, probes, variants,
its curriculum record, its points); nothing but this check notices when one of them is
missing or left behind. The inventory is built from the files themselves, by ``ast`` and
``tomllib``, so a temporary copy of the tree can be inspected without importing it; only
a checks file that registers checks under computed stub names (a loop) is imported, in a
subprocess rooted at the tree being inspected. The dynamic part (every solution gets full
marks, every shipped stub scores 0) grades, as ``divekit verify`` does.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .release import ReleaseError, release
from .static import syntax_tree

# Files of tests/variants/ that belong to the proof's machinery, not to a course module.
VARIANT_HELPERS = {"__init__", "harness", "scores"}


@dataclass(frozen=True)
class Layout:
    """Where each kind of course file lives under one repository root: one folder per
    module (``autograder/course/<m>/checks.py`` and, where a check needs one, ``probes.py``),
    the curriculum beside them, solutions/, exercises/ and tests/variants/<m>.py."""

    root: Path

    @property
    def package(self) -> Path:
        return self.root / "autograder"

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def exercises(self) -> Path:
        return self.root / "exercises"

    @property
    def variants(self) -> Path:
        return self.root / "tests" / "variants"

    @property
    def course(self) -> Path:
        return self.package / "course"

    @property
    def worker_probes(self) -> Path:
        """The worker's shared probe helpers (no module's own probes live here)."""
        return self.package / "worker" / "probes"

    @property
    def curriculum(self) -> Path:
        return self.course / "curriculum.toml"

    def checks_file(self, module: str) -> Path:
        return self.course / module / "checks.py"

    def probes_file(self, module: str) -> Path | None:
        path = self.course / module / "probes.py"
        return path if path.exists() else None

    def variants_file(self, module: str) -> Path:
        return self.variants / f"{module}.py"

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


@dataclass
class StubRecord:
    name: str
    hints: tuple[str, ...] = ()
    points: float | None = None  # None: not given anywhere (the policy default applies)
    checks: list[str] = field(default_factory=list)  # titles (or "?" for computed ones)
    wrong: int = 0
    right: int = 0


@dataclass
class ModuleRecord:
    name: str
    task: str
    stubs: dict[str, StubRecord]
    solution_defs: set[str] | None = None  # None: no solutions/<m>.py
    checks_file: Path | None = None
    unknown_check_stubs: set[str] = field(default_factory=set)
    variants: dict[str, set[str]] | None = None  # "WRONG"/"RIGHT" -> stubs; None: no file
    unknown_variant_stubs: set[str] = field(default_factory=set)


@dataclass
class Inventory:
    layout: Layout
    modules: dict[str, ModuleRecord]
    problems: list[str]


# -- reading the files ------------------------------------------------------------------


def _curriculum(layout: Layout) -> tuple[dict[str, ModuleRecord], list[str]]:
    # Read raw rather than through autograder.curriculum: that module reads the package's
    # own file, and dev check must be able to inspect a copy (and see a hint left out).
    try:
        data = tomllib.loads(layout.curriculum.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"curriculum: cannot read {layout.rel(layout.curriculum)}: {exc}"]
    modules = {}
    for m in data.get("module", []):
        stubs = {}
        for s in m.get("stub", []):
            points = s.get("points")
            hints = tuple(str(h).strip() for h in s.get("hints", []) if str(h).strip())
            stubs[s["name"]] = StubRecord(s["name"], hints, points)
        modules[m["name"]] = ModuleRecord(m["name"], m.get("task", ""), stubs)
    return modules, []


def _parse(path: Path) -> ast.Module | None:
    try:
        return syntax_tree(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError):
        return None


def top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def checks_in(tree: ast.Module) -> tuple[str | None, list[tuple[str, str]], bool]:
    """(the module its ``checks_for`` names, [(stub, title)] of literal registrations,
    whether some registration computes its stub name)."""
    decorator_names, declared = set(), None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _call_name(node.value) == "checks_for":
            declared = _literal(node.value.args[0]) if node.value.args else None
            decorator_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    found, computed = [], False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in decorator_names:
            stub = _literal(node.args[0]) if node.args else None
            if stub is None:
                computed = True
                continue
            title = node.args[1] if len(node.args) > 1 else None
            found.append((stub, _literal(title) or (ast.unparse(title) if title is not None else "")))
    return declared, found, computed


def variants_in(tree: ast.Module) -> dict[str, list[str]]:
    """The stub of each ``Variant(...)`` in the module's ``WRONG`` and ``RIGHT`` lists."""
    lists: dict[str, list[str]] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        if not (isinstance(target, ast.Name) and target.id in ("WRONG", "RIGHT")) or node.value is None:
            continue
        stubs = lists.setdefault(target.id, [])
        for call in ast.walk(node.value):
            if isinstance(call, ast.Call) and _call_name(call) == "Variant":
                arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "stub"), None)
                stubs.append(_literal(arg) or "?")
    return lists


def _registry_module(layout: Layout) -> str:
    """The dotted name of the framework module that defines ``checks_for``."""
    for path in sorted((layout.package / "framework").glob("*.py")):
        if path.exists() and "def checks_for(" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(layout.root).with_suffix("").parts
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise LookupError(f"no module under {layout.rel(layout.package)} defines checks_for")


_REGISTERED = """
import importlib, json, sys
registry = importlib.import_module(sys.argv[1])
print(json.dumps({m: [[c.stub, c.title] for c in registry.load(m)] for m in sys.argv[2:]}))
"""


def registered_checks(layout: Layout, modules: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """The checks of modules whose files compute stub names, by importing them in a
    subprocess rooted at ``layout.root`` (so a copy of the tree is what gets imported)."""
    modules = list(modules)
    if not modules:
        return {}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(layout.root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", _REGISTERED, _registry_module(layout), *modules],
        cwd=layout.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"importing the checks of {', '.join(modules)} failed:\n{out.stderr[-2000:]}")
    return {m: [tuple(c) for c in checks] for m, checks in json.loads(out.stdout.splitlines()[-1]).items()}


def _orphans(layout: Layout, known: set[str]) -> list[str]:
    problems = []

    def orphan(path: Path, what: str) -> None:
        problems.append(f"{path.stem}: {layout.rel(path)} is {what} for no curriculum module (remove it or add one)")

    for folder, what in (
        (layout.solutions, "a solution"),
        (layout.exercises, "an exercise"),
        (layout.solutions / "mistakes", "the known mistakes"),
    ):
        for path in sorted(folder.glob("*.py")):
            if path.stem not in known:
                orphan(path, what)
    if layout.course.is_dir():
        for folder in sorted(p for p in layout.course.iterdir() if p.is_dir() and not p.name.startswith("_")):
            if folder.name not in known and any((folder / f).exists() for f in ("checks.py", "probes.py")):
                problems.append(f"{folder.name}: {layout.rel(folder)}/ holds checks or probes for no curriculum module")
    if layout.worker_probes.is_dir():
        # A probe file that some module imports is a helper (common.py, networks.py).
        imported = set()
        for path in layout.package.rglob("*.py"):
            tree = _parse(path)
            for node in ast.walk(tree) if tree else ():
                if isinstance(node, ast.ImportFrom):
                    imported |= {a.name for a in node.names} | {(node.module or "").rpartition(".")[2]}
                elif isinstance(node, ast.Import):
                    imported |= {a.name.rpartition(".")[2] for a in node.names}
        for path in sorted(layout.worker_probes.glob("*.py")):
            if path.stem not in known | imported | {"__init__"}:
                orphan(path, "a probe file")
    for path in sorted(layout.variants.glob("*.py")):
        tree = _parse(path)
        if path.stem not in known | VARIANT_HELPERS and (tree is None or variants_in(tree)):
            orphan(path, "a variants file")
    return problems


def inventory(layout: Layout) -> Inventory:
    modules, problems = _curriculum(layout)
    computed = []
    for name, record in modules.items():
        path = layout.solutions / f"{name}.py"
        tree = _parse(path) if path.exists() else None
        record.solution_defs = top_level_names(tree) if tree else None
        record.checks_file = layout.checks_file(name)
        tree = _parse(record.checks_file) if record.checks_file.exists() else None
        if tree is not None:
            _, found, dynamic = checks_in(tree)
            if dynamic:
                computed.append(name)
            for stub, title in found:
                _file_check(record, stub, title)
        path = layout.variants_file(name)
        tree = _parse(path) if path.exists() else None
        if tree is not None:
            lists = variants_in(tree)
            record.variants = {kind: set(stubs) for kind, stubs in lists.items()}
            for kind, stubs in lists.items():
                for stub in stubs:
                    if stub in record.stubs:
                        setattr(record.stubs[stub], kind.lower(), getattr(record.stubs[stub], kind.lower()) + 1)
                    else:
                        record.unknown_variant_stubs.add(stub)
    try:
        for name, found in registered_checks(layout, computed).items():
            for stub in modules[name].stubs.values():
                stub.checks.clear()
            modules[name].unknown_check_stubs.clear()
            for stub, title in found:
                _file_check(modules[name], stub, title)
    except (RuntimeError, LookupError, subprocess.TimeoutExpired) as exc:
        problems.append(f"checks: {exc}")
    return Inventory(layout, modules, problems + _orphans(layout, set(modules)))


def _file_check(record: ModuleRecord, stub: str, title: str) -> None:
    if stub in record.stubs:
        record.stubs[stub].checks.append(title)
    else:
        record.unknown_check_stubs.add(stub)


# -- the static check -------------------------------------------------------------------


def static_problems(layout: Layout, inv: Inventory | None = None) -> list[str]:
    """Every static problem, one line each: module(.stub), what is missing, where to add it."""
    inv = inv or inventory(layout)
    problems = list(inv.problems)
    for name, m in inv.modules.items():
        solution = layout.rel(layout.solutions / f"{name}.py")
        checks = layout.rel(m.checks_file)
        variants = layout.rel(layout.variants_file(name))
        curriculum = layout.rel(layout.curriculum)
        if m.solution_defs is None:
            problems.append(f"{name}: no reference solution (write {solution})")
        if not m.checks_file.exists():
            problems.append(f"{name}: no checks file (write {checks})")
        if m.variants is None:
            problems.append(f"{name}: no variants file (write {variants} with WRONG and RIGHT lists)")
        else:
            for kind in ("WRONG", "RIGHT"):
                if kind not in m.variants:
                    problems.append(f"{name}: {variants} has no {kind} list")
        if not m.stubs:
            problems.append(f"{name}: the curriculum lists no stub for it (add [[module.stub]] to {curriculum})")
        for stub in sorted(m.unknown_check_stubs):
            problems.append(f"{name}.{stub}: {checks} registers checks for a stub the curriculum lacks")
        for stub in sorted(m.unknown_variant_stubs):
            problems.append(f"{name}.{stub}: {variants} has variants of a stub the curriculum lacks")
        for s in m.stubs.values():
            where = f"{name}.{s.name}"
            if m.solution_defs is not None and s.name not in m.solution_defs:
                problems.append(f"{where}: not defined at the top level of {solution}")
            if m.checks_file.exists() and not s.checks:
                problems.append(f'{where}: no check (add @check("{s.name}", ...) to {checks})')
            if m.variants is not None:
                if not s.wrong:
                    problems.append(f'{where}: no wrong variant (add Variant("{s.name}", ...) to WRONG in {variants})')
                if not s.right:
                    problems.append(f'{where}: no right variant (add Variant("{s.name}", ...) to RIGHT in {variants})')
            if not 2 <= len(s.hints) <= 4:
                problems.append(
                    f"{where}: {len(s.hints)} hint(s), 2 to 4 wanted, from the idea to the shape of the code "
                    f"(hints = [...] in its [[module.stub]] in {curriculum})"
                )
            if s.points is None:
                problems.append(f"{where}: no points (give it points in {curriculum})")
    try:
        stale = release(layout.solutions, layout.exercises, check=True)
    except ReleaseError as exc:
        problems.append(f"exercises: cannot be made from solutions/: {exc}")
    else:
        for filename in stale:
            problems.append(
                f"{Path(filename).stem}: {layout.rel(layout.exercises / filename)} is out of date "
                "with solutions/ (run `divekit release`)"
            )
    return problems


# -- the dynamic check ------------------------------------------------------------------


def graded_problems(layout: Layout, options, only=None, echo=print) -> list[str]:
    """Grade every solution (full marks expected) and every shipped stub (0 expected),
    as ``divekit verify`` does."""
    from .grading import grade
    from .reference import REPO

    if layout.root.resolve() != REPO.resolve():
        return [f"grading: {layout.root} is not the tree this autograder was imported from ({REPO}); use --static"]
    problems = []
    for folder, want_full in ((layout.solutions, True), (layout.exercises, False)):
        start = time.monotonic()
        report = grade(str(folder), list(only) if only else None, options)
        for stub, (got, total) in report.by_stub().items():
            if want_full and got < total - 1e-9:
                failing = [t for t in report.tests if t.stub == stub and t.status != "passed"]
                problems.append(f"{stub}: the solution scores {got:g}/{total:g}: {failing[0].output[:300]}")
            if not want_full and got > 0:
                problems.append(f"{stub}: the shipped stub in exercises/ scores {got:g}, not 0")
        echo(f"{folder.name}: {report.score:g}/{report.max_score:g} in {time.monotonic() - start:.1f} s")
    return problems
