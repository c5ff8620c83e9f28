"""Gradescope: ``divekit gradescope build OUT.zip`` writes the autograder zip, and
``divekit gradescope run`` is what its ``run_autograder`` calls.

Gradescope unpacks the zip into ``/autograder/source``, runs its ``setup.sh`` once when it
builds the image, and runs ``/autograder/run_autograder`` for each submission, which finds
the student's files in ``/autograder/submission`` and must leave
``/autograder/results/results.json`` (this grader also leaves ``report.html`` there, the
HTML report with the pictures). The zip holds the grader *with* the solutions (it
is uploaded by the instructor and never seen by students) and, when given, the course's
secret seed. Every path below hangs off one root (``$AUTOGRADER_ROOT``, default
``/autograder``), so the tests run the very same scripts in a temporary folder.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from .reference import REPO

SEED_FILE = "course-seed"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
cd "$(dirname "$0")"
if command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq bubblewrap python3-venv python3-pip >/dev/null
fi
python3 -m venv /opt/divekit
/opt/divekit/bin/python -m pip install -q --upgrade pip
/opt/divekit/bin/python -m pip install -q .
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission. The grader writes results.json itself, after
# grading, from the judge process: nothing the student's code does can write it.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${DIVEKIT_PYTHON:-/opt/divekit/bin/python}"
export PYTHONPATH="$ROOT/source${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m autograder.cli gradescope run --root "$ROOT"
"""

# What of the instructor's checkout goes into the zip (besides the two scripts).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "autograder", "solutions", "datasets/manifest.toml")


def build(out: Path, seed: str = "") -> Path:
    """The autograder zip: setup.sh, run_autograder, the grader and solutions, the seed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable once unpacked
            zf.writestr(info, text)
        for part in SOURCES:
            path = REPO / part
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                if "__pycache__" in f.parts or f.suffix == ".pyc" or "answer_key" in f.parts:
                    continue
                zf.write(f, str(f.relative_to(REPO)))
        if seed:
            zf.writestr(SEED_FILE, seed)
    os.replace(tmp, out)
    return out


def run(root: Path) -> int:
    """Grade ``root/submission`` into ``root/results/results.json`` (Gradescope's layout).

    A submission that cannot be graded gets a results.json saying why (score 0: it is the
    student's). A fault of the grader leaves no results.json and exits 1 with the reason, so
    Gradescope shows an autograder failure (the instructor's to fix), never a student's 0.
    """
    from . import batch
    from .config import GradingConfig

    source, results = root / "source", root / "results"
    results.mkdir(parents=True, exist_ok=True)
    seed_file = source / SEED_FILE
    seed = seed_file.read_text(encoding="utf-8").strip() if seed_file.exists() else ""
    config = GradingConfig(solutions=str(source / "solutions"), seed=seed).built()
    out = results / "results.json"
    # Gradescope reads results.json only; report.html (the same results with the pictures,
    # one self-contained page) is written beside it, and results.json's output names it.
    page = results / "report.html"
    summary = batch.grade_one(str(root / "submission"), str(out), config, html_out=str(page))
    if summary["status"] == "error":
        out.unlink(missing_ok=True)
        page.unlink(missing_ok=True)
        print(f"divekit: grading stopped, a fault of the grader (no student is scored for it): {summary['reason']}")
        return 1
    print(json.dumps({k: summary[k] for k in ("status", "score", "max_score")}))
    return 0
