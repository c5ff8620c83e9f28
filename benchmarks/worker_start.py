"""What the fork server saves: a forked worker against a fresh one, a module with a
hanging stub, and a whole submission without training, old path against new.

All figures come from this run. For the hanging stub, "before" is the checkout in
``--before`` (a checkout of the code before the fork server, such as a ``git worktree``
of an older commit: one call limit for every call, and paid again by every check that
calls the stub; left out when not given), run in a subprocess on the same submission; for the whole
submission the old path is this code with the fork server off (``DIVEKIT_FORKSERVER=0``).
No assertions on time: the figures are printed. Usage:

    python benchmarks/worker_start.py [--sandbox MODE] [--repeat N] [--call-seconds S] [--before DIR] [--skip-full]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from autograder import curriculum
from autograder.config import GradingConfig
from autograder.grading import grade
from autograder.sandbox import Limits
from autograder.sandbox.zygote import fork_server
from autograder.session import WorkerSession

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.variants.harness import replace_stub  # noqa: E402 - the tests' own stub surgery

HANGING = "def softmax(X):\n    while True:\n        pass\n"


def worker_seconds(mode: str, limits: Limits, server=None) -> float:
    start = time.perf_counter()
    with WorkerSession("empty", "empty.py", "", [], limits=limits, mode=mode, fork_server=server) as s:
        s.start()
    return time.perf_counter() - start


def timed_grade(folder: str, only, options: GradingConfig, forkserver: bool):
    os.environ["DIVEKIT_FORKSERVER"] = "1" if forkserver else "0"
    start = time.perf_counter()
    report = grade(folder, only, options)
    return time.perf_counter() - start, report


BEFORE = """
import json, sys, time
from autograder.config import GradingConfig
from autograder.grading import grade
from autograder.sandbox import Limits
limits = Limits(call_seconds=float(sys.argv[3]), module_seconds=20 * float(sys.argv[3]))
options = GradingConfig(sandbox=sys.argv[2], examples=GradingConfig().examples, training=False, limits=limits)
start = time.perf_counter()
report = grade(sys.argv[1], ["softmax_regression"], options)
seconds = time.perf_counter() - start
waits = sum("no answer within" in t.output for t in report.tests)
print(json.dumps([seconds, waits, report.score]))
"""


def before(checkout: str, folder: str, mode: str, call_seconds: float) -> tuple[float, int, float]:
    """Grade ``folder`` with the code of ``checkout`` (its own package first on the path)."""
    env = dict(os.environ, PYTHONPATH=checkout)
    argv = [sys.executable, "-c", BEFORE, folder, mode, str(call_seconds)]
    out = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, check=True).stdout
    seconds, waits, score = json.loads(out.strip().splitlines()[-1])
    return seconds, waits, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--call-seconds", type=float, default=20.0, help="the uncalibrated limit (main's: 60)")
    parser.add_argument("--before", default=None, help="a checkout of the code before the fork server (optional)")
    parser.add_argument("--skip-full", action="store_true", help="leave out the whole submission")
    args = parser.parse_args()
    options = GradingConfig.build(sandbox=args.sandbox, training=False)
    limits = replace(options.limits, call_seconds=args.call_seconds, module_seconds=20 * args.call_seconds)
    options = replace(options, limits=limits)
    mode = options.mode
    print(f"sandbox: {mode}, device {options.device}, {os.cpu_count()} CPUs")

    fresh = [worker_seconds(mode, limits) for _ in range(args.repeat)]
    with fork_server(limits, mode, options.device) as server:
        first = worker_seconds(mode, limits, server)  # starts the zygote
        forked = [worker_seconds(mode, limits, server) for _ in range(args.repeat)]
    print(f"  fresh worker start (baseline, imports torch): {statistics.median(fresh):6.2f} s")
    print(f"  fork server start + first fork:               {first:6.2f} s")
    print(
        f"  forked worker start:                          {statistics.median(forked):6.2f} s "
        f"({statistics.median(fresh) / statistics.median(forked):.0f}x faster)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        source = (REPO / "solutions" / "softmax_regression.py").read_text(encoding="utf-8")
        (Path(tmp) / "softmax_regression.py").write_text(replace_stub(source, "softmax", HANGING))
        # Warm the reference cache and the calibration first (a course's second student on).
        grade(str(REPO / "solutions"), ["softmax_regression"], options)
        new, new_report = timed_grade(tmp, ["softmax_regression"], options, True)
        new_waits = sum("no answer within" in t.output for t in new_report.tests)
        print(f"  softmax_regression with a hanging softmax (uncalibrated limit {args.call_seconds:.0f} s):")
        if args.before:
            old, old_waits, old_score = before(args.before, tmp, mode, args.call_seconds)
            print(f"    before ({args.before}): {old:7.1f} s, {old_waits} timeout(s) waited out, score {old_score:.2f}")
        score = new_report.score
        print(f"    after (this tree):      {new:7.1f} s, {new_waits} timeout(s) waited out, score {score:.2f}")

    if not args.skip_full:
        modules = list(curriculum.select(None))
        folder = str(REPO / "solutions")
        grade(folder, modules, options)  # warm
        for label, on in (("old path", False), ("new path", True)):
            seconds, report = timed_grade(folder, modules, options, on)
            print(f"  full submission without training, {label}: {seconds:6.1f} s (score {report.score:.1f})")
    os.environ.pop("DIVEKIT_FORKSERVER", None)


if __name__ == "__main__":
    main()
