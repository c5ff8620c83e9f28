"""``divekit nbgrader export COURSE``: an nbgrader course generated from ``solutions/``.

It writes ``COURSE/nbgrader_config.py``, ``COURSE/divekit.json`` (how each assignment is
graded, read by both autograde routes) and ``COURSE/source/<assignment>/<module>.ipynb``,
one notebook per module, cut from ``solutions/<module>.py`` along its top-level
definitions:

- the module docstring (the task text) as a markdown cell;
- code that is not a stub (imports, helpers) as *read-only* cells (``locked``);
- before each stub, a markdown cell naming it, its signature and its points; then the stub
  as an *autograded answer* cell (``solution: true``, ``grade_id`` = the stub's name), its
  ``### BEGIN SOLUTION`` markers left as they are (they are nbgrader's own: ``nbgrader
  generate_assignment`` replaces them with ``raise NotImplementedError()``, exactly what
  ``divekit release`` writes);
- after it, an *autograder tests* cell (``grade: true``, ``locked: true``, ``grade_id`` =
  ``test_<stub>``, ``points`` from the curriculum) whose value is the points the stub earns
  (:mod:`.in_kernel`), so that nbgrader records partial credit.

Every cell carries schema-3 ``nbgrader`` metadata. A module whose solution uses divekit's
``### BEGIN STUB`` extension (the quiz: a stub that is not ``raise NotImplementedError()``)
cannot be written as an nbgrader answer cell, and is left out with a note.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import curriculum
from ..curriculum import Module
from ..reference import DEFAULT_SOLUTIONS
from ..release import BEGIN, END, MARKER, STUB_BEGIN
from ..static import syntax_tree

COURSE_FILE = "divekit.json"  # per assignment: its modules and its grading options
SCHEMA_VERSION = 3
DEFAULT_GRADING = {"training": False, "examples": 25, "sandbox": "auto"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

CONFIG = """\
# Written by `divekit nbgrader export`; nbgrader reads it from this folder (the course root).
c = get_config()  # noqa: F821 - defined by nbgrader when it loads this file

c.CourseDirectory.course_id = {course_id!r}
# The first test cell of a notebook grades the whole notebook with divekit (once; the other
# test cells reuse that report), which takes longer than nbgrader's default 30 s per cell.
c.Execute.timeout = {timeout}
# What `nbgrader generate_assignment` puts in place of a solution: the same as `divekit release`.
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
"""


class ExportError(Exception):
    """The course cannot be written (a name that is not usable, a module that cannot be a notebook)."""


@dataclass
class Exported:
    course: Path
    assignment: str
    notebooks: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _meta(**kw) -> dict:
    base = {"grade": False, "solution": False, "locked": False, "schema_version": SCHEMA_VERSION}
    return {"nbgrader": {**base, **kw}}


def _cell(kind: str, source: str, **nbgrader) -> dict:
    import nbformat.v4 as v4

    make = v4.new_markdown_cell if kind == "markdown" else v4.new_code_cell
    cell = make(source.strip("\n"))
    if nbgrader:
        cell.metadata.update(_meta(cell_type=kind, **nbgrader))
        if nbgrader.get("locked"):
            # Jupyter's own flags, so that the notebook's editor refuses edits too.
            cell.metadata.update({"deletable": False, "editable": False})
    return cell


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def test_cell_source(stub: curriculum.Stub, points: float, notebook: str, grading: dict) -> str:
    """The code of a test cell: its last line's value is the points earned."""
    return (
        f"# divekit's checks of {stub.id} ({_points(points)}). This cell is locked, and nbgrader\n"
        "# restores it before grading; its value is the points earned (partial credit).\n"
        "from autograder.notebooks.in_kernel import stub_score\n\n"
        f"stub_score({stub.id!r}, {float(points)!r}, notebook={notebook!r}, grading={grading!r})"
    )


def _segments(text: str, name: str) -> tuple[str, list[tuple[str | None, str]]]:
    """The module docstring, and (top-level name or None, source) per top-level statement,
    each with the comments and blank lines above it."""
    try:
        tree = syntax_tree(text)
    except SyntaxError as exc:
        raise ExportError(f"{name}: the solution does not parse ({exc})") from None
    lines = text.splitlines()
    body = tree.body
    doc = ast.get_docstring(tree, clean=True) or ""
    start = 0
    if doc and body:
        start, body = body[0].end_lineno or 0, body[1:]
    # Each statement runs from its first line (its decorators, and the comments right above
    # it) to the next one's: so a solution's closing marker, a comment after the last
    # statement of a function, stays with that function.
    cuts = []
    for node in body:
        first = (node.decorator_list[0] if getattr(node, "decorator_list", None) else node).lineno - 1
        while first > start and lines[first - 1].startswith("#") and not MARKER.match(lines[first - 1]):
            first -= 1
        cuts.append(first)
    out: list[tuple[str | None, str]] = []
    if cuts and cuts[0] > start:
        out.append((None, "\n".join(lines[start : cuts[0]])))
    for i, node in enumerate(body):
        end = cuts[i + 1] if i + 1 < len(body) else len(lines)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined = node.name
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined = next((t.id for t in targets if isinstance(t, ast.Name)), None)
        else:
            defined = None
        out.append((defined, "\n".join(lines[cuts[i] : end])))
    return doc, out


