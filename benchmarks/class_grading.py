"""Class grading three ways on the same generated class: divekit on this machine (1 and 2
workers), divekit through a real local Ray instance, and nbgrader's ``nbgrader autograde``.

The class (``--count``, default 20) is generated from solutions/ and the test suite's own
wrong variants, never from code copied here: correct submissions (the solutions), partly
wrong ones (one known mistake from tests/variants each), broken ones (a stub that does not
parse, an empty folder, a zip that is not one) and hostile ones (cases from tests/hostile).
Each leg grades the whole class from scratch into its own folder; the figures are wall
time and submissions per minute, with the ratios between legs measured in this run (the
baseline is the 1-worker local leg), and whether every leg gives every submission the same
points per stub (to 1e-4). The nbgrader leg exports the course with the same grading
settings, hands the class in as notebooks (submitted/<name>/<assignment>/), and times only
`nbgrader autograde`; its scores are read from the real gradebook.db. nbgrader's own route
runs student code in the student's kernel, so a hostile submission can fool it there (see
docs/instructors.md): its grades are expected to differ on the hostile submissions. Usage:

    python benchmarks/class_grading.py [--only MODULE ...] [--all] [--count N] [--legs NAME ...]
                                       [--training]
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder import batch, curriculum
from autograder.config import GradingConfig

REPO = Path(__file__).resolve().parents[1]
# Fast to grade without training, and with both wrong variants and hostile cases to draw on.
DEFAULT_MODULES = ["linear_regression", "convexity"]


@dataclass
class Leg:
    name: str
    # (class, out dir, config, modules) -> the seconds to count, where not the whole call
    grade: Callable[[Path, Path, GradingConfig, list[str]], float | None]


def _local(jobs: int) -> Callable:
    def grade(folder: Path, out: Path, config: GradingConfig, modules: list[str]) -> None:
        batch.grade_all(folder, out, config, only=modules, jobs=jobs)

    return grade


def _ray(folder: Path, out: Path, config: GradingConfig, modules: list[str]) -> None:
    import ray

    try:  # ray.init is part of the cost a class run pays, so it is timed
        batch.grade_all(folder, out, config, only=modules, jobs=2, backend="ray")
    finally:
        ray.shutdown()


ASSIGNMENT = "bench"
# A top-level definition or decorator starts a chunk; what comes before the first one is
# the file's prelude (its imports, and a hostile submission's import-time code).
_TOP = re.compile(r"^(?:@|def |class |async def )")
_NAME = re.compile(r"^(?:async def|def|class)\s+([A-Za-z_]\w*)")


def _chunks(text: str) -> tuple[str, dict[str, str]]:
    """A submission file cut at its top-level definitions, by name, without parsing it (a
    file that does not parse is cut the same way, so its other definitions still count,
    as divekit's own salvage counts them)."""
    prelude: list[str] = []
    chunks: dict[str, list[str]] = {}
    current: list[str] | None = None
    pending: list[str] = []  # decorators above the next def
    for line in text.splitlines():
        if _TOP.match(line):
            name = _NAME.match(line)
            if name is None:  # a decorator
                pending.append(line)
                continue
            current = chunks.setdefault(name.group(1), [])
            current += pending + [line]
            pending = []
        elif current is None:
            prelude.append(line)
        else:
            current.append(line)
    return "\n".join(prelude), {k: "\n".join(v) for k, v in chunks.items()}


def _hand_in_notebooks(folder: Path, course: Path, modules: list[str]) -> dict[str, str]:
    """Each submission of the class as nbgrader receives it: submitted/<name>/<assignment>/
    <module>.ipynb, every answer cell filled with the submission's definition of that name
    (the release's stub where it has none), the file's prelude put above the first answer.
    A submission that is not a folder of files (an empty folder, a broken zip) hands in no
    notebook. Returns name -> why it handed in nothing, for those."""
    import nbformat

    empty: dict[str, str] = {}
    for entry in sorted(folder.iterdir()):
        name = entry.name.removesuffix(".zip")
        target = course / "submitted" / name / ASSIGNMENT
        target.mkdir(parents=True)
        (target / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC\n", encoding="utf-8")
        files = {m: entry / f"{m}.py" for m in modules} if entry.is_dir() else {}
        if not any(f.is_file() for f in files.values()):
            empty[name] = "nothing handed in" if entry.is_dir() else "not a folder of notebooks"
            continue
        for module, path in files.items():
            if not path.is_file():
                continue
            prelude, chunks = _chunks(path.read_text(encoding="utf-8"))
            nb = nbformat.read(str(course / "release" / ASSIGNMENT / f"{module}.ipynb"), as_version=4)
            first = True
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if not meta.get("solution"):
                    continue
                body = chunks.get(meta.get("grade_id"), cell.source)
                cell.source = (prelude + "\n\n" + body) if first and prelude.strip() else body
                first = False
            nbformat.write(nb, str(target / f"{module}.ipynb"))
    return empty


def _nbgrader(folder: Path, out: Path, config: GradingConfig, modules: list[str]) -> float:
    """`nbgrader autograde` on the class as notebooks, in a course `divekit nbgrader export`
    wrote with the same grading settings; only the autograde command is timed (the export,
    generate_assignment and the hand-in are set-up an instructor pays once, not per
    student). Each student's per-stub points are read from the real gradebook.db."""
    import subprocess

    from nbgrader.api import Gradebook, MissingEntry

    from autograder.notebooks.export import course_id_of, export

    course = out.parent / f"{out.name}-course"
    grading = {"training": config.training, "examples": config.examples, "sandbox": config.sandbox}
    exported = export(course, ASSIGNMENT, only=modules, grading=grading)
    modules = [p.stem for p in exported.notebooks]  # a module nbgrader cannot hold is left out
    from tests.nbgrader_env import nbgrader_env

    env = nbgrader_env()

    def nbgrader(*args: str, per_student: bool = False) -> str:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True)
        said = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        # autograde exits 1 when it could not process some student (a hostile notebook that
        # ends its kernel, say) and still grades the rest: those students are reported, the
        # leg goes on, as a course would.
        if done.returncode != 0 and not (per_student and "There was an error processing assignment" in said):
            raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{said[-4000:]}")
        return said

    nbgrader("generate_assignment", ASSIGNMENT)
    empty = _hand_in_notebooks(folder, course, modules)
    start = time.perf_counter()
    said = nbgrader("autograde", ASSIGNMENT, per_student=True)
    seconds = time.perf_counter() - start
    failed = sorted(set(re.findall(r"error processing assignment '[^']*' for student '([^']+)'", said)))
    if failed:  # nbgrader's own words: the exceptions its log names
        raised = dict.fromkeys(m.strip() for m in re.findall(r"^\s*[\w.]+(?:Error|Exception): .*$", said, re.M))
        print(f"    nbgrader could not grade {', '.join(failed)}: {' | '.join(raised) or '(no reason given)'}"[:800])
    out.mkdir(parents=True)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id_of(course)) as gb:
        for student in sorted(p.name for p in (course / "submitted").iterdir()):
            if student in empty:  # as the local legs record a submission with nothing to grade
                data = {"tests": [], "extra_data": {"status": "unusable", "reason": empty[student]}}
            elif student in failed:
                data = {"tests": [], "extra_data": {"status": "nbgrader could not grade it"}}
            else:
                tests = []
                for module in modules:
                    try:
                        notebook = gb.find_submission_notebook(module, ASSIGNMENT, student)
                    except MissingEntry:
                        continue
                    for grade in notebook.grades:
                        stub = f"{module}.{grade.name.removeprefix('test_')}"
                        tests.append({"name": stub, "score": grade.score or 0.0, "extra_data": {"stub": stub}})
                data = {"tests": tests}
            (out / f"{student}.json").write_text(json.dumps(data), encoding="utf-8")
    return seconds


