"""Batch grading: one misbehaving submission never stops or changes the others."""

from __future__ import annotations

import csv
import json
import zipfile

import pytest
from click.testing import CliRunner

from autograder import batch, cli
from autograder.config import GradingConfig
from autograder.sandbox import choose_mode

from .cases import BY_NAME
from .support import FAST_LIMITS, OTHER, REFERENCE, TARGET, leftovers, marker, protections
from .test_hostile import source_of


def test_grade_all_keeps_going_whatever_a_submission_does(tmp_path):
    mode = choose_mode("auto")[0]
    root = tmp_path / "submissions"
    root.mkdir()
    mark = marker()
    hostile = ["sys-exit-at-import", "flood-output", "leave-children"]
    if "signals" in protections(mode):
        hostile.append("kill-the-judge")
    for name in hostile:
        folder = root / name
        folder.mkdir()
        text = source_of(BY_NAME[name], mark, 1, tmp_path / "unused.json")
        (folder / "linear_regression.py").write_text(text)
    (root / "honest").mkdir()
    (root / "honest" / "linear_regression.py").write_text(REFERENCE)
    with zipfile.ZipFile(root / "zipped.zip", "w") as z:
        z.writestr("hw/linear_regression.py", REFERENCE)
    (root / "garbage.zip").write_bytes(b"this is not a zip file")
    (root / "empty").mkdir()
    out = tmp_path / "out"

    result = CliRunner().invoke(
        cli.main,
        [
            "grade-all",
            str(root),
            "--out-dir",
            str(out),
            "--jobs",
            "2",
            "--only",
            TARGET,
            "--only",
            OTHER,
            "--no-training",
            "--examples",
            "3",
            "--timeout",
            "5",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output

    rows = {r["name"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    expected = set(hostile) | {"honest", "zipped", "garbage", "empty"}
    assert set(rows) == expected
    for name in expected:
        data = json.loads((out / f"{name}.json").read_text())
        assert "tests" in data and "score" in data
    for name in ("honest", "zipped"):
        assert rows[name]["status"] == "graded"
        assert float(rows[name]["score"]) == pytest.approx(float(rows[name]["max_score"]))
        assert float(rows[name]["score"]) > 0
    assert rows["garbage"]["status"] == "unusable" and rows["garbage"]["reason"]
    garbage = json.loads((out / "garbage.json").read_text())
    assert "could not be graded" in garbage["output"]
    assert rows["empty"]["status"] == "graded" and float(rows["empty"]["score"]) == 0
    for name in hostile:
        assert rows[name]["status"] == "graded", rows[name]
        data = json.loads((out / f"{name}.json").read_text())
        target = sum(t["score"] for t in data["tests"] if t["extra_data"]["stub"] == TARGET)
        if not BY_NAME[name].earns:
            assert target == 0, name
    assert leftovers(mark) == []


def test_a_judge_that_fails_gets_a_json_saying_so(tmp_path):
    root = tmp_path / "submissions"
    (root / "someone").mkdir(parents=True)
    (root / "someone" / "linear_regression.py").write_text(REFERENCE)
    config = GradingConfig(limits=FAST_LIMITS, training=False, examples=3)
    rows = batch.grade_all(root, tmp_path / "out", config, only=["linear_regression.no_such_stub"])
    assert [r.status for r in rows] == ["error"]
    data = json.loads((tmp_path / "out" / "someone.json").read_text())
    assert "score" not in data and "could not be graded" in data["output"]  # no score for a grader fault
    assert data["extra_data"]["status"] == "error"


def test_discover_names_are_unique_and_safe(tmp_path):
    for name in ("a b", "a_b", ".hidden", "x"):
        (tmp_path / name).mkdir()
    (tmp_path / "x.zip").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    names = [n for n, _ in batch.discover(tmp_path)]
    assert len(names) == len(set(names)) == 4
    assert all(" " not in n and not n.startswith(".") for n in names)
