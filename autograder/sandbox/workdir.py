"""The worker's private folder: a copy of the harness (the ``worker`` package, without the
probes that hold reference stand-ins), the student's files, and its own tmp and home."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

WORKER_PACKAGE = Path(__file__).resolve().parent.parent / "worker"
HARNESS_NAME = "divekit_worker"
# Probes of one module hold library stand-ins that are, in effect, reference solutions:
# they are not copied into the worker; the judge sends one when a check first needs it.
HARNESS_PROBES = ("__init__.py", "common.py")


def prepare_workdir(workdir: Path, student_files: dict[str, str]) -> tuple[Path, Path]:
    """Copy the harness and the student's files into a private folder."""
    harness = workdir / "harness"
    shutil.copytree(
        WORKER_PACKAGE,
        harness / HARNESS_NAME,
        ignore=_harness_ignore,
    )
    submission = workdir / "submission"
    submission.mkdir(parents=True)
    for name, text in student_files.items():
        (submission / name).write_text(text, encoding="utf-8")
    for sub in ("tmp", "home"):
        (workdir / sub).mkdir(exist_ok=True)
    return harness, submission


def _harness_ignore(folder: str, names: list[str]) -> list[str]:
    skip = [n for n in names if n == "__pycache__" or n.endswith(".pyc")]
    if Path(folder).name == "probes":
        skip += [n for n in names if n.endswith(".py") and n not in HARNESS_PROBES]
    return skip


def probe_source(module: str) -> str | None:
    """The source of the probes for ``module`` (sent to a worker when a check needs them)."""
    if not module.isidentifier():
        return None
    path = WORKER_PACKAGE / "probes" / f"{module}.py"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def hand_over(workdir: Path, uid: int | None) -> None:
    """Let the worker's uid use its folders (and only read the harness)."""
    if uid is None:
        return
    os.chmod(workdir, 0o711)
    for sub in ("submission", "tmp", "home"):
        top = workdir / sub
        for path in [top, *top.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)
    for path in [workdir / "harness", *(workdir / "harness").rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
