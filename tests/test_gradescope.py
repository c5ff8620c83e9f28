"""The Gradescope autograder zip, run the way Gradescope runs it: unpacked into a folder
laid out like ``/autograder`` (its root given by ``$AUTOGRADER_ROOT``), ``run_autograder``
run on a correct, a wrong, a broken, a hostile and an empty submission, and each
``results.json`` checked against Gradescope's documented fields."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder import gradescope
from autograder.points import show

from .variants.harness import replace_stub

REPO = Path(__file__).resolve().parents[1]
REFERENCE = (REPO / "solutions" / "linear_regression.py").read_text(encoding="utf-8")
SEED = "gradescope-course-secret"

# A stub that tries to leave its own results.json: directly, and from a daemon that
# outlives the call (and would write after the grader did).
HOSTILE = """
def linreg(X, w, b):
    import os, json
    fake = json.dumps({"score": 1000, "tests": []})
    for root in ("/autograder", os.environ.get("AUTOGRADER_ROOT", "")):
        if root:
            try:
                os.makedirs(root + "/results", exist_ok=True)
                open(root + "/results/results.json", "w").write(fake)
            except OSError:
                pass
    if os.fork() == 0:
        os.setsid()
        import time
        time.sleep(3)
        for root in ("/autograder", os.environ.get("AUTOGRADER_ROOT", "")):
            try:
                open(root + "/results/results.json", "w").write(fake)
            except OSError:
                pass
        os._exit(0)
    return X @ w + b
"""

CASES = {
    "correct": REFERENCE,
    "wrong": replace_stub(REFERENCE, "linreg", "def linreg(X, w, b):\n    return X * w.reshape(-1) + b\n"),
    "broken": REFERENCE.replace("def linreg(X, w, b):", "def linreg(X, w, b)"),
    "hostile": replace_stub(REFERENCE, "linreg", HOSTILE),
    "empty": None,
}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return gradescope.build(tmp_path_factory.mktemp("zip") / "autograder.zip", seed=SEED)


def _unpack(zip_path: Path, root: Path) -> None:
    """What Gradescope does with the zip: its contents in source/, run_autograder beside it."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # zipfile does not restore permissions
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "results").mkdir()


def test_the_zip_holds_the_scripts_the_grader_the_solutions_and_the_seed(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "pyproject.toml", gradescope.SEED_FILE} <= names
        assert zf.getinfo("run_autograder").external_attr >> 16 & stat.S_IXUSR
        assert "solutions/linear_regression.py" in names and "autograder/grading.py" in names
        assert not [n for n in names if "__pycache__" in n]
        assert zf.read(gradescope.SEED_FILE).decode() == SEED


def _check_results(data: dict) -> None:
    """Gradescope's results.json: the fields it documents, with their types."""
    assert isinstance(data["output"], str) and isinstance(data["execution_time"], int | float)
    assert isinstance(data["score"], int | float)
    for t in data["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility", "extra_data"} <= set(t), t
        assert t["status"] in ("passed", "failed") and t["visibility"] in (
            "visible",
            "hidden",
            "after_due_date",
            "after_published",
        )
        assert isinstance(t["score"], int | float) and 0 <= t["score"] <= t["max_score"] + 1e-9
    assert abs(data["score"] - sum(t["score"] for t in data["tests"])) < 1e-6


@pytest.mark.slow
def test_run_autograder_grades_each_submission_into_results_json(tmp_path, autograder_zip):
    scores = {}
    for name, text in CASES.items():
        root = tmp_path / name
        _unpack(autograder_zip, root)
        (root / "submission").mkdir()
        if text is not None:
            (root / "submission" / "linear_regression.py").write_text(text, encoding="utf-8")
        env = dict(os.environ, AUTOGRADER_ROOT=str(root), DIVEKIT_PYTHON=sys.executable)
        for inherited in ("DIVEKIT_SEED", "PYTHONPATH", "DIVEKIT_KEY"):
            env.pop(inherited, None)
        run = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stdout + run.stderr
        if name == "hostile":
            time.sleep(4)  # the daemon's write would land now, were it still alive
        data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
        _check_results(data)
        # The HTML report beside it, named in the output, with the same total; student
        # strings escaped (the hostile case's output included).
        page = (root / "results" / "report.html").read_text(encoding="utf-8")
        assert "The full report, with pictures: report.html, beside results.json." in data["output"]
        assert page.startswith("<!DOCTYPE html>") and "<script" not in page
        assert f"Total: {show(round(data['score'], 2))}/{show(round(data['max_score'], 2))}" in page
        if name == "empty":  # graded, every stub saying its file is missing
            assert data["score"] == 0 and all(t["status"] == "failed" for t in data["tests"])
            assert "No linear_regression.py in the submission" in data["tests"][0]["output"]
            continue
        fingerprint = "sha256:" + hashlib.sha256(SEED.encode()).hexdigest()[:12]
        assert data["extra_data"]["seed"] == fingerprint, "graded under the zip's secret seed"
        assert SEED not in json.dumps(data)
        ours = [t for t in data["tests"] if t["extra_data"]["stub"].startswith("linear_regression.")]
        scores[name] = sum(t["score"] for t in ours), sum(t["max_score"] for t in ours)
        linreg = [t for t in ours if t["extra_data"]["stub"] == "linear_regression.linreg"]
        if name == "wrong":
            assert "an elementwise product" in " ".join(t["output"] for t in linreg)
        if name == "broken":
            assert all(t["score"] == 0 for t in linreg) and "syntax" in linreg[0]["output"].lower()
    assert scores["correct"][0] == pytest.approx(scores["correct"][1])
    assert scores["broken"][0] < scores["wrong"][0] < scores["correct"][0] or scores["wrong"][0] < scores["correct"][0]
    assert 0 < scores["broken"][0], "a syntax error costs only its own definition"
    assert scores["hostile"][0] <= scores["correct"][0] and scores["hostile"][0] < 1000
