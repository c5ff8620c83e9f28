"""What isolation costs: grading time of the reference solutions under bubblewrap against
plain processes, in the same run, alternating, median of a few repetitions.

    python benchmarks/isolation.py [--only MODULE ...] [--repeat N] [--training]

Also times one bare worker start (Python + torch, no grading) in each mode, the fixed
cost every module pays once.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from autograder import curriculum
from autograder.config import GradingConfig
from autograder.grading import grade
from autograder.sandbox import Limits, bubblewrap_works, choose_mode, describe_isolation
from autograder.session import WorkerSession

REPO = Path(__file__).resolve().parents[1]


def bare_start(mode: str) -> float:
    start = time.perf_counter()
    with WorkerSession("empty", "empty.py", "", [], limits=Limits(), mode=mode) as s:
        s.start()
    return time.perf_counter() - start


def existing_modules(only: list[str] | None) -> list[str]:
    wanted = only or [m.name for m in curriculum.modules()]
    return [m for m in curriculum.select(wanted) if (REPO / "solutions" / f"{m}.py").exists()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", default=None, help="modules to grade (default: every module with a solution)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--training", action="store_true", help="include the training thresholds (default: --no-training)"
    )
    args = parser.parse_args()
    ok, why = bubblewrap_works()
    if not ok:
        raise SystemExit(f"bubblewrap is not usable here ({why}): nothing to compare")
    modules = existing_modules(args.only)
    modes = ["process", "bwrap"]
    print(
        f"isolation cost, reference solutions of {', '.join(modules)}, "
        f"{'with' if args.training else 'without'} training, median of {args.repeat}"
    )
    for mode in modes:
        print(f"  {mode}: {describe_isolation(mode)}")
    options = {m: GradingConfig(sandbox=m, training=args.training) for m in modes}
    for m in modes:  # warm-up: page cache, reference cache, the judge's own imports
        grade(str(REPO / "solutions"), modules[:1], options[m])
    starts: dict[str, list[float]] = {m: [] for m in modes}
    per_module: dict[tuple[str, str], list[float]] = {}
    totals: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(args.repeat):
        for mode in modes:  # alternate, so that drift in machine load hits both alike
            starts[mode].append(bare_start(mode))
            t0 = time.perf_counter()
            for module in modules:
                t = time.perf_counter()
                report = grade(str(REPO / "solutions"), [module], options[mode])
                per_module.setdefault((mode, module), []).append(time.perf_counter() - t)
                if report.score < report.max_score - 1e-9:
                    print(f"    note: {module} scored {report.score:g}/{report.max_score:g} under {mode}")
            totals[mode].append(time.perf_counter() - t0)
    med = {m: statistics.median(v) for m, v in totals.items()}
    print(f"  {'':<22}{'process':>10}{'bwrap':>10}{'ratio':>8}")
    s = {m: statistics.median(starts[m]) for m in modes}
    print(f"  {'bare worker start':<22}{s['process']:>9.2f}s{s['bwrap']:>9.2f}s{s['bwrap'] / s['process']:>8.2f}")
    for module in modules:
        p = statistics.median(per_module[("process", module)])
        b = statistics.median(per_module[("bwrap", module)])
        print(f"  {module:<22}{p:>9.2f}s{b:>9.2f}s{b / p:>8.2f}")
    print(f"  {'total':<22}{med['process']:>9.2f}s{med['bwrap']:>9.2f}s{med['bwrap'] / med['process']:>8.2f}")
    print(f"  sandbox chosen by default here: {choose_mode('auto')[0]}")


if __name__ == "__main__":
    main()
