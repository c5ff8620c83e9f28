"""How long grading takes: one whole submission (the reference solutions) with a cold and
a warm reference cache, with and without the training thresholds (and, warm, one module
at a time against the default grading lanes, with hypothesis drawing every example anew
against replaying the recorded ones, and computing the reference's values against looking
up those its calibration run kept); per module; what each
training threshold costs and reaches; and a batch of 1, 10 (and 50) submissions.

Baseline in the same run: the cost of starting one bare worker (a Python process that
imports torch), which every module pays once. Usage:

    python benchmarks/grading_time.py [--only MODULE_OR_TASK ...] [--repeat N] [--sandbox MODE]
                                      [--device D] [--batch N ...] [--jobs J] [--skip-cold]

``--batch 50`` grades 50 submissions (half copies of the solutions, half the solutions
with one known mistake each, from tests/variants); at about 20 s a submission on two cores
that is several minutes, so it is left out unless asked for (default ``--batch 1 10``).
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from autograder import batch, curriculum
from autograder.config import GradingConfig
from autograder.framework import drawn_examples
from autograder.grading import grade
from autograder.sandbox import Limits
from autograder.session import WorkerSession

REPO = Path(__file__).resolve().parents[1]


def bare_worker_seconds(mode: str) -> float:
    start = time.perf_counter()
    with WorkerSession("empty", "empty.py", "", [], limits=Limits(), mode=mode) as s:
        s.start()
    return time.perf_counter() - start


@contextmanager
def reference_cache(folder: str | None):
    """Reference runs cached in ``folder`` (an empty one: a cold cache) while inside."""
    before = os.environ.get("DIVEKIT_CACHE")
    if folder is not None:
        os.environ["DIVEKIT_CACHE"] = folder
    try:
        yield
    finally:
        if folder is not None:
            if before is None:
                os.environ.pop("DIVEKIT_CACHE", None)
            else:
                os.environ["DIVEKIT_CACHE"] = before


def whole_submission(modules, options, base: float, cold: bool) -> None:
    """One submission, every selected module, as one grade: cold and warm, +-training."""
    print("  one whole submission (the solutions):")
    with tempfile.TemporaryDirectory(prefix="divekit-cold-cache-") as empty:
        for training in (True, False):
            opts = replace(options, training=training)
            label = "with training   " if training else "without training"
            if cold:
                with reference_cache(tempfile.mkdtemp(dir=empty)):
                    t = time.perf_counter()
                    grade(str(REPO / "solutions"), modules, opts)
                    cold_s = time.perf_counter() - t
                print(f"    {label} cold reference cache {cold_s:7.2f} s ({cold_s / base:.1f}x a bare worker start)")
            grade(str(REPO / "solutions"), modules, opts)  # warms the cache
            t = time.perf_counter()
            report = grade(str(REPO / "solutions"), modules, opts)
            warm_s = time.perf_counter() - t
            print(f"    {label} warm reference cache {warm_s:7.2f} s ({warm_s / base:.1f}x a bare worker start)")
            if report.score < report.max_score - 1e-9:
                print(f"    note: the solutions scored {report.score:g}/{report.max_score:g}")
            if opts.module_lanes() > 1:  # the same grading, one module at a time
                t = time.perf_counter()
                single = grade(str(REPO / "solutions"), modules, replace(opts, lanes=1))
                one_s = time.perf_counter() - t
                same = [(x.name, x.score) for x in single.tests] == [(x.name, x.score) for x in report.tests]
                verdict = "same" if same else "DIFFERENT"
                print(
                    f"    {label} one module at a time {one_s:7.2f} s "
                    f"({opts.module_lanes()} lanes: {one_s / warm_s:.2f}x faster; {verdict} scores)"
                )
            # The same grading with hypothesis drawing every example again (no replay of the
            # recorded ones: framework/drawn_examples.py).
            os.environ[drawn_examples.ENV_VAR] = "0"
            try:
                t = time.perf_counter()
                drawn = grade(str(REPO / "solutions"), modules, opts)
                drawn_s = time.perf_counter() - t
            finally:
                del os.environ[drawn_examples.ENV_VAR]
            same = [(x.name, x.score) for x in drawn.tests] == [(x.name, x.score) for x in report.tests]
            print(
                f"    {label} hypothesis drawing anew {drawn_s:7.2f} s "
                f"(replayed examples: {drawn_s / warm_s:.2f}x faster; {'same' if same else 'DIFFERENT'} scores)"
            )
            # The same grading computing every value it takes from the reference again (none
            # looked up in the values its calibration run kept: framework/reference_runs.py).
            t = time.perf_counter()
            computed = grade(str(REPO / "solutions"), modules, replace(opts, reference_values=False))
            computed_s = time.perf_counter() - t
            same = [(x.name, x.score) for x in computed.tests] == [(x.name, x.score) for x in report.tests]
            print(
                f"    {label} reference values computed {computed_s:7.2f} s "
                f"(kept values: {computed_s / warm_s:.2f}x faster; {'same' if same else 'DIFFERENT'} scores)"
            )


def per_module(modules, options, repeat: int, base: float) -> None:
    training_tests = []
    for training in (False, True):
        opts = replace(options, training=training)
        times: dict[str, list[float]] = {m: [] for m in modules}
        for _ in range(repeat):
            for m in modules:
                t = time.perf_counter()
                report = grade(str(REPO / "solutions"), [m], opts)
                times[m].append(time.perf_counter() - t)
                if report.score < report.max_score - 1e-9:
                    print(f"    note: {m} scored {report.score:g}/{report.max_score:g}")
                if training:
                    training_tests += [x for x in report.tests if x.kind == "training"]
        print(f"  per module, {'with' if training else 'without'} training thresholds (warm cache):")
        tasks: dict[str, float] = {}
        for m in modules:
            seconds = statistics.median(times[m])
            tasks[curriculum.module(m).task] = tasks.get(curriculum.module(m).task, 0) + seconds
            print(f"    {m:<20} {seconds:6.2f} s")
        for task, seconds in tasks.items():
            print(f"    {task} total        {seconds:6.2f} s ({seconds / base:.1f}x a bare worker start)")
    if training_tests:
        total = sum(t.seconds for t in training_tests) / repeat
        print(f"  training thresholds ({total:.1f} s a submission; the reference's own run, cached, not included):")
        for t in training_tests[: len(training_tests) // repeat]:
            print(f"    {t.stub:<32} {t.seconds:6.2f} s  {t.output.splitlines()[0][:110] if t.output else ''}")


def submissions(folder: Path, count: int, modules) -> None:
    """``count`` submissions in ``folder``: even ones copies of the solutions, odd ones the
    solutions with one wrong variant (tests/variants) each, module by module in turn."""
    sys.path.insert(0, str(REPO))  # the variants live in the test suite, not the package
    from tests.variants import harness as variant_harness

    per_module = [
        [(m, v) for v in importlib.import_module(f"tests.variants.{m}").WRONG] for m in modules if m != "quiz"
    ]
    # One module after another, so that ten submissions already spread over the course.
    wrong = [mv for row in itertools.zip_longest(*per_module) for mv in row if mv] or [(None, None)]
    for i in range(count):
        target = folder / f"s{i:03d}"
        target.mkdir()
        changed = wrong[(i // 2) % len(wrong)] if i % 2 else (None, None)
        for path in (REPO / "solutions").glob("*.py"):
            text = path.read_text(encoding="utf-8")
            if changed[0] == path.stem:
                v = changed[1]
                text = variant_harness.replace_stub(text, v.stub, v.code, v.extra_imports)
            (target / path.name).write_text(text, encoding="utf-8")


def batches(sizes, modules, options, jobs: int, base: float) -> None:
    print(f"  a batch of submissions (divekit batch, {jobs} at a time, warm cache, with training):")
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="divekit-batch-") as tmp:
            folder, out = Path(tmp) / "in", Path(tmp) / "out"
            folder.mkdir()
            submissions(folder, count, modules)
            t = time.perf_counter()
            rows = batch.grade_all(folder, out, options, only=modules, jobs=jobs)
            seconds = time.perf_counter() - t
            errors = sum(r.status != "graded" for r in rows)
            print(
                f"    {count:>3} submissions {seconds:8.2f} s, {seconds / count:6.2f} s a submission "
                f"({seconds / count / base:.1f}x a bare worker start){f'; {errors} not graded' if errors else ''}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, nargs="*", default=[1, 10], help="batch sizes to time (e.g. 1 10 50)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded side by side in a batch")
    parser.add_argument("--skip-cold", action="store_true", help="no cold reference cache run")
    args, _ = parser.parse_known_args()  # nox -s bench passes every script the same arguments
    options = GradingConfig.build(sandbox=args.sandbox, device=args.device)  # resolves mode and device once
    mode, device = options.mode, options.device
    modules = list(curriculum.select(args.only))
    print(f"grading time of the reference solutions on {device}; sandbox: {mode}")
    base = statistics.median(bare_worker_seconds(mode) for _ in range(3))
    print(f"  baseline: one bare worker start (imports torch): {base:.2f} s")
    whole_submission(modules, options, base, cold=not args.skip_cold)
    per_module(modules, options, args.repeat, base)
    if args.batch:
        batches(args.batch, modules, options, args.jobs, base)


if __name__ == "__main__":
    main()
