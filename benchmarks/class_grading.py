"""Class grading three ways on the same generated class: divekit on this machine (1 and 2
workers), divekit through a real local Ray instance, and nbgrader's ``nbgrader autograde``.

The class (``--count``, default 20) is generated from solutions/ and the test suite's own
wrong variants, never from code copied here: correct submissions (the solutions), partly
wrong ones (one known mistake from tests/variants each), broken ones (a stub that does not
parse, an empty folder, a zip that is not one) and hostile ones (cases from tests/hostile).
Each leg grades the whole class from scratch into its own folder; the figures are wall
time and submissions per minute, with the ratios between legs measured in this run (the
baseline is the 1-worker local leg), and whether every leg gives every submission exactly
the same points per stub. Usage:

    python benchmarks/class_grading.py [--only MODULE ...] [--all] [--count N] [--legs NAME ...]
                                       [--training]
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
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


class NotYetAvailable(Exception):
    """A leg whose tool is not on this branch yet (it is reported as skipped, not as 0)."""


@dataclass
class Leg:
    name: str
    grade: Callable[[Path, Path, GradingConfig, list[str]], None]  # (class, out dir, config, modules)


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


def _nbgrader(folder: Path, out: Path, config: GradingConfig, modules: list[str]) -> None:
    # `nbgrader autograde` needs a course folder (source notebooks with divekit's test
    # cells, nbgrader_config.py, the gradebook): `divekit nbgrader export` writes it, and it
    # is built on another branch. Wire it here: export, place each submission as
    # submitted/<name>/<assignment>/<module>.ipynb, run `nbgrader autograde`, read the
    # per-cell scores from gradebook.db into out/<name>.json's shape.
    raise NotYetAvailable("skipped: needs divekit nbgrader export")


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
    """Points per stub of one submission's JSON (a status string when it has no tests)."""
    data = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    points: dict[str, float] = {}
    for test in data.get("tests", []):
        stub = test.get("extra_data", {}).get("stub", test["name"])
        points[stub] = round(points.get(stub, 0.0) + float(test["score"]), 6)
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
            try:
                leg.grade(folder, out, config, modules)
            except NotYetAvailable as why:
                print(f"{leg.name:<10} {why}")
                continue
            seconds[leg.name] = time.perf_counter() - start
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

        names = list(grades)
        disagree = [n for n in kinds if len({json.dumps(grades[leg][n], sort_keys=True) for leg in names}) > 1]
        if len(names) < 2:
            print("grades: only one leg ran, nothing to compare")
        elif not disagree:
            print(f"grades: all {len(names)} legs agree on every submission, per stub, exactly")
        else:
            print(f"grades: {len(disagree)} of {len(kinds)} submissions differ between legs:")
            for n in disagree:
                for leg in names:
                    print(f"    {n:<18} {leg:<10} {grades[leg][n]}")


if __name__ == "__main__":
    main()
