"""The student pack (autograder/pack.py): built from this checkout, it holds no solution
code, grades from its answer key, and a key cannot fake the official grade.

The pack and its key are built once per test run (a lock lets the xdist workers share
them): the key with training thresholds, so the pack's training runs are proven too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from safetensors.torch import load_file

from autograder import leaks
from autograder import pack as packing
from autograder.config import GradingConfig
from autograder.framework.answer_key import KEY_JSON, KEY_TENSORS, AnswerKey
from autograder.grading import grade

from .conftest import once_per_run
from .variants.harness import replace_stub, write_submission

REPO = Path(__file__).resolve().parents[1]
SHARED_LEAKSCAN = REPO.parent / "shared" / "tools" / "leakscan.py"


@pytest.fixture(scope="session")
def built_pack(tmp_path_factory, public_key) -> Path:
    """A student pack of the whole curriculum (training included), shared by the workers."""
    return once_per_run(
        tmp_path_factory, "student-pack", "pack", lambda out: packing.build(out, AnswerKey.load(public_key))
    )


def _key_dir(pack: Path) -> Path:
    return pack / "grader" / "autograder" / "answer_key"


def test_the_pack_is_a_template_repository(built_pack):
    for part in ("README.md", ".gitignore", ".github/workflows/classroom.yml", "grader/pyproject.toml"):
        assert (built_pack / part).is_file(), part
    assert sorted(p.name for p in (built_pack / "exercises").glob("*.py")) == sorted(
        p.name for p in (REPO / "exercises").glob("*.py")
    )
    assert not (built_pack / "solutions").exists()
    assert not list(built_pack.rglob("mistakes")), "the known mistakes' code (solution code) shipped"
    # The key is the grader's package data, stamped for this very grader.
    AnswerKey.load(_key_dir(built_pack)).check()
    readme = (built_pack / "README.md").read_text(encoding="utf-8")
    assert "pip install ./grader" in readme and "divekit check" in readme


def test_the_pack_holds_no_solution_code(built_pack):
    """Every function of the pack against every solution block (autograder/leaks.py: names
    folded, so renaming hides nothing), and the shared whole-file scanner as well."""
    found = leaks.scan(REPO / "solutions", built_pack)
    assert not found, "\n".join(map(str, found))
    if SHARED_LEAKSCAN.exists():
        run = subprocess.run(
            [sys.executable, str(SHARED_LEAKSCAN), str(REPO / "solutions"), str(built_pack)],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stdout + run.stderr


def test_the_scanner_finds_a_renamed_copy(tmp_path):
    """The scan is not vacuous: a solution block pasted into a helper with every name
    changed is found; the same helper rewritten another way is not."""
    text = (REPO / "solutions" / "batch_norm.py").read_text(encoding="utf-8")
    block = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", text, re.S).group(1)
    names = sorted(
        set(re.findall(r"\b[a-z_][a-z_0-9]*\b", block)) - {"if", "else", "not", "return", "torch", "for", "in"}
    )
    renamed = block
    for i, name in enumerate(names):
        renamed = re.sub(rf"(?<![.\w]){name}\b", f"v{i}", renamed)
    (tmp_path / "copy.py").write_text("def helper(*args):\n" + renamed.replace("\n", "\n") + "\n", encoding="utf-8")
    assert any(f.block == "batch_norm#0" for f in leaks.scan(REPO / "solutions", tmp_path))
    (tmp_path / "copy.py").write_text("def helper(X):\n    return X.mean(0)\n", encoding="utf-8")
    assert not leaks.scan(REPO / "solutions", tmp_path)


# -- grading from the pack's key ------------------------------------------------------------
def _submission(tmp_path: Path, module: str, stub: str, code: str) -> Path:
    source = (REPO / "solutions" / f"{module}.py").read_text(encoding="utf-8")
    return write_submission(tmp_path, module, replace_stub(source, stub, code))


HUNTER = '''
def softmax(X):
    """Earns by delegating to any other softmax it can reach: the heap, every module, the
    disk (a solutions folder, the grader's files) and the answer key's files."""
    import gc, os, sys, types, importlib.util
    me = sys._getframe().f_code
    def usable(f):
        # Library code is not the grader's (delegating to torch.softmax is the from-scratch
        # check's business): only code from outside torch, numpy and the standard library.
        top = (getattr(f, "__module__", None) or "").split(".")[0]
        return (callable(f) and getattr(f, "__code__", None) is not me and getattr(f, "__name__", "") == "softmax"
                and top not in sys.stdlib_module_names and top not in ("torch", "numpy"))
    found = [m.__dict__["softmax"] for m in list(sys.modules.values())
             if isinstance(getattr(m, "__dict__", None), dict) and "softmax" in m.__dict__]
    found += [o for o in gc.get_objects() if isinstance(o, types.FunctionType) and o.__name__ == "softmax"]
    for root in ("/", os.path.expanduser("~")):
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "site-packages")][:50]
            for name in files:
                if name in ("softmax_regression.py", "key.json") and "exercises" not in top:
                    path = os.path.join(top, name)
                    if name.endswith(".py"):
                        try:
                            spec = importlib.util.spec_from_file_location("found_" + str(len(found)), path)
                            mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
                            found.append(getattr(mod, "softmax", None))
                        except Exception:
                            pass
            if len(found) > 50:
                break
    for f in found:
        if usable(f):
            try:
                out = f(X)
                if out is not None and not isinstance(out, type(NotImplemented)):
                    return out
            except Exception:
                continue
    return X * 0
'''


def test_a_stub_hunting_for_something_to_delegate_to_earns_nothing(tmp_path, built_pack):
    """Graded from the key, there is no reference to find: not in the worker, not on the
    disk it can see, and the key holds values, not code."""
    folder = _submission(tmp_path, "softmax_regression", "softmax", HUNTER)
    report = grade(
        str(folder), ["softmax_regression.softmax"], GradingConfig(training=False, key=str(_key_dir(built_pack)))
    )
    assert report.meta["references"].startswith("answer key")
    assert report.score == 0, "\n".join(f"{t.name}: {t.score}" for t in report.tests)


def _lookup_stub(key_dir: Path) -> str:
    """linreg answered from a table copied out of the public key: the key's values of the
    shape asked, in the order the checks ask for them (the order the key recorded them)."""
    key = json.loads((key_dir / KEY_JSON).read_text(encoding="utf-8"))
    tensors = load_file(str(key_dir / KEY_TENSORS))
    table = []
    recorded = sorted(key["entries"].items(), key=lambda item: item[1][2])  # tensor index: the recording order
    for name, (_data, count, first) in recorded:
        if name.startswith("linear_regression.linreg: matches"):
            table += [tensors[f"v{first + i}"].tolist() for i in range(count)]
    return f"""
_TABLE = {table!r}
_USED = set()


def linreg(X, w, b):
    import torch
    for i, rows in enumerate(_TABLE):
        if i not in _USED and len(rows) == X.shape[0]:
            _USED.add(i)
            return torch.tensor(rows, dtype=X.dtype)
    return torch.zeros(X.shape[0], 1, dtype=X.dtype)
"""


def test_a_lookup_table_of_the_public_key_fails_under_the_secret_seed(tmp_path, built_pack):
    key_dir = _key_dir(built_pack)
    folder = _submission(tmp_path, "linear_regression", "linreg", _lookup_stub(key_dir))
    title = "linear_regression.linreg: matches X @ w + b on random shapes"
    public = grade(str(folder), ["linear_regression.linreg"], GradingConfig(training=False, key=str(key_dir)))
    assert next(t for t in public.tests if t.name == title).status == "passed", "the table should fool the pack"
    secret = grade(str(folder), ["linear_regression.linreg"], GradingConfig(training=False, seed="course-secret"))
    assert secret.meta["seed"].startswith("sha256:") and "course-secret" not in json.dumps(secret.meta)
    assert next(t for t in secret.tests if t.name == title).status == "failed"
    assert secret.score < public.score


# -- a new student, in a fresh virtual environment -------------------------------------------
def _fresh_venv(where: Path) -> Path:
    """A new virtual environment that sees this machine's installed libraries (torch is
    5 GB: a .pth to the test environment's site-packages stands for "already installed")
    but not divekit: that it gets from the pack."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = next((where / "lib").glob("python3*/site-packages"))
    (site / "machine-libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return where / "bin"


@pytest.mark.slow
def test_a_new_student_follows_the_readme(tmp_path, built_pack):
    import shutil

    pack = tmp_path / "my-course"
    shutil.copytree(built_pack, pack)
    bin_dir = _fresh_venv(tmp_path / ".venv")
    # The README's install line, offline: build isolation would fetch setuptools again.
    # This venv borrows torch from the test environment, which lives inside the checkout
    # (the .pth above): bubblewrap rightly hides the checkout from workers, so here the
    # workers are plain processes. A student's venv holds its own torch, and bubblewrap
    # binds it (it is outside any checkout): the sandboxed path is the one every other
    # test grades with.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DIVEKIT_KEY", "DIVEKIT_REQUIRE_SANDBOX")}
    subprocess.run(
        # pip is the machine's too (the venv has none of its own); it installs into the venv
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "./grader"],
        cwd=pack,
        check=True,
        env=env,
    )
    divekit = str(bin_dir / "divekit")

    def run(*args):
        done = subprocess.run([divekit, *args], cwd=pack, capture_output=True, text=True, env=env, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import autograder; print(autograder.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert str(tmp_path / ".venv") in where, f"divekit should come from the pack, not {where}"
    assert "to do" in run("list")
    shipped = run("check", "--no-training", "--sandbox", "process")
    assert re.search(r"Total: 0/\d+", shipped), shipped[-2000:]
    assert shipped.count("Not implemented yet") >= 40, shipped[-2000:]
    # One stub with a known mistake: the pack names it.
    exercise = pack / "exercises" / "linear_regression.py"
    text = exercise.read_text(encoding="utf-8")
    wrong = replace_stub(text, "linreg", "def linreg(X, w, b):\n    return X * w.reshape(-1) + b\n")
    exercise.write_text(wrong, encoding="utf-8")
    # A graded hint first (in Chinese), remembered beside the exercises, out of git's sight.
    assert "3.1.1 节" in run("hint", "linear_regression.linreg", "--lang", "zh")
    assert (pack / "exercises" / ".divekit" / "hints.json").is_file()
    assert "exercises/.divekit/" in (pack / ".gitignore").read_text(encoding="utf-8").splitlines()
    out = run("check", "linear_regression.linreg", "--no-training", "--sandbox", "process", "--lang", "en")
    assert "an elementwise product" in out, out
    assert "hint: 1/3 " in out and "divekit hint linear_regression.linreg` for another" in out, out
    # The right answer, training included: the pack's own training threshold, from the key.
    right = (REPO / "solutions" / "linear_regression.py").read_text(encoding="utf-8")
    exercise.write_text(right, encoding="utf-8")
    out = run("check", "linear_regression", "--sandbox", "process")
    assert re.search(r"Total: (\d+(\.\d+)?)/\1\b", out), out


# -- GitHub Classroom -------------------------------------------------------------------------
def test_the_classroom_workflow_runs_one_runner_per_module_and_reports_them_all(built_pack):
    import yaml

    from autograder import curriculum

    workflow = yaml.safe_load((built_pack / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8"))
    assert workflow["name"] == "Autograding Tests"  # the check run the reporter updates
    assert "push" in workflow[True]  # YAML 1.1 reads the key `on` as true
    assert workflow["permissions"]["checks"] == "write"
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert uses[0] == "actions/checkout@v4" and uses[-1] == "classroom-resources/autograding-grading-reporter@v1"
    modules = [m.name for m in curriculum.modules()]
    graders = {s["id"]: s["run"] for s in steps if "id" in s}
    assert list(graders) == modules
    for name, command in graders.items():
        assert f"--only {name} --format classroom" in command and "$GITHUB_OUTPUT" in command
    reporter = steps[-1]
    assert reporter["with"]["runners"].split(",") == modules
    for name in modules:
        assert reporter["env"][f"{name.upper()}_RESULTS"] == f"${{{{ steps.{name}.outputs.result }}}}"


def test_the_classroom_payload_carries_partial_credit_per_test(tmp_path):
    """What the reporter decodes: base64 JSON with version, status, max_score and tests[]
    (name, status, score, message); its total is the report's."""
    import base64

    from click.testing import CliRunner

    from autograder.cli import main

    folder = _submission(
        tmp_path, "linear_regression", "linreg", "def linreg(X, w, b):\n    return X * w.reshape(-1) + b\n"
    )
    args = ["grade", str(folder), "--only", "linear_regression", "--no-training", "--format", "classroom"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("result=")
    payload = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert payload["version"] == 1 and payload["status"] == "fail"
    tests = payload["tests"]
    assert {"name", "status", "score", "message"} <= set(tests[0])
    assert {t["status"] for t in tests} == {"pass", "fail"}
    linreg = [t for t in tests if t["name"].startswith("linear_regression.linreg")]
    assert all(t["status"] == "fail" for t in linreg) and "an elementwise product" in linreg[0]["message"]
    others = sum(t["score"] for t in tests if not t["name"].startswith("linear_regression.linreg"))
    assert 0 < others == sum(t["score"] for t in tests) < payload["max_score"]
    out = tmp_path / "payload.b64"
    assert CliRunner().invoke(main, [*args, "--out", str(out)]).exit_code == 0
    assert json.loads(base64.b64decode(out.read_text()))["max_score"] == payload["max_score"]


def test_the_classroom_workflow_uploads_the_html_report_whatever_happened(tmp_path):
    """Cheap (no pack built): the workflow as generated, and the .gitignore beside it."""
    import shlex

    import yaml

    from autograder.cli import grade_cmd

    packing.write_student_files(tmp_path, "course")
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    names = [s.get("name") for s in steps]
    page, upload = steps[names.index("HTML report")], steps[names.index("Upload the HTML report")]
    assert names.index("HTML report") < names.index("Upload the HTML report") < len(steps) - 1  # before the reporter
    for step in (page, upload):  # runs after a failed step, and its own failure costs no score
        assert step["if"] == "always()" and step["continue-on-error"] is True
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["with"]["path"] == packing.REPORT_HTML and upload["with"]["name"]
    # The command is one the grader accepts, writing that very file as HTML.
    args = shlex.split(page["run"])
    assert args[:2] == ["divekit", "grade"]
    with grade_cmd.make_context("grade", args[2:]) as ctx:
        assert ctx.params["fmt"] == "html" and ctx.params["out"] == packing.REPORT_HTML
    assert packing.REPORT_HTML in (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