def _balanced(source: str) -> bool:
    return source.count(BEGIN) == source.count(END)


def module_notebook(module: Module, solution: Path, grading: dict, rubric: curriculum.Rubric) -> dict:
    """The source notebook of ``module`` (an nbformat NotebookNode)."""
    import nbformat.v4 as v4

    text = solution.read_text(encoding="utf-8")
    if STUB_BEGIN in text:
        raise ExportError(
            f"{module.name}: its solution uses divekit's '{STUB_BEGIN}' extension, which nbgrader's "
            "answer cells cannot express (nbgrader always writes raise NotImplementedError())"
        )
    doc, segments = _segments(text, solution.name)
    stubs = {s.name: s for s in module.stubs}
    notebook = f"{module.name}.ipynb"
    cells = [_cell("markdown", f"# {module.title}\n\n{module.task}" + (f", book {module.book}" if module.book else ""))]
    if doc:
        cells.append(_cell("markdown", doc))
    pending: list[str] = []
    setups = 0

    def flush() -> None:
        nonlocal setups
        code = "\n".join(pending).strip("\n")
        pending.clear()
        if code:
            setups += 1
            if not _balanced(code) or BEGIN in code:
                raise ExportError(f"{module.name}: a solution block outside any stub ({code.splitlines()[0]!r})")
            cells.append(_cell("code", code, locked=True, grade_id=f"setup_{setups}"))

    for defined, source in segments:
        stub = stubs.pop(defined, None) if defined else None
        if stub is None:
            pending.append(source)
            continue
        flush()
        if not _balanced(source):
            raise ExportError(f"{module.name}.{stub.name}: its BEGIN/END SOLUTION markers do not pair up")
        points = rubric.stub_points(stub.id)
        shown = f"`{stub.name}{stub.signature}`" if stub.signature else f"`{stub.name}`"
        cells.append(_cell("markdown", f"## {shown} ({_points(points)})"))
        cells.append(_cell("code", source, solution=True, grade_id=stub.name))
        cells.append(
            _cell("code", test_cell_source(stub, points, notebook, grading), grade=True, locked=True, points=points)
        )
        cells[-1].metadata["nbgrader"]["grade_id"] = f"test_{stub.name}"
    flush()
    if stubs:
        raise ExportError(f"{module.name}: {solution.name} does not define {', '.join(sorted(stubs))} at top level")
    nb = v4.new_notebook(cells=cells)
    nb.metadata.update(
        {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        }
    )
    return nb


def export(
    course: Path,
    assignment: str = "divekit",
    only: list[str] | None = None,
    grading: dict | None = None,
    course_id: str = "divekit",
    solutions: Path = DEFAULT_SOLUTIONS,
) -> Exported:
    """Write (or rewrite) ``assignment`` of the course in ``course``; returns what it wrote."""
    import nbformat

    from ..batch import deadline_for
    from ..config import GradingConfig

    for what, value in (("assignment", assignment), ("course id", course_id)):
        if not _NAME.match(value):
            raise ExportError(f"the {what} {value!r} must be letters, digits, '_', '-' or '.'")
    grading = {**DEFAULT_GRADING, **(grading or {})}
    try:
        chosen = curriculum.select(only)
    except KeyError as exc:
        raise ExportError(f"{exc.args[0]!r} names no module, stub or task (see `divekit list`)") from None
    rubric = curriculum.load_rubric()
    result = Exported(Path(course), assignment)
    folder = result.course / "source" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    modules = []
    for name in chosen:
        module = curriculum.module(name)
        try:
            nb = module_notebook(module, solutions / module.filename, grading, rubric)
        except ExportError as exc:
            if only:
                raise
            result.notes.append(f"left out {exc}")
            continue
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        result.notebooks.append(path)
        modules.append(name)
    if not modules:
        raise ExportError("no module could be written as a notebook")
    timeout = int(deadline_for(GradingConfig(training=bool(grading["training"])), modules[:1]))
    config = result.course / "nbgrader_config.py"
    config.write_text(CONFIG.format(course_id=course_id, timeout=timeout), encoding="utf-8")
    record = result.course / COURSE_FILE
    data = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    data["course_id"] = course_id
    data.setdefault("assignments", {})[assignment] = {"modules": modules, "grading": grading}
    record.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return result


def assignment_settings(course: Path, assignment: str) -> dict:
    """What ``export`` recorded for ``assignment``: ``{"modules": [...], "grading": {...}}``."""
    record = Path(course) / COURSE_FILE
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        return data["assignments"][assignment]
    except (OSError, ValueError):
        raise ExportError(f"{record} is missing or unreadable: run `divekit nbgrader export` first") from None
    except KeyError:
        raise ExportError(f"{record} has no assignment {assignment!r} (run `divekit nbgrader export`)") from None


def course_id_of(course: Path) -> str:
    """The nbgrader course id ``export`` wrote into the course's configuration."""
    record = Path(course) / COURSE_FILE
    try:
        return str(json.loads(record.read_text(encoding="utf-8")).get("course_id", "divekit"))
    except (OSError, ValueError):
        raise ExportError(f"{record} is missing or unreadable: run `divekit nbgrader export` first") from None
