"""divekit as a real nbgrader course, end to end: the commands of docs/instructors.md's
nbgrader section, run as they are written, on a fresh course folder, with nbgrader's own
generate_assignment, validate, autograde, generate_feedback and export, and both autograde
routes compared."""

from __future__ import annotations

import csv
import json
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import batch, curriculum, intake, leaks

from .nbgrader_env import nbgrader_env
from .variants import linear_regression as variants

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (CI), or beside the worktrees' folder.
SHARED_LEAKSCANS = [
    p
    for p in (REPO.parent / "shared" / "tools" / "leakscan.py", REPO.parents[1] / "shared" / "tools" / "leakscan.py")
    if p.exists()
][:1]
MODULE = "linear_regression"
ASSIGNMENT = "ps1"
# What the test adds to the documented export: fewer hypothesis draws, to keep it cheap.
EXPORT_EXTRA = ["--examples", "5"]

# A student who patches the kernel: hides tracebacks, makes every test cell report full
# marks, and leaves a fake result where the trusted route keeps its own. Wrapped in
# try/except, so that it costs nothing where the patches do not apply (in the sandbox).
HOSTILE = """
try:
    import IPython.core.interactiveshell as _shell

    _shell.InteractiveShell.showtraceback = lambda *args, **kwargs: None
    import autograder.notebooks.in_kernel as _kernel

    _kernel.stub_score = lambda stub, points, **kwargs: float(points)
except Exception:
    pass
try:
    import json as _json
    import pathlib as _pathlib

    _fake = _pathlib.Path("../../../divekit/ps1")  # from autograded/mallory/ps1: the course's results
    _fake.mkdir(parents=True, exist_ok=True)
    (_fake / "mallory.json").write_text(_json.dumps({"score": 9.0, "extra_data": {"status": "graded"}}))
except Exception:
    pass
"""


