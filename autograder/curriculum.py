"""The curriculum (modules and stubs, in order, with their points) and the rubric in force.

Everything the grader knows about a stub lives in one record of ``course/curriculum.toml``:
its signature, points, forbidden routines and graded hints. An instructor's ``--rubric FILE`` is
only an override of the points and the policy. Both files are read strictly
(:mod:`autograder.tomlschema`). ``$DIVEKIT_COURSE`` (or the ``course`` argument) points at
another curriculum file, so that a test can add a throw-away module.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .static import syntax_tree
from .tomlschema import NO_DEFAULT, Key, SchemaError, Table, Tables, load

HERE = Path(__file__).resolve().parent
DEFAULT_COURSE = HERE / "course" / "curriculum.toml"
COURSE_ENV = "DIVEKIT_COURSE"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def _policy(defaults: bool) -> Table:
    """The [policy] table; an override leaves out what it does not change, so no defaults there."""

    def key(type_: type, default, doc: str, **kw) -> Key:
        return Key(type_, doc, default=default if defaults else NO_DEFAULT, **kw)

    return Table(
        {
            "default_points": key(float, 1.0, "points of a stub that names none", minimum=0),
            "from_scratch_share": key(
                float,
                0.5,
                "share of a from-scratch stub's points for not calling the forbidden routine",
                minimum=0,
                maximum=1,
            ),
            "visibility": key(str, "visible", "test visibility in Gradescope's results.json", choices=VISIBILITIES),
        },
        doc="grading policy",
    )


STUB_SCHEMA = Table(
    {
        "name": Key(str, "the stub's name in its module", required=True),
        "points": Key(float, "its share of the grade; missing: [policy] default_points", minimum=0),
        "signature": Key(str, "exactly as the contract writes it; missing: read from the reference solution"),
        "kind": Key(
            str, "a function or class, or a module-level value", default="callable", choices=("callable", "value")
        ),
        "hints": Key(
            list,
            "graded hints, from the book's idea to the shape of the code (never the answer): "
            "`divekit hint STUB` reveals one more each time",
            default=[],
            items=str,
        ),
        "forbidden": Key(list, "library routines a from-scratch stub must not call", default=[], items=str),
    }
)
MODULE_SCHEMA = Table(
    {
        "name": Key(str, "the module, also the file name students hand in", required=True),
        "task": Key(str, "the task it belongs to (`--only 'Task 1'`)", required=True),
        "title": Key(str, "what the module is about", required=True),
        "book": Key(str, "the sections of the book it follows", default=""),
        "stub": Tables(STUB_SCHEMA, "the stubs, in the order students meet them", required=True),
    }
)
CURRICULUM_SCHEMA = Table(
    {
        "solutions": Key(str, "where signatures left out are read from, relative to this file; default: the repo's"),
        "policy": _policy(defaults=True),
        "module": Tables(MODULE_SCHEMA, "the modules, in order", required=True),
    }
)
RUBRIC_SCHEMA = Table(
    {
        "policy": _policy(defaults=False),
        "points": Table(values=Key(float, "points of the stub <module>.<name>", minimum=0)),
    }
)


@dataclass(frozen=True)
class Stub:
    module: str
    name: str
    signature: str | None
    kind: str = "callable"  # "callable" (function or class) or "value"
    hints: tuple[str, ...] = ()  # graded: the idea first, the shape of the code last
    forbidden: tuple[str, ...] = ()
    points: float | None = None  # None: the rubric's default_points

    @property
    def id(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class Module:
    name: str
    task: str
    title: str
    book: str
    stubs: tuple[Stub, ...] = field(default=())

    @property
    def filename(self) -> str:
        return f"{self.name}.py"


@dataclass(frozen=True)
class Course:
    """One curriculum file, read: its modules and its own policy."""

    path: Path
    modules: tuple[Module, ...]
    policy: Mapping[str, object]


def course_file(course: str | Path | None = None) -> Path:
    """The curriculum file in use: ``course``, else ``$DIVEKIT_COURSE``, else the packaged one."""
    chosen = course or os.environ.get(COURSE_ENV, "").strip() or DEFAULT_COURSE
    return Path(chosen).expanduser().resolve()


def derived_signature(solution: Path, name: str) -> str | None:
    """The parameter list of ``name`` as the reference solution defines it (a class: its __init__ less self)."""
    try:
        tree = syntax_tree(solution.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return f"({ast.unparse(node.args)})"
        if isinstance(node, ast.ClassDef) and node.name == name:
            init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            if init is None:
                return "()"
            args = init.args
            args.posonlyargs, args.args = (args.posonlyargs[1:], args.args) if args.posonlyargs else ([], args.args[1:])
            return f"({ast.unparse(args)})"
    return None


@cache
def _read(path: Path) -> Course:
    data = load(path, CURRICULUM_SCHEMA)
    solutions = (path.parent / data["solutions"]) if "solutions" in data else HERE.parent / "solutions"
    seen: set[str] = set()
    result = []
    for m in data["module"]:
        if m["name"] in seen:
            raise SchemaError(f"{path}: the module {m['name']!r} appears twice")
        seen.add(m["name"])
        stubs = []
        for s in m["stub"]:
            signature = s.get("signature")
            if signature is None and s["kind"] == "callable":
                signature = derived_signature(solutions / f"{m['name']}.py", s["name"])
                if signature is None:
                    raise SchemaError(
                        f"{path}: [[module.stub]] {s['name']!r} of module {m['name']!r} gives no signature, and "
                        f"{solutions / (m['name'] + '.py')} does not define {s['name']} to read it from"
                    )
            stubs.append(
                Stub(
                    m["name"],
                    s["name"],
                    signature,
                    s["kind"],
                    tuple(s["hints"]),
                    tuple(s["forbidden"]),
                    s.get("points"),
                )
            )
        if len({s.name for s in stubs}) != len(stubs):
            raise SchemaError(f"{path}: module {m['name']!r} names a stub twice")
        result.append(Module(m["name"], m["task"], m["title"], m["book"], tuple(stubs)))
    return Course(path, tuple(result), data["policy"])


def modules(course: str | Path | None = None) -> tuple[Module, ...]:
    return _read(course_file(course)).modules


def module(name: str, course: str | Path | None = None) -> Module:
    for m in modules(course):
        if m.name == name:
            return m
    raise KeyError(name)


def all_stubs(course: str | Path | None = None) -> list[Stub]:
    return [s for m in modules(course) for s in m.stubs]


def select(names: list[str] | tuple[str, ...] | None, course: str | Path | None = None) -> dict[str, list[Stub]]:
    """Resolve ``--only`` names (modules, stub ids, or task names) to stubs per module.

    Raises ``KeyError`` naming what matched nothing.
    """
    chosen: dict[str, list[Stub]] = {}
    if not names:
        return {m.name: list(m.stubs) for m in modules(course)}
    for name in names:
        hits = [
            s
            for s in all_stubs(course)
            if name in (s.module, s.id)
            or name.lower().replace(" ", "") == module(s.module, course).task.lower().replace(" ", "")
        ]
        if not hits:
            raise KeyError(name)
        for s in hits:
            bucket = chosen.setdefault(s.module, [])
            if s not in bucket:
                bucket.append(s)
    order = [m.name for m in modules(course)]
    return {
        k: sorted(v, key=lambda s: list(module(k, course).stubs).index(s))
        for k, v in sorted(chosen.items(), key=lambda kv: order.index(kv[0]))
    }


@dataclass(frozen=True)
class Rubric:
    """The points and policy in force: the curriculum's, with an instructor's override applied."""

    points: Mapping[str, float]  # every stub that names its points, by id
    default_points: float = 1.0
    from_scratch_share: float = 0.5
    visibility: str = "visible"
    override: str | None = None  # the --rubric file applied, if any

    def stub_points(self, stub_id: str) -> float:
        return float(self.points.get(stub_id, self.default_points))


def load_rubric(path: str | Path | None = None, course: str | Path | None = None) -> Rubric:
    """The curriculum's points and policy, overridden by the rubric file ``path`` if given.

    Raises ``ValueError`` (a :class:`SchemaError`) for a file that does not follow the schema
    or names stubs that do not exist.
    """
    read = _read(course_file(course))
    points = {s.id: float(s.points) for m in read.modules for s in m.stubs if s.points is not None}
    policy = dict(read.policy)
    if path is not None:
        override = load(path, RUBRIC_SCHEMA)
        unknown = sorted(set(override["points"]) - {s.id for m in read.modules for s in m.stubs})
        if unknown:
            raise SchemaError(f"the rubric {path} names stubs that do not exist: {', '.join(unknown)}")
        points.update(override["points"])
        policy.update(override["policy"])
    return Rubric(
        points=points,
        default_points=float(policy["default_points"]),
        from_scratch_share=float(policy["from_scratch_share"]),
        visibility=str(policy["visibility"]),
        override=str(path) if path is not None else None,
    )
