"""Shared by the sandbox and hostile-submission tests: modes, fast options, leftovers."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.config import GradingConfig
from autograder.grading import grade
from autograder.report import Report
from autograder.sandbox import Limits
from autograder.sandbox.host import required_sandbox

from ..variants.harness import replace_stub

REPO = Path(__file__).resolve().parents[2]
REFERENCE = (REPO / "solutions" / "linear_regression.py").read_text(encoding="utf-8")
TARGET = "linear_regression.squared_loss"
OTHER = "linear_regression.linreg"
ONLY = [TARGET, OTHER]
FAST_LIMITS = Limits(call_seconds=5, module_seconds=90)


def _bwrap_param():
    ok, why = sandbox.bubblewrap_works()
    if required_sandbox():
        return pytest.param("bwrap", id="bwrap")  # required (CI): a broken bubblewrap fails these, never skips
    return pytest.param(
        "bwrap", id="bwrap", marks=pytest.mark.skipif(not ok, reason=f"bubblewrap unavailable here: {why}")
    )


# Every test that takes ``mode`` runs in both: plain processes and under bubblewrap.
MODES = [pytest.param("process", id="process"), _bwrap_param()]


def protections(mode: str) -> set[str]:
    """What this host guarantees a worker in ``mode`` cannot do."""
    h = sandbox.host()
    if mode == "bwrap":
        return {"files", "network", "signals", "children"}
    got = set()
    if h.landlock_abi >= 1:
        got.add("files")
    if h.landlock_abi >= 4:
        got.add("network")  # TCP only; UDP and unix sockets stay open in process mode
    if h.landlock_abi >= 6 or h.process_uid:
        got.add("signals")
    if h.process_uid:
        got.add("children")
    return got


def marker() -> str:
    """A short unique string that hostile code puts on every process it starts."""
    return "dkh" + uuid.uuid4().hex[:10]


def leftovers(mark: str) -> list[str]:
    """Live processes whose command line, name or environment holds ``mark`` (/proc only)."""
    found = []
    needle = mark.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
            if stat[stat.rindex(b")") + 2 :][:1] in (b"Z", b"X"):
                continue
        except (OSError, ValueError):
            continue
        for part in ("cmdline", "comm", "environ"):
            try:
                if needle in Path(f"/proc/{name}/{part}").read_bytes():
                    found.append(f"{name}: {Path(f'/proc/{name}/cmdline').read_bytes()[:200]!r}")
                    break
            except OSError:
                continue
    return found


def submission(tmp_path: Path, text: str, name: str = "sub") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "linear_regression.py").write_text(text, encoding="utf-8")
    return folder


def with_stub(code: str, stub: str = "squared_loss") -> str:
    return replace_stub(REFERENCE, stub, code)


def grade_text(tmp_path: Path, text: str, mode: str, only=ONLY, limits: Limits = FAST_LIMITS, **options) -> Report:
    folder = submission(tmp_path, text)
    opts = GradingConfig(sandbox=mode, examples=options.pop("examples", 3), training=False, limits=limits, **options)
    return grade(str(folder), list(only), opts)


def stub_fraction(report: Report, stub: str) -> float:
    got, total = report.by_stub()[stub]
    return got / total if total else 0.0


def feedback(report: Report, stub: str = TARGET) -> str:
    return "\n".join(t.output for t in report.tests if t.stub == stub)


def limits(**changes) -> Limits:
    return replace(FAST_LIMITS, **changes)
