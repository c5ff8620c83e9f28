"""What a divekit test cell runs inside the notebook's kernel (nbgrader's own route).

nbgrader grades a test cell by its outputs: an error or anything on stderr scores 0, a
value (the cell's ``execute_result``) that reads as a number between 0 and the cell's
points is partial credit (``nbgrader.utils.determine_grade``), anything else full marks.
So :func:`stub_score` prints its feedback to stdout only, returns the points earned as the
cell's value, and raises (0 points, with the reason) only when divekit could not grade at
all.

How the cell reaches the judge: it reads the notebook's own file from the kernel's working
folder (nbgrader runs a notebook in the folder that holds it: ``validate`` the file given,
``autograde`` the sanitized copy in ``autograded/<student>/<assignment>/``, its test and
read-only cells already restored from the gradebook), not the kernel's history, so that the
first test cell sees every answer, also those below it. It copies that file into a fresh
folder and grades it with ``divekit grade --only MODULE --format json`` in a separate
process (the judge, with its sandboxed workers, exactly as the trusted route grades the
same file), once per notebook: the report is cached in this kernel for the test cells
after it, keyed by the file's bytes and the grading options. The judge's own output is
captured and never reaches the cell's stderr.

Not trusted: this runs in the student's kernel, after the student's cells, which can
replace this function, IPython's traceback display or anything else in the process. The
grade an instructor can rely on is the trusted route's (:mod:`.trusted`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .stub_results import cell_points, feedback

_reports: dict[str, dict] = {}  # this kernel's reports, by notebook bytes and options


class NotebookNotGraded(Exception):
    """divekit could not grade the notebook; nbgrader scores the cell 0 and shows this."""


def grade_flags(grading: dict) -> list[str]:
    """``divekit grade`` options for the grading options that ``export`` recorded."""
    flags = ["--training" if grading.get("training") else "--no-training"]
    if grading.get("examples"):
        flags += ["--examples", str(int(grading["examples"]))]
    if grading.get("sandbox"):
        flags += ["--sandbox", str(grading["sandbox"])]
    return flags


def grade_notebook(path: Path, module: str, grading: dict) -> dict:
    """divekit's report (Gradescope's results.json) on the notebook at ``path``, graded in a
    judge process of its own."""
    raw = path.read_bytes()
    key = hashlib.sha256(raw + json.dumps([module, grading], sort_keys=True).encode()).hexdigest()
    if key in _reports:
        return _reports[key]
    with tempfile.TemporaryDirectory(prefix="divekit-notebook-") as scratch:
        folder = Path(scratch) / "submission"
        folder.mkdir()
        (folder / f"{module}.ipynb").write_bytes(raw)
        out = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "autograder.cli", "grade", str(folder), "--only", module]
        command += ["--format", "json", "--out", str(out), *grade_flags(grading)]
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=dict(os.environ))
        if done.returncode != 0 or not out.exists():
            said = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
            raise NotebookNotGraded(
                f"divekit could not grade {path.name} (exit status {done.returncode}): "
                + (said[-1] if said else "no message")
            )
        report = json.loads(out.read_text(encoding="utf-8"))
    _reports[key] = report
    return report


def stub_score(stub: str, points: float, *, notebook: str, grading: dict) -> float:
    """The points ``stub`` (``"<module>.<name>"``) earns in ``notebook`` (a file in the
    working folder), printing what each of its checks found."""
    from .. import hints as graded_hints

    module = stub.split(".", 1)[0]
    path = Path(notebook)
    if not path.is_file():
        raise NotebookNotGraded(f"{notebook} is not in {Path.cwd()}: save the notebook under that name")
    report = grade_notebook(path, module, grading)
    hints = graded_hints.for_report(graded_hints.language())  # no student state: each stub's first hint
    print(feedback(report, stub, hints.get(stub, "")))
    return cell_points(report, stub, points)
