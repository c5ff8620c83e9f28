"""Developer and CI entry points. Every session shares one virtual environment
(.nox/divekit), so torch (a few GB) is installed once and kept between sessions.

    nox -s grade        grade the reference solutions (the main job, on the embedded default)
    nox -s tests        the whole test suite (what CI runs)
    nox -s quick        the local loop: the suite less the tests marked slow
    nox -s grade_stubs  grade the shipped stubs (all zero)
    nox -s verify       rustlings-style: every solution full marks, every stub zero
    nox -s lint         ruff check, ruff format --check and mypy on the framework's surfaces
    nox -s bench        grading-time benchmarks
    nox -s bench_class  class grading: local 1 and 2 workers, local Ray, nbgrader (20 submissions)
    nox -s docs         the docs site into out/site (mkdocs build --strict: warnings are errors)
    nox -s audit        mutation testing of the checks (divekit audit), out/audit/
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".nox" / "divekit"
SHARED_DATA = ROOT.parent / "shared" / "data"
# Debian's dataset-fashion-mnist (the real data, recompressed; divekit knows it by content).
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
nox.options.sessions = ["tests"]


def _bin(name: str) -> str:
    return str(VENV / "bin" / name)


def _env(session: nox.Session) -> dict[str, str]:
    """Create or refresh the shared environment; returns the env for commands."""
    stamp = VENV / ".divekit-stamp"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == want and Path(_bin("python")).exists()):
        session.log(f"installing divekit and its dependencies into {VENV}")
        session.run(sys.executable, "-m", "venv", "--clear", str(VENV), external=True)
        session.run(_bin("python"), "-m", "pip", "install", "-q", "--upgrade", "pip", external=True)
        session.run(_bin("python"), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]", external=True)
        stamp.write_text(want)
    env = {"PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(VENV)}
    if "DIVEKIT_DATA" not in os.environ and SHARED_DATA.is_dir():
        env["DIVEKIT_DATA"] = str(SHARED_DATA)  # the airfoil file, offline
    if "DIVEKIT_FASHION_MNIST" not in os.environ and DEBIAN_FASHION.is_dir():
        env["DIVEKIT_FASHION_MNIST"] = str(DEBIAN_FASHION)  # training thresholds on the real data
    return env


def _bubblewrap(session: nox.Session) -> None:
    """Install bubblewrap where we can (root on Debian/Ubuntu): the sandbox tests need it.
    With DIVEKIT_REQUIRE_SANDBOX=bwrap (CI) they fail without it, instead of skipping."""
    if shutil.which("bwrap"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        session.log("installing bubblewrap (apt-get)")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "bubblewrap"], check=False)
    if not shutil.which("bwrap"):
        session.warn("bubblewrap is not installed: sandbox tests will be skipped (apt-get install bubblewrap)")
    if not DEBIAN_FASHION.is_dir():
        session.warn(
            f"no Fashion-MNIST at {DEBIAN_FASHION}: training thresholds are tested on the digits fallback only "
            "(apt-get install dataset-fashion-mnist)"
        )


@nox.session(venv_backend="none")
def grade(session: nox.Session) -> None:
    """Grade the reference solutions; writes out/solutions.json (Gradescope format)."""
    env = _env(session)
    _bubblewrap(session)
    out = ROOT / "out" / "solutions.json"
    session.run(
        _bin("divekit"),
        "grade",
        str(ROOT / "solutions"),
        "--format",
        "json",
        "--out",
        str(out),
        *session.posargs,
        env=env,
        external=True,
    )
    session.run(
        _bin("divekit"),
        "grade",
        str(ROOT / "solutions"),
        "--format",
        "text",
        "--no-training",
        *session.posargs,
        env=env,
        external=True,
    )


@nox.session(venv_backend="none")
def grade_stubs(session: nox.Session) -> None:
    """Grade the shipped exercises: every stub must score 0."""
    env = _env(session)
    session.run(_bin("divekit"), "grade", str(ROOT / "exercises"), *session.posargs, env=env, external=True)


@nox.session(venv_backend="none")
def verify(session: nox.Session) -> None:
    """Every solution gets full marks and every shipped stub gets 0 (rustlings' verify)."""
    env = _env(session)
    session.run(_bin("divekit"), "release", "--check", env=env, external=True)
    session.run(_bin("divekit"), "verify", *session.posargs, env=env, external=True)


@nox.session(venv_backend="none")
def audit(session: nox.Session) -> None:
    """Mutation testing of the checks over the whole curriculum: out/audit/ gets the
    results (resumable), audit.json and audit.html (nox -s audit -- ARGS replaces the
    defaults, e.g. -- mlp --max-mutants 20 --training)."""
    env = _env(session)
    _bubblewrap(session)
    out = ROOT / "out" / "audit"
    args = session.posargs or ["--max-mutants", "8", "--jobs", str(max(1, (os.cpu_count() or 1)))]
    common = ["--results", str(out / "results.jsonl")]
    session.run(
        _bin("divekit"),
        "audit",
        *args,
        *common,
        "--format",
        "json",
        "--out",
        str(out / "audit.json"),
        env=env,
        external=True,
    )
    # The same mutants again: all in the results file, so this only renders the page.
    session.run(
        _bin("divekit"),
        "audit",
        *args,
        *common,
        "--format",
        "html",
        "--out",
        str(out / "audit.html"),
        env=env,
        external=True,
    )


@nox.session(venv_backend="none")
def pack(session: nox.Session) -> None:
    """The student pack: the answer key built from solutions/, then out/student-pack
    (nox -s pack -- OUT to write it elsewhere)."""
    env = _env(session)
    out = session.posargs[0] if session.posargs else str(ROOT / "out" / "student-pack")
    key = str(ROOT / "out" / "answer-key")
    session.run(_bin("divekit"), "key", "build", "--out", key, env=env, external=True)
    session.run(_bin("divekit"), "pack", "student", out, "--key", key, env=env, external=True)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The whole test suite (HYPOTHESIS_PROFILE=thorough for a long property run)."""
    env = _env(session)
    _bubblewrap(session)
    env.setdefault("HYPOTHESIS_PROFILE", os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    if not session.posargs:
        _lint(session, env)
    # The slowest tests are listed at the end, so a CI log shows where its time goes.
    args = session.posargs or ["-n", "auto", "--dist", "loadgroup", "--durations=30"]
    session.run(_bin("python"), "-m", "pytest", *args, env=env, external=True)


@nox.session(venv_backend="none")
def quick(session: nox.Session) -> None:
    """The local loop: every test but those marked slow (training variants, end-to-end runs)."""
    env = _env(session)
    _bubblewrap(session)
    env.setdefault("HYPOTHESIS_PROFILE", os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    args = session.posargs or ["-n", "auto", "--dist", "loadgroup"]
    session.run(_bin("python"), "-m", "pytest", "-m", "not slow", *args, env=env, external=True)


def _lint(session: nox.Session, env: dict[str, str]) -> None:
    session.run(_bin("ruff"), "check", str(ROOT), env=env, external=True)
    session.run(_bin("ruff"), "format", "--check", str(ROOT), env=env, external=True)
    # The framework's public surfaces (Ctx, Check, expectations, the protocol, the config).
    session.run(_bin("mypy"), "--config-file", str(ROOT / "pyproject.toml"), env=env, external=True)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff's lint rules, its formatter, and mypy on the framework's public surfaces."""
    _lint(session, _env(session))


CLASS_BENCH = "class_grading.py"


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Print grading-time figures (each benchmark compares against a baseline in-run).
    The class benchmark grades a whole generated class and has its own session."""
    env = _env(session)
    _bubblewrap(session)
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        if script.name == CLASS_BENCH:
            continue
        session.run(_bin("python"), str(script), *session.posargs, env=env, external=True)


@nox.session(venv_backend="none")
def bench_class(session: nox.Session) -> None:
    """Class grading three ways on one generated class (benchmarks/class_grading.py; its
    flags after --, e.g. nox -s bench_class -- --count 8 --only linear_regression)."""
    env = _env(session)
    _bubblewrap(session)
    script = ROOT / "benchmarks" / CLASS_BENCH
    session.run(_bin("python"), str(script), *session.posargs, env=env, external=True)


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """The docs site, out/site: mkdocs-material, module pages generated from the curriculum,
    MathJax copied from its package (offline); --strict makes every warning an error."""
    env = _env(session)
    session.run(
        _bin("mkdocs"),
        "build",
        "--strict",
        "--config-file",
        str(ROOT / "mkdocs.yml"),
        *session.posargs,
        env=env,
        external=True,
    )