LEGS = [
    Leg("local-1", _local(1)),
    Leg("local-2", _local(2)),
    Leg("ray", _ray),
    Leg("nbgrader", _nbgrader),
]


def _variants(module: str) -> list:
    try:
        return list(importlib.import_module(f"tests.variants.{module}").WRONG)
    except ModuleNotFoundError:
        return []


def make_class(folder: Path, count: int, modules: list[str]) -> dict[str, str]:
    """``count`` submissions in ``folder``; returns name -> kind. A quarter of each kind,
    the correct and the partly wrong rounding up."""
    sys.path.insert(0, str(REPO))  # the variants and hostile cases live in the test suite
    from tests.hostile.cases import CASES as HOSTILE
    from tests.variants.harness import replace_stub

    sources = {m: (REPO / "solutions" / f"{m}.py").read_text(encoding="utf-8") for m in modules}
    # One module after another, so that a few wrong submissions already spread over them.
    per_module = [[(m, v) for v in _variants(m)] for m in modules]
    wrong = [mv for row in itertools.zip_longest(*per_module) for mv in row if mv]
    # Hostile cases that need no placeholders filled in and do not wait for a time limit
    # (those measure the limit, not the grader); stub cases replace linear_regression's.
    hostile = [
        c
        for c in HOSTILE
        if not any(p in c.code for p in ("MARKER", "REPO_PATH", "PORT", "OUT_PATH"))
        and "time limit" not in c.says
        and c.where in ("stub", "import")
        and (c.where == "import" or "linear_regression" in modules)
    ]
    kinds = ["correct", "wrong", "broken", "hostile"]
    quarter = -(-count // 4)
    plan = [k for k in kinds for _ in range(quarter)][:count]
    made: dict[str, str] = {}
    counters = {k: 0 for k in kinds}
    for i, kind in enumerate(plan):
        n = counters[kind]
        counters[kind] += 1
        name = f"s{i:02d}-{kind}"
        files = dict(sources)
        if kind == "wrong" and wrong:
            module, variant = wrong[n % len(wrong)]
            files[module] = replace_stub(files[module], variant.stub, variant.code, variant.extra_imports)
        elif kind == "broken":
            shape = n % 3
            if shape == 1:  # nothing handed in
                (folder / name).mkdir()
                made[name] = kind
                continue
            if shape == 2:  # a zip that is not one
                (folder / f"{name}.zip").write_bytes(b"PK\x03\x04 truncated upload")
                made[name] = kind
                continue
            module = modules[n % len(modules)]  # a stub that does not parse
            stub = next(s.name for s in curriculum.module(module).stubs if s.kind == "callable")
            files[module] = files[module].replace(f"def {stub}(", f"def {stub}((", 1)
        elif kind == "hostile" and hostile:
            case = hostile[n % len(hostile)]
            target = "linear_regression" if "linear_regression" in modules else modules[0]
            if case.where == "import":
                files[target] = case.code + files[target]
            else:
                files[target] = replace_stub(files[target], "squared_loss", case.code)
        (folder / name).mkdir()
        for module, text in files.items():
            (folder / name / f"{module}.py").write_text(text, encoding="utf-8")
        made[name] = kind
    return made


def per_stub(out: Path, name: str) -> dict[str, float] | str:
    """Points per stub of one submission's JSON (a status string when it has no tests), to
    1e-4 of a point: nbgrader keeps a test cell's score as the stub's share times its points,
    divekit the sum of its checks' scores, which differ in the last digits of a float."""
    data = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    points: dict[str, float] = {}
    for test in data.get("tests", []):
        stub = test.get("extra_data", {}).get("stub", test["name"])
        points[stub] = points.get(stub, 0.0) + float(test["score"])
    points = {stub: round(value, 4) for stub, value in points.items()}
    return points or f"no tests ({data.get('extra_data', {}).get('status', '?')})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="MODULE", help=f"modules to grade (default {DEFAULT_MODULES})")
    parser.add_argument("--all", action="store_true", help="every module of the curriculum")
    parser.add_argument("--count", type=int, default=20, help="submissions in the class (default 20)")
    parser.add_argument("--legs", nargs="+", choices=[leg.name for leg in LEGS], help="only these legs")
    parser.add_argument("--training", action="store_true", help="grade with the training thresholds")
    args, _ = parser.parse_known_args()  # nox -s bench passes every script the same arguments
    modules = [m.name for m in curriculum.modules()] if args.all else (args.only or DEFAULT_MODULES)
    config = GradingConfig(training=args.training).built()
    legs = [leg for leg in LEGS if not args.legs or leg.name in args.legs]

    with tempfile.TemporaryDirectory(prefix="divekit-class-bench-") as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        kinds = make_class(folder, args.count, modules)
        tally = ", ".join(f"{k} {list(kinds.values()).count(k)}" for k in dict.fromkeys(kinds.values()))
        print(f"class: {len(kinds)} submissions ({tally})")
        print(f"modules: {' '.join(modules)}; training {'on' if args.training else 'off'}; sandbox {config.sandbox}")
        seconds: dict[str, float] = {}
        grades: dict[str, dict] = {}
        for leg in legs:
            out = Path(tmp) / leg.name
            start = time.perf_counter()
            counted = leg.grade(folder, out, config, modules)
            seconds[leg.name] = time.perf_counter() - start if counted is None else counted
            grades[leg.name] = {name: per_stub(out, name) for name in kinds}
            rate = 60.0 * len(kinds) / seconds[leg.name]
            print(f"{leg.name:<10} {seconds[leg.name]:8.1f} s  {rate:6.2f} submissions/min", flush=True)

        def ratio(label: str, fast: str, slow: str) -> None:
            if fast in seconds and slow in seconds:
                print(f"{label:<34} {seconds[slow] / seconds[fast]:5.2f}x throughput")
            else:
                print(f"{label:<34} n/a (a leg was skipped)")

        ratio("local (2 workers) vs nbgrader", "local-2", "nbgrader")
        ratio("2 workers vs 1 worker", "local-2", "local-1")
        ratio("Ray (2 CPUs) vs local (2 workers)", "ray", "local-2")

        def compare(names: list[str], label: str) -> None:
            names = [n for n in names if n in grades]
            if len(names) < 2:
                print(f"grades, {label}: fewer than two legs ran, nothing to compare")
                return
            differ = [n for n in kinds if len({json.dumps(grades[leg][n], sort_keys=True) for leg in names}) > 1]
            if not differ:
                print(f"grades, {label}: {' = '.join(names)} on every submission, per stub")
                return
            counts = {k: sum(kinds[n] == k for n in differ) for k in dict.fromkeys(kinds[n] for n in differ)}
            by_kind = ", ".join(f"{k} {c}" for k, c in counts.items())
            print(f"grades, {label}: {len(differ)} of {len(kinds)} submissions differ ({by_kind}):")
            for n in differ:
                for leg in names:
                    print(f"    {n:<18} {leg:<10} {grades[leg][n]}")

        compare([leg.name for leg in LEGS if leg.name != "nbgrader"], "divekit's legs")
        compare(["local-2", "nbgrader"], "divekit against nbgrader's own route")


if __name__ == "__main__":
    main()
