"""How long grading takes, per module and per task, with and without the training
thresholds, and what each training threshold costs and reaches.

Baseline in the same run: the cost of starting one bare worker (a Python process that
imports torch), which every module pays once. Usage:

    python benchmarks/grading_time.py [--only MODULE_OR_TASK ...] [--repeat N] [--sandbox MODE]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from autograder import curriculum
from autograder.config import GradingConfig
from autograder.grading import grade
from autograder.sandbox import Limits
from autograder.session import WorkerSession

REPO = Path(__file__).resolve().parents[1]


def bare_worker_seconds(mode: str) -> float:
    start = time.perf_counter()
    with WorkerSession("empty", "empty.py", "", [], limits=Limits(), mode=mode) as s:
        s.start()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    options = GradingConfig.build(sandbox=args.sandbox, device=args.device)  # resolves mode and device once
    mode, device = options.mode, options.device
    modules = list(curriculum.select(args.only))
    print(f"grading time of the reference solutions on {device}; sandbox: {mode}")
    base = statistics.median(bare_worker_seconds(mode) for _ in range(3))
    print(f"  baseline: one bare worker start (imports torch): {base:.2f} s")
    # Warm the reference cache first: timings are those of a course's second student on.
    grade(str(REPO / "solutions"), modules, options)
    training_tests = []
    for training in (False, True):
        opts = replace(options, training=training)
        per_module: dict[str, list[float]] = {m: [] for m in modules}
        for _ in range(args.repeat):
            for m in modules:
                t = time.perf_counter()
                report = grade(str(REPO / "solutions"), [m], opts)
                per_module[m].append(time.perf_counter() - t)
                assert report.score == report.max_score, f"{m}: the reference lost points"
                if training:
                    training_tests += [x for x in report.tests if x.kind == "training"]
        label = "with training thresholds" if training else "without training thresholds"
        print(f"  {label}:")
        tasks: dict[str, float] = {}
        for m in modules:
            seconds = statistics.median(per_module[m])
            tasks[curriculum.module(m).task] = tasks.get(curriculum.module(m).task, 0) + seconds
            print(f"    {m:<20} {seconds:6.2f} s")
        for task, seconds in tasks.items():
            print(f"    {task} total        {seconds:6.2f} s ({seconds / base:.1f}x a bare worker start)")
    if training_tests:
        print("  training thresholds (the reference's own run, cached, is not included):")
        for t in training_tests:
            print(f"    {t.stub:<32} {t.seconds:6.2f} s  {t.output.splitlines()[0][:110] if t.output else ''}")


if __name__ == "__main__":
    main()