def _documented_commands() -> list[str]:
    text = (REPO / "docs" / "instructors.md").read_text(encoding="utf-8")
    section = text.split("## nbgrader\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _run(line: str, cwd: Path) -> subprocess.CompletedProcess:
    words = shlex.split(line)
    tool, args = words[0], words[1:]
    prefix = {"divekit": [sys.executable, "-m", "autograder.cli"], "nbgrader": [sys.executable, "-m", "nbgrader"]}
    if tool == "divekit" and args[:2] == ["nbgrader", "export"]:
        args += EXPORT_EXTRA
    done = subprocess.run(prefix[tool] + args, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{line} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _cell(nb, grade_id: str) -> str:
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _answer(source_nb, stub: str) -> str:
    """The stub's code as the solution writes it, less nbgrader's markers."""
    return "\n".join(ln for ln in _cell(source_nb, stub).splitlines() if "### BEGIN" not in ln and "### END" not in ln)


def _variant(stub: str, name: str) -> str:
    return next(v.code for v in variants.WRONG + variants.RIGHT if (v.stub, v.name) == (stub, name)).strip("\n")


def _hand_in(course: Path) -> dict[str, dict[str, str]]:
    """submitted/<student>/ps1/linear_regression.ipynb for four students, from the release
    notebook; returns each student's code per stub (absent: left as the stub)."""
    release = nbformat.read(str(course / "release" / ASSIGNMENT / f"{MODULE}.ipynb"), as_version=4)
    source = nbformat.read(str(course / "source" / ASSIGNMENT / f"{MODULE}.ipynb"), as_version=4)
    stubs = [s.name for s in curriculum.module(MODULE).stubs]
    students = {
        "ada": {s: _answer(source, s) for s in stubs},  # the reference
        "bo": {},  # handed in the stubs
        "cy": {  # partly wrong: unshuffled batches, the half forgotten; a different right linreg
            **{s: _answer(source, s) for s in stubs},
            "data_iter": _variant("data_iter", "no shuffling"),
            "squared_loss": _variant("squared_loss", "forgot the half"),
            "linreg": _variant("linreg", "mm and broadcasting"),
        },
        # right synthetic_data; the patches above the linreg stub
        "mallory": {
            "synthetic_data": _answer(source, "synthetic_data"),
            "linreg": HOSTILE + "\n" + _cell(release, "linreg"),
        },
    }
    for student, answers in students.items():
        nb = nbformat.from_dict(json.loads(json.dumps(release)))
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id]
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{MODULE}.ipynb"))
        (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC\n")
    return students


def _cell_scores(course: Path) -> dict[str, dict[str, float]]:
    """Every student's score per test cell, read from the real gradebook.db through nbgrader's API."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "divekit") as gb:
        for student in gb.students:
            notebook = gb.find_submission_notebook(MODULE, ASSIGNMENT, student.id)
            out[student.id] = {grade.name: grade.score for grade in notebook.grades}
    return out


def _grades_csv(course: Path) -> dict[str, float]:
    rows = csv.DictReader(open(course / "grades.csv", encoding="utf-8"))
    return {r["student_id"]: float(r["raw_score"]) for r in rows if r["assignment"] == ASSIGNMENT}


@pytest.mark.slow
def test_an_exported_course_runs_through_nbgrader_and_both_routes_agree(tmp_path):
    commands = _documented_commands()
    assert commands[0].startswith("divekit nbgrader export course") and commands[1] == "cd course"
    cwd, course = tmp_path, tmp_path / "course"
    points = {s.name: curriculum.load_rubric().stub_points(s.id) for s in curriculum.module(MODULE).stubs}
    full = sum(points.values())
    students: dict[str, dict[str, str]] = {}
    outputs: dict[str, str] = {}
    for line in commands:
        if line.startswith("cd "):
            cwd = cwd / line.split()[1]
            continue
        if line == "nbgrader autograde ps1":
            students = _hand_in(course)
        if line.startswith("divekit nbgrader autograde"):
            # nbgrader's route, as nbgrader's own export reports it, before the trusted route replaces it.
            _run("nbgrader export", cwd)
            outputs["nbgrader scores"] = (course / "grades.csv").read_text(encoding="utf-8")
            nbgrader_route = _grades_csv(course)
            nbgrader_cells = _cell_scores(course)
        outputs[line] = _run(line, cwd).stdout

        if line == "nbgrader generate_assignment ps1":
            release = course / "release" / ASSIGNMENT
            assert leaks.scan(REPO / "solutions", release) == [], "solution code in release/"
            for shared_scan in SHARED_LEAKSCANS:  # the shared whole-file scanner, where shared/ is
                scan = subprocess.run(
                    [sys.executable, str(shared_scan), str(REPO / "solutions"), str(release)],
                    capture_output=True,
                    text=True,
                )
                assert scan.returncode == 0, scan.stdout + scan.stderr

    release_check = outputs[f"nbgrader validate release/{ASSIGNMENT}/{MODULE}.ipynb"]
    assert f"VALIDATION FAILED ON {len(points)} CELL(S)" in release_check, release_check[-2000:]
    source_check = outputs[f"nbgrader validate source/{ASSIGNMENT}/{MODULE}.ipynb"]
    assert "Success! Your notebook passes all the tests." in source_check, source_check[-2000:]

    # The trusted route: divekit's own results, the gradebook and grades.csv all say the same.
    trusted = _grades_csv(course)
    trusted_cells = _cell_scores(course)
    results = {s: json.loads((course / "divekit" / ASSIGNMENT / f"{s}.json").read_text()) for s in students}
    for student, data in results.items():
        assert data["extra_data"]["status"] == "graded", data
        assert trusted[student] == pytest.approx(data["score"], abs=1e-5), (student, trusted[student], data["score"])
    assert trusted["ada"] == pytest.approx(full) and trusted["bo"] == 0
    cy = trusted_cells["cy"]
    assert cy["test_synthetic_data"] == points["synthetic_data"] and cy["test_linreg"] == points["linreg"]
    assert 0 < cy["test_data_iter"] < points["data_iter"], "unshuffled batches earn partial credit"
    assert cy["test_squared_loss"] < points["squared_loss"]
    # The hostile notebook: its one right stub only, on the trusted route; nbgrader's route,
    # run in its kernel, was fooled (which is why it is not the grade to rely on).
    assert trusted_cells["mallory"]["test_synthetic_data"] == points["synthetic_data"]
    assert trusted["mallory"] == pytest.approx(points["synthetic_data"])
    # Every test cell run after the patching cell (the linreg answer) reported full marks.
    fooled = {f"test_{s}": points[s] for s in ("linreg", "squared_loss", "sgd")}
    assert {c: nbgrader_cells["mallory"][c] for c in fooled} == fooled
    assert nbgrader_route["mallory"] > trusted["mallory"]

    # The honest students: both routes agree, cell by cell.
    for student in ("ada", "bo", "cy"):
        assert nbgrader_cells[student] == pytest.approx(trusted_cells[student], abs=1e-6), student
        assert nbgrader_route[student] == pytest.approx(trusted[student], abs=1e-5), student

    # The feedback shows divekit's findings and the gradebook's scores.
    page = (course / "feedback" / "cy" / ASSIGNMENT / f"{MODULE}.html").read_text(encoding="utf-8")
    assert "shuffles, reproducibly with its generator" in page and "[FAIL]" in page
    autograded = nbformat.read(str(course / "autograded" / "mallory" / ASSIGNMENT / f"{MODULE}.ipynb"), as_version=4)
    assert not any(
        "_kernel.stub_score" in c.source for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade")
    )


def test_nbgraders_submitted_layout_is_one_submission_per_student_without_its_test_cells(tmp_path):
    """grade-all's discovery and intake on submitted/<student>/<assignment>/ (no grading)."""
    from autograder.notebooks.export import module_notebook

    module = curriculum.module(MODULE)
    nb = module_notebook(module, REPO / "solutions" / module.filename, {"training": False}, curriculum.load_rubric())
    for student in ("ada", "bo"):
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{MODULE}.ipynb"))
    found = batch.discover(tmp_path / "submitted")
    assert [name for name, _ in found] == ["ada", "bo"]
    source = intake.read_submission(found[0][1])[MODULE]
    assert source.origin == "notebook" and "def synthetic_data" in source.text
    assert "stub_score" not in source.text, "an nbgrader test cell was graded as the student's code"


def test_export_writes_schema_3_cells_and_bad_input_gets_one_line(tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    runner = CliRunner()
    done = runner.invoke(main, ["nbgrader", "export", str(tmp_path), "--assignment", "ps1"])
    assert done.exit_code == 0, done.output
    assert "left out quiz" in done.output  # its stub is not raise NotImplementedError()
    exported = {p.stem for p in (tmp_path / "source" / "ps1").glob("*.ipynb")}
    assert exported == {m.name for m in curriculum.modules()} - {"quiz"}
    nb = nbformat.read(str(tmp_path / "source" / "ps1" / f"{MODULE}.ipynb"), as_version=4)
    from nbgrader.nbgraderformat import MetadataValidator

    MetadataValidator().validate_nb(nb)  # nbgrader's own schema check
    tests = {
        c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    rubric = curriculum.load_rubric()
    assert tests == {f"test_{s.name}": rubric.stub_points(s.id) for s in curriculum.module(MODULE).stubs}

    quiz = runner.invoke(main, ["nbgrader", "export", str(tmp_path), "--only", "quiz"])
    assert quiz.exit_code == 2 and "BEGIN STUB" in quiz.output and len(quiz.output.strip().splitlines()) == 1
    missing = runner.invoke(main, ["nbgrader", "autograde", "ps9", "--course", str(tmp_path)])
    assert missing.exit_code == 2 and "no assignment 'ps9'" in missing.output, missing.output
    no_db = runner.invoke(main, ["nbgrader", "autograde", "ps1", "--course", str(tmp_path)])
    assert no_db.exit_code == 2 and "nbgrader generate_assignment ps1" in no_db.output, no_db.output
