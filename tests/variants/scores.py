"""Snapshot the per-test scores of every variant, to prove a refactor changes no grade.

    python -m tests.variants.scores OUT.json [--jobs N] [--examples N]
    python -m tests.variants.scores --compare [--common] BEFORE.json AFTER.json

Each variant is graded with its own options, the process sandbox and ``--examples``
(10 by default, as the snapshot taken before the refactor was); the snapshot maps
``module/stub/variant`` to ``{test name: [score, status]}``.
``--compare`` prints every test whose score or status differs, and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import __path__ as VARIANTS_PATH
from .harness import grade_variant


def _variants():
    for info in sorted(pkgutil.iter_modules(VARIANTS_PATH), key=lambda m: m.name):
        if info.name in ("harness", "scores"):
            continue
        mod = importlib.import_module(f"{__package__}.{info.name}")
        for kind in ("WRONG", "RIGHT"):
            for v in getattr(mod, kind, []):
                yield info.name, kind, v


def _grade(job):
    module, kind, variant, examples, training = job
    extra = {} if training else {"training": False}
    with tempfile.TemporaryDirectory() as tmp:
        report = grade_variant(Path(tmp), module, variant, examples=examples, sandbox="process", **extra)
    key = f"{module}/{kind}/{variant}"
    return key, {t.name: [round(t.score, 9), t.status] for t in report.tests}


def snapshot(out: Path, jobs: int, examples: int, training: bool = True) -> None:
    work = [(m, k, v, examples, training) for m, k, v in _variants()]
    result = {}
    with ProcessPoolExecutor(jobs) as pool:
        for i, (key, tests) in enumerate(pool.map(_grade, work), 1):
            result[key] = tests
            print(f"[{i}/{len(work)}] {key}", flush=True)
            # Written after every variant, so an interrupted snapshot still compares.
            partial = out.with_suffix(".partial")
            partial.write_text(json.dumps(result, indent=1, sort_keys=True))
            partial.replace(out)


def compare(before: Path, after: Path, common_only: bool = False) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    changed = 0
    keys = sorted(set(a) & set(b)) if common_only else sorted(set(a) | set(b))
    for key in keys:
        if key not in a or key not in b:
            print(f"{key}: only in {'after' if key in b else 'before'}")
            changed += 1
            continue
        for name in sorted(set(a[key]) | set(b[key])):
            x, y = a[key].get(name), b[key].get(name)
            if x != y:
                print(f"{key}: {name}: {x} -> {y}")
                changed += 1
    print(f"{changed} difference(s) over {len(keys)} variants")
    return 1 if changed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--compare", action="store_true")
    p.add_argument("--common", action="store_true", help="with --compare: only variants in both snapshots")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--examples", type=int, default=10)
    p.add_argument(
        "--no-training", action="store_true", help="unit checks only (a quick snapshot; training checks not compared)"
    )
    args = p.parse_args(argv)
    if args.compare:
        return compare(*args.paths, common_only=args.common)
    snapshot(args.paths[0], args.jobs, args.examples, training=not args.no_training)
    return 0


if __name__ == "__main__":
    sys.exit(main())
