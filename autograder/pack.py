"""``divekit pack student OUT``: what a course hands out, with no answer key in it.

The pack is a folder ready to become a GitHub Classroom template repository::

    OUT/
      README.md                  how a student installs it and works through it
      exercises/                 the stubs (divekit release's output)
      grader/                    an installable divekit: the grader without solutions/, with
        pyproject.toml           the answer key as package data (autograder/answer_key/)
        autograder/...
      .github/workflows/classroom.yml
      .gitignore

Each step below does one thing; :func:`build` runs them in order and ends by scanning the
whole pack for solution code (autograder/leaks.py), refusing to leave a pack that holds any.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

from . import curriculum, leaks
from .framework.answer_key import AnswerKey
from .reference import REPO

GRADER_PACKAGE = REPO / "autograder"
# Never in a pack: build debris, and a key installed in the checkout (the pack gets its own).
LEFT_OUT = {"__pycache__", "answer_key"}


class PackError(Exception):
    """The pack cannot be made as asked (the message says why); nothing usable was left."""


def copy_exercises(exercises: Path, out: Path) -> None:
    shutil.copytree(exercises, out / "exercises", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _left_out(name: str) -> bool:
    return name in LEFT_OUT or name.endswith(".pyc")


def copy_grader(out: Path) -> Path:
    """The grader package (the solutions and their known mistakes are outside it)."""
    target = out / "grader" / "autograder"
    shutil.copytree(
        GRADER_PACKAGE, target, ignore=lambda _dir, names: [n for n in names if n in LEFT_OUT or n.endswith(".pyc")]
    )
    return target


def spell_out_signatures(package: Path) -> None:
    """Write every signature the curriculum reads from the solutions into the pack's copy of
    curriculum.toml (a pack has no solutions to read them from); the curriculum as read
    stays the same, so the key's stamp still matches."""
    path = package / "course" / "curriculum.toml"
    text = path.read_text(encoding="utf-8")
    declared = {(m["name"], s["name"]) for m in tomllib.loads(text)["module"] for s in m["stub"] if "signature" in s}
    signatures = {
        (s.module, s.name): s.signature
        for s in curriculum.all_stubs()
        if s.signature is not None and (s.module, s.name) not in declared
    }
    out, module = [], None
    for line in text.splitlines():
        out.append(line)
        if m := re.fullmatch(r'name = "([^"]+)"', line.strip()):
            name = m.group(1)
            if out[-2].strip() == "[[module]]":
                module = name
            elif (module, name) in signatures:
                out.append(f"signature = {_toml_string(signatures[(module, name)])}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def install_key(key: AnswerKey, package: Path) -> None:
    key.save(package / "answer_key")


def write_pyproject(out: Path, stamp: dict[str, str]) -> None:
    """The pack's grader is the same ``divekit`` command, pinned to the torch its key was
    built with (the key refuses another)."""
    main = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = [d for d in main["dependencies"] if not d.startswith("torch")]
    major, minor = stamp["torch"].split(".")
    deps = [f"torch>={major}.{minor},<{major}.{int(minor) + 1}", *deps, "torchvision"]
    lines = [
        "[build-system]",
        'requires = ["setuptools>=69"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        'name = "divekit"',
        f'version = "{main["version"]}+pack.{stamp["checks"][:8]}"',
        'description = "divekit for students: the exercises\' checks, graded from an answer key"',
        f'requires-python = "{main["requires-python"]}"',
        "dependencies = [" + ", ".join(_toml_string(d) for d in deps) + "]",
        "",
        "[project.scripts]",
        'divekit = "autograder.cli:main"',
        "",
        "[tool.setuptools.packages.find]",
        'include = ["autograder*"]',
        "",
        "[tool.setuptools.package-data]",
        'autograder = ["course/*.toml", "course/locale/*/*.toml", "answer_key/*"]',
        "",
    ]
    (out / "grader" / "pyproject.toml").write_text("\n".join(lines), encoding="utf-8")


STUDENT_README = """\
# {title}

Exercises for *Dive into Deep Learning* (PyTorch; 动手学深度学习), with the course's
autograder. Fill in the stubs in `exercises/`; `divekit check` grades them on your own
machine and explains every lost point: the checks, the named mistakes, the hints and the
training thresholds are the ones your instructor grades with.

## Set up (once)

Python 3.11 or newer. From this folder:

```bash
python3 -m venv .venv
.venv/bin/pip install ./grader
```

(Windows: `.venv\\Scripts\\pip install ./grader`.) It installs PyTorch too, which takes a while.
Activate the environment (`source .venv/bin/activate`) so that `divekit` is on your PATH.

## Work through the exercises

```bash
divekit list                      # every stub, its points, and which you have written
divekit check                     # grade all of exercises/
divekit check linear_regression   # one module, or one stub: linear_regression.linreg
divekit check --no-training       # skip the training thresholds (quicker)
```

Start with the first stub `divekit list` shows, replace its `raise NotImplementedError`
with your code, and run `divekit check` on it until it passes. A failing check says what
was expected, what your code returned and, when it recognises a common mistake, its name
and a hint.

## What this grade is

The grade `divekit check` shows is feedback. The grade that counts is the one your
instructor computes from the code you hand in, on inputs of their own: code written to
pass these checks rather than to do the task will not pass those. This grader holds no
solutions, only the values the checks compare with.
"""


def classroom_workflow() -> str:
    """The Classroom workflow, one runner per module of the curriculum: each step grades its
    module into GitHub Classroom's reporter payload, and the reporter adds them up (per-test
    partial credit on the dashboard). A grade made here only has the pack's public key: the
    official grade is the instructor's, under the course's secret seed."""
    modules = [m.name for m in curriculum.modules()]
    lines = [
        "# Generated by `divekit pack student`: grade each push with the pack's grader and report",
        "# to GitHub Classroom (feedback: the official grade is the instructor's, under a secret seed).",
        "name: Autograding Tests",
        "on: [push, workflow_dispatch, repository_dispatch]",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    timeout-minutes: 60",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        '          python-version: "3.11"',
        "      - name: Install the grader",
        "        run: python -m pip install ./grader",
    ]
    for name in modules:
        lines += [
            f"      - name: {name}",
            f"        id: {name}",
            f'        run: divekit grade exercises --only {name} --format classroom >> "$GITHUB_OUTPUT"',
        ]
    lines += [
        "      - name: Autograding Reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *(f'          {name.upper()}_RESULTS: "${{{{ steps.{name}.outputs.result }}}}"' for name in modules),
        "        with:",
        f"          runners: {','.join(modules)}",
        "",
    ]
    return "\n".join(lines)


def write_student_files(out: Path, title: str) -> None:
    (out / "README.md").write_text(STUDENT_README.format(title=title), encoding="utf-8")
    workflow = out / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(classroom_workflow(), encoding="utf-8")
    (out / ".gitignore").write_text(".venv/\n__pycache__/\n*.pyc\ndivekit-results.json\n", encoding="utf-8")


def check_no_solutions(out: Path, solutions: Path) -> None:
    found = leaks.scan(solutions, out)
    if found:
        raise PackError(
            "the pack would hold solution code, so it was not kept: "
            + "; ".join(str(f) for f in found[:5])
            + (f" (and {len(found) - 5} more)" if len(found) > 5 else "")
        )


def build(
    out: Path,
    key: AnswerKey,
    exercises: Path = REPO / "exercises",
    solutions: Path = REPO / "solutions",
    title: str = "divekit exercises",
) -> Path:
    """Write the student pack to ``out`` (which must not exist yet, or be empty)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise PackError(f"{out} is not empty; give a new folder")
    key.check()
    out.mkdir(parents=True, exist_ok=True)
    try:
        copy_exercises(exercises, out)
        package = copy_grader(out)
        spell_out_signatures(package)
        install_key(key, package)
        write_pyproject(out, key.stamp)
        write_student_files(out, title)
        check_no_solutions(out, solutions)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # no half-made pack, and none that leaks
        raise
    return out
