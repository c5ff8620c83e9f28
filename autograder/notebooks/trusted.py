"""``divekit nbgrader autograde ASSIGNMENT``: nbgrader's submissions graded in divekit's
sandbox, the scores and comments written into nbgrader's own gradebook.

nbgrader's ``autograde`` runs the test cells in the student's kernel, after the student's
cells, so a notebook can change what they report (one once hid its failures by replacing
IPython's ``showtraceback``). Here no student code runs in this process or in a kernel:

1. each ``submitted/<student>/<assignment>/<notebook>.ipynb`` is sanitized with nbgrader's
   own preprocessors, as ``nbgrader autograde`` does before it executes anything
   (``ClearOutput``, ``DeduplicateIds``, ``OverwriteCells``: read-only and test cells put
   back from the gradebook; ``CheckCellMetadata``);
2. the sanitized notebooks, one folder per student, are graded by ``grade-all``'s machinery
   (:func:`autograder.batch.grade_all`: a judge process per student, the student's code
   only in the sandboxed workers, a JSON per student in ``COURSE/divekit/<assignment>/``,
   resumable), with the grading options ``export`` recorded;
3. every test cell's ``Grade.auto_score`` (the same share of its points that the test
   cell itself computes, :mod:`.stub_results`) and every answer cell's
   ``Comment.auto_comment`` (what each check found) is written through
   ``nbgrader.api.Gradebook`` into ``COURSE/gradebook.db``;
4. the sanitized notebook, its test cells showing divekit's feedback, is written to
   ``autograded/<student>/<assignment>/``, where ``nbgrader generate_feedback`` and the
   formgrader read it.

A grader fault (not the student's) scores nobody: its cells get no score and are marked for
manual grading, with the reason as the comment.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import GradingConfig
from .export import ExportError, assignment_settings, course_id_of
from .stub_results import cell_points, feedback

RESULTS = "divekit"  # COURSE/divekit/<assignment>/<student>.json and grades.csv


@dataclass
class StudentGrade:
    student: str
    status: str  # as grade-all says: "graded", "unusable" or "error"
    score: float | None  # what the gradebook now holds for the assignment (None: not scored)
    max_score: float
    notes: list[str] = field(default_factory=list)


def _sanitized(path: Path, assignment: str, db_url: str):
    """The submitted notebook at ``path`` as ``nbgrader autograde`` sanitizes it."""
    import nbformat
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells

    nb = nbformat.read(str(path), as_version=4)
    resources = {"nbgrader": {"notebook": path.stem, "assignment": assignment, "db_url": db_url}}
    for step in (ClearOutput(), DeduplicateIds(), OverwriteCells(), CheckCellMetadata()):
        nb, resources = step.preprocess(nb, resources)
    return nb


def _with_feedback(nb, results: dict | None, module: str, hints: dict[str, str], reason: str):
    """``nb`` with each divekit test cell's output set to what its checks found."""
    import nbformat.v4 as v4

    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        stub = f"{module}.{str(meta.get('grade_id', '')).removeprefix('test_')}"
        text = feedback(results, stub, hints.get(stub, "")) if results is not None else reason
        cell.outputs = [v4.new_output("stream", name="stdout", text=text + "\n")]
    return nb


