"""Class grading that survives being killed: ``divekit grade-all`` started again skips
what is done, loses nothing, and regrades only a submission whose files changed."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import batch

from .variants.harness import replace_stub

REPO = Path(__file__).resolve().parents[1]
REFERENCE = (REPO / "solutions" / "linear_regression.py").read_text(encoding="utf-8")
ARGS = ["--only", "linear_regression", "--no-training", "--jobs", "1"]


def _class(folder: Path) -> None:
    for name in ("ada", "bo", "cy"):
        (folder / name).mkdir(parents=True)
        (folder / name / "linear_regression.py").write_text(REFERENCE, encoding="utf-8")
    wrong = replace_stub(REFERENCE, "linreg", "def linreg(X, w, b):\n    return X * w.reshape(-1) + b\n")
    (folder / "cy" / "linear_regression.py").write_text(wrong, encoding="utf-8")


def _grade_all(folder: Path, out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "autograder.cli", "grade-all", str(folder), "--out-dir", str(out), *ARGS]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def test_a_changed_submission_changes_its_fingerprint(tmp_path):
    _class(tmp_path / "class")
    job = {"only": ["linear_regression"], "config": {"training": False}}
    before = batch.fingerprint(tmp_path / "class" / "ada", job)
    assert before == batch.fingerprint(tmp_path / "class" / "ada", dict(job))
    assert before != batch.fingerprint(tmp_path / "class" / "ada", dict(job, only=None))
    assert before != batch.fingerprint(tmp_path / "class" / "ada", dict(job, config={"training": True}))
    # How the judge spreads its work is not what the grade depends on: no regrade for it.
    assert before == batch.fingerprint(tmp_path / "class" / "ada", dict(job, config={"training": False, "lanes": 2}))
    (tmp_path / "class" / "ada" / "linear_regression.py").write_text(REFERENCE + "\n# edited\n", encoding="utf-8")
    assert before != batch.fingerprint(tmp_path / "class" / "ada", job)


@pytest.mark.slow
def test_the_language_of_the_feedback_is_part_of_the_job(tmp_path):
    # Each judge writes in the driver's language (a Ray task elsewhere has its own locale),
    # and a rerun in another language regrades rather than keeping the other's feedback.
    folder, out = tmp_path / "class", tmp_path / "out"
    _class(folder)
    args = ["--only", "linear_regression.linreg", "--no-training", "--jobs", "1"]
    env = {k: v for k, v in os.environ.items() if k not in ("DIVEKIT_LANG", "LANG", "LC_ALL", "LC_MESSAGES")}

    def run(lang: str) -> str:
        command = [sys.executable, "-m", "autograder.cli", "grade-all", str(folder), "--out-dir", str(out), *args]
        done = subprocess.run([*command, "--lang", lang], capture_output=True, text=True, timeout=900, env=env)
        assert done.returncode == 0, done.stderr
        return "\n".join(t["output"] for t in json.loads((out / "cy.json").read_text())["tests"])

    chinese = run("zh")
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
    english = run("en")
    assert not re.search(r"[\u4e00-\u9fff]", english), english


@pytest.mark.slow
def test_killed_and_restarted_it_loses_nothing_and_regrades_only_what_changed(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    _class(folder)
    command = [sys.executable, "-m", "autograder.cli", "grade-all", str(folder), "--out-dir", str(out), *ARGS]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    first = out / "ada.json"
    deadline = time.monotonic() + 600
    while not first.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # mid-run: ada done, the rest not
    run.wait()
    assert first.exists(), "the first submission's result should be on disk as soon as it is done"
    assert not (out / "grades.csv").exists()
    done_at = first.stat().st_mtime_ns

    again = _grade_all(folder, out)
    assert again.returncode == 0, again.stderr
    assert first.stat().st_mtime_ns == done_at, "ada was graded again"
    assert "ada: graded" in again.stderr and "already graded" in again.stderr
    rows = {r["name"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    assert sorted(rows) == ["ada", "bo", "cy"] and {r["status"] for r in rows.values()} == {"graded"}
    assert float(rows["ada"]["score"]) == float(rows["ada"]["max_score"]) > float(rows["cy"]["score"])
    marks = {n: (out / f"{n}.json").stat().st_mtime_ns for n in rows}

    # bo edits a file: only bo is graded again.
    edited = folder / "bo" / "linear_regression.py"
    edited.write_text(replace_stub(REFERENCE, "linreg", "def linreg(X, w, b):\n    return X @ w\n"), encoding="utf-8")
    third = _grade_all(folder, out)
    assert third.returncode == 0, third.stderr
    after = {n: (out / f"{n}.json").stat().st_mtime_ns for n in rows}
    assert after["bo"] != marks["bo"] and after["ada"] == marks["ada"] and after["cy"] == marks["cy"]
    rows = {r["name"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    assert float(rows["bo"]["score"]) < float(rows["bo"]["max_score"])


@pytest.mark.slow
def test_a_ray_cluster_grades_the_class_as_this_machine_does(tmp_path):
    """A real local Ray instance: each submission a task (sent as bytes, graded by a judge
    in the task, its student code in the sandboxed worker), the same grades as local."""
    import ray

    from autograder.config import GradingConfig

    folder = tmp_path / "class"
    _class(folder)
    config = GradingConfig(training=False)
    local = batch.grade_all(folder, tmp_path / "local", config, only=["linear_regression"], jobs=1)
    try:
        remote = batch.grade_all(folder, tmp_path / "ray", config, only=["linear_regression"], jobs=2, backend="ray")
    finally:
        ray.shutdown()
    assert [(r.name, r.status, r.score, r.max_score) for r in remote] == [
        (r.name, r.status, r.score, r.max_score) for r in local
    ]
    assert {r.status for r in remote} == {"graded"} and remote[0].score > remote[2].score
    for name in ("ada", "bo", "cy"):
        data = json.loads((tmp_path / "ray" / f"{name}.json").read_text(encoding="utf-8"))
        assert data["extra_data"]["fingerprint"] == remote[["ada", "bo", "cy"].index(name)].fingerprint


@pytest.mark.slow
def test_an_empty_folder_sent_to_a_ray_task_is_graded_as_it_is_here(tmp_path):
    """An empty submission folder packs to an empty zip; unpacked in the task it must still
    be a folder with nothing in it (0 points per test, as local grading gives), not a
    missing path the judge calls unusable. Found by benchmarks/class_grading.py."""
    from autograder.config import GradingConfig

    empty = tmp_path / "empty"
    empty.mkdir()
    config = GradingConfig(training=False).built()
    job = {"only": ["linear_regression"], "config": config.to_dict()}
    row, data = batch.grade_packed("empty", batch._packed(empty), False, job, batch.deadline_for(config))
    assert row["status"] == "graded" and data["tests"], (
        f"expected the empty folder graded (every test at 0 points, as locally), got {row['status']}: {row['reason']}"
    )
    assert data["score"] == 0 and data["max_score"] > 0
