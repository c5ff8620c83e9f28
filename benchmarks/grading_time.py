"""How long grading takes, per module, with and without the training thresholds.

Baseline in the same run: the cost of starting one bare worker (a Python process that
imports torch), which every module pays once. Usage:

    python benchmarks/grading_time.py [--only MODULE ...] [--repeat N] [--sandbox MODE]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from autograder import curriculum
from autograder.grading import GradeOptions, grade
from autograder.sandbox import choose_mode
from autograder.session import WorkerSession

REPO = Path(__file__).resolve().parents[1]


def bare_worker_seconds(mode: str) -> float:
    start = time.perf_counter()
    with WorkerSession("empty", "empty.py", "", [], limits=GradeOptions().limits, mode=mode) as s:
        s.start()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=None)
    parser.add_argument("--task", default="Task 1", help="used when --only is not given")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sandbox", default="auto")
    args = parser.parse_args()
    only = args.only or [args.task]
    mode, why = choose_mode(args.sandbox)
    modules = list(curriculum.select(only))
    print(f"grading time of {', '.join(modules)} (reference solutions), sandbox: {mode} ({why})")
    base = statistics.median(bare_worker_seconds(mode) for _ in range(3))
    print(f"  baseline: one bare worker start (imports torch): {base:.2f} s")
    options = GradeOptions(sandbox=mode)
    # Warm the reference cache first so that timings are those of a course's Nth student.
    grade(str(REPO / "solutions"), only, options)
    for training in (False, True):
        opts = replace(options, training=training)
        per_module: dict[str, list[float]] = {m: [] for m in modules}
        totals = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for m in modules:
                t = time.perf_counter()
                report = grade(str(REPO / "solutions"), [m], opts)
                per_module[m].append(time.perf_counter() - t)
                assert report.score == report.max_score, f"{m}: reference lost points"
            totals.append(time.perf_counter() - t0)
        label = "with training thresholds" if training else "without training thresholds"
        print(f"  {label}: total {statistics.median(totals):.2f} s "
              f"({statistics.median(totals) / base:.1f}x a bare worker start)")
        for m in modules:
            print(f"    {m:<20} {statistics.median(per_module[m]):6.2f} s")


if __name__ == "__main__":
    main()