def autograde(
    course: Path,
    assignment: str,
    config: GradingConfig,
    *,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[StudentGrade]:
    """Grade every student's ``submitted/<student>/<assignment>/`` and write the gradebook."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import parse_utc

    from .. import hints as graded_hints
    from ..batch import discover, grade_all

    course = Path(course).resolve()
    settings = assignment_settings(course, assignment)
    modules: list[str] = list(settings["modules"])
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    course_id = course_id_of(course)
    if not (course / "gradebook.db").exists():
        raise ExportError(f"{course / 'gradebook.db'} does not exist: run `nbgrader generate_assignment {assignment}`")
    with Gradebook(db_url, course_id) as gb:
        try:
            notebooks = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        except MissingEntry:
            raise ExportError(
                f"the gradebook has no assignment {assignment!r}: run `nbgrader generate_assignment {assignment}` first"
            ) from None
    submitted = course / "submitted"
    students = (
        sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir() and not p.name.startswith("."))
        if submitted.is_dir()
        else []
    )
    hints = graded_hints.for_report(graded_hints.language())  # no student state: each stub's first hint
    out_dir = course / RESULTS / assignment
    grades: list[StudentGrade] = []
    with tempfile.TemporaryDirectory(prefix="divekit-nbgrader-") as scratch:
        staging = Path(scratch)
        sanitized: dict[str, dict[str, object]] = {}
        notes: dict[str, list[str]] = {}
        for student in students:
            (staging / student).mkdir()
            sanitized[student], notes[student] = {}, []
            for name in notebooks:
                path = submitted / student / assignment / f"{name}.ipynb"
                if not path.is_file():
                    notes[student].append(f"{name}.ipynb: no submitted file (0 points, as nbgrader gives)")
                    continue
                try:
                    nb = _sanitized(path, assignment, db_url)
                except Exception as exc:  # noqa: BLE001 - an unreadable notebook costs its own points
                    notes[student].append(f"{name}.ipynb could not be read as nbgrader reads it: {exc}")
                    continue
                nbformat.write(nb, str(staging / student / f"{name}.ipynb"))
                sanitized[student][name] = nb
        only = [m for m in modules if m in notebooks] or modules
        rows = {r.name: r for r in grade_all(staging, out_dir, config, only=only, jobs=jobs)} if students else {}
        named = {path.name: name for name, path in discover(staging)}  # grade-all's file name per student
        with Gradebook(db_url, course_id) as gb:
            for student in students:
                row = rows.get(named.get(student, ""))
                data = json.loads((out_dir / f"{row.name}.json").read_text(encoding="utf-8")) if row else None
                status = row.status if row else "error"
                reason = row.reason if row else "not graded (a student id that is not a usable file name)"
                results = data if status in ("graded", "unusable") else None
                gb.update_or_create_student(student)
                timestamp_file = submitted / student / assignment / "timestamp.txt"
                stamp = timestamp_file.read_text(encoding="utf-8").strip() if timestamp_file.is_file() else ""
                if stamp:
                    gb.update_or_create_submission(assignment, student, timestamp=parse_utc(stamp))
                else:
                    gb.update_or_create_submission(assignment, student)
                total, most = 0.0, 0.0
                for name in notebooks:
                    nb_row = gb.find_notebook(name, assignment)
                    present = name in sanitized[student]
                    for cell in nb_row.grade_cells:
                        grade = gb.find_grade(cell.name, name, assignment, student)
                        stub = f"{name}.{cell.name.removeprefix('test_')}"
                        if results is None and present:
                            grade.auto_score = None  # the grader's fault: no score, not even 0
                            grade.needs_manual_grade = True
                        else:
                            grade.auto_score = cell_points(results or {}, stub, cell.max_score) if present else 0.0
                            grade.needs_manual_grade = grade.manual_score is not None
                            total += grade.auto_score
                        most += cell.max_score
                    for cell in nb_row.solution_cells:
                        comment = gb.find_comment(cell.name, name, assignment, student)
                        stub = f"{name}.{cell.name}"
                        if not present:
                            comment.auto_comment = "No submitted file."
                        elif results is None:
                            comment.auto_comment = f"Not graded, a fault of the grader: {reason}"
                        else:
                            comment.auto_comment = feedback(results, stub, hints.get(stub, ""))
                gb.db.commit()
                _write_autograded(course, student, assignment, sanitized[student], results, hints, reason)
                grade_row = StudentGrade(student, status, total if results is not None else None, most, notes[student])
                if reason and status != "graded":
                    grade_row.notes.append(reason)
                grades.append(grade_row)
                if progress:
                    progress(f"{student}: {status} {_show(grade_row.score)}/{most:g}")
    return grades


def _show(score: float | None) -> str:
    from ..points import show

    return "not scored" if score is None else show(score)


def _write_autograded(course, student, assignment, notebooks, results, hints, reason) -> None:
    """autograded/<student>/<assignment>/: the sanitized notebooks with divekit's feedback,
    and the submission's other files (its timestamp), as ``nbgrader autograde`` leaves them."""
    import nbformat

    folder = course / "autograded" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    source = course / "submitted" / student / assignment
    for extra in sorted(source.iterdir()):
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copyfile(extra, folder / extra.name)
    for name, nb in notebooks.items():
        shown = _with_feedback(nb, results, name, hints, f"Not graded, a fault of the grader: {reason}")
        nbformat.write(shown, str(folder / f"{name}.ipynb"))
