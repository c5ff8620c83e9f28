"""The command line: exit codes, Gradescope's JSON, zips and notebooks."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from autograder.cli import main

from .grading_sandbox import SANDBOX

REPO = Path(__file__).resolve().parents[1]
FAST = ["--sandbox", SANDBOX, "--no-training", "--examples", "5"]
# Plain process mode whatever the environment requires, so that the mode stays covered.
PROCESS = ["--sandbox", "process", "--no-training", "--examples", "5"]


def _run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_json_is_gradescope_results_with_a_stub_per_test(tmp_path):
    out = tmp_path / "results.json"
    result = _run(
        "grade", str(REPO / "solutions"), "--only", "linear_regression", *FAST, "--format", "json", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] > 0
    for test in data["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert test["extra_data"]["stub"].startswith("linear_regression.")


def test_the_shipped_exercises_score_zero_and_still_exit_zero():
    result = _run("grade", str(REPO / "exercises"), "--only", "linear_regression", *PROCESS, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["score"] == 0 and data["max_score"] > 0


def test_unusable_input_exits_2_with_one_line(tmp_path):
    for args in (["grade", str(tmp_path / "nope")], ["grade", str(REPO), "--only", "nonsense"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.output.strip().count("\n") == 0 and "cannot grade" in result.output
    not_zip = tmp_path / "sub.zip"
    not_zip.write_text("not a zip")
    assert CliRunner().invoke(main, ["grade", str(not_zip)]).exit_code == 2


def test_a_zip_of_the_folder_grades_like_the_folder(tmp_path):
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(REPO / "solutions" / "linear_regression.py", "exercises/linear_regression.py")
    result = _run("grade", str(archive), "--only", "linear_regression", *FAST, "--format", "json")
    data = json.loads(result.output)
    assert data["score"] == data["max_score"] > 0


def test_a_notebook_submission_is_graded_from_its_code_cells(tmp_path):
    source = (REPO / "solutions" / "linear_regression.py").read_text()
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "# Linear regression"},
            {"cell_type": "code", "source": "%matplotlib inline"},
            {"cell_type": "code", "source": source.splitlines(keepends=True)},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "linear_regression.ipynb").write_text(json.dumps(nb))
    result = _run("grade", str(folder), "--only", "linear_regression", *FAST, "--format", "json")
    data = json.loads(result.output)
    assert data["score"] == data["max_score"] > 0


def test_list_shows_status(tmp_path):
    result = _run("list")
    assert result.exit_code == 0 and "linear_regression.sgd" in result.output


def test_release_check_passes_on_the_repo():
    assert _run("release", "--check").exit_code == 0


def test_a_bad_rubric_exits_2_with_one_line_naming_file_table_and_key(tmp_path):
    bad = tmp_path / "rubric.toml"
    bad.write_text("[policy]\ndefualt_points = 2\n")
    result = CliRunner().invoke(main, ["grade", str(REPO / "solutions"), "--rubric", str(bad), *FAST])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"divekit: cannot grade: {bad}: unknown key 'defualt_points' in [policy]; "
        "allowed keys: default_points, from_scratch_share, visibility"
    )
    bad.write_text('[points]\n"mlp.nope" = 2\n')
    result = CliRunner().invoke(
        main, ["grade-all", str(tmp_path), "--out-dir", str(tmp_path / "o"), "--rubric", str(bad)]
    )
    assert result.exit_code == 2 and "names stubs that do not exist: mlp.nope" in result.output


def test_a_rubric_override_sets_the_points_and_visibility(tmp_path):
    override = tmp_path / "rubric.toml"
    override.write_text('[policy]\nvisibility = "hidden"\n\n[points]\n"mlp.relu" = 7\n')
    args = ["grade", str(REPO / "solutions"), "--only", "mlp.relu", *FAST, "--format", "json"]
    data = json.loads(_run(*args, "--rubric", str(override)).output)
    assert data["score"] == data["max_score"] == 7
    assert {t["visibility"] for t in data["tests"]} == {"hidden"}
    assert json.loads(_run(*args).output)["max_score"] == 1  # the curriculum's own points
