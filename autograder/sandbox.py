"""How a worker process is started: its command line, its isolation and its limits.

Two modes:

* ``bwrap``: the worker runs under bubblewrap with no network and its own PID, IPC and
  UTS namespaces; it sees the Python installation read-only, a private copy of the
  harness and of the student's files, and nothing of the judge (no ``solutions/``, no
  checks, no rubric, no answer keys).
* ``process``: where bubblewrap is missing, a plain child process in its own session
  with the same resource limits. Reports say plainly that isolation is weaker.

Either way the worker inherits two pipes (requests, answers) and gets its own
process group, so the judge can kill it and every child it made in one go.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

WORKER_PACKAGE = Path(__file__).resolve().parent / "worker"
HARNESS_NAME = "divekit_worker"
BOOT = (
    "import sys; sys.path.insert(0, {harness!r}); sys.dont_write_bytecode = True; "
    "from divekit_worker.main import main; main()"
)


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker (one module of one submission)."""

    call_seconds: float = 60.0  # wall clock for one request
    module_seconds: float = 300.0  # wall clock for every request of the module together
    cpu_seconds: int = 600  # CPU time of the worker process (RLIMIT_CPU)
    memory_bytes: int = 8 * 1024**3  # address space on CPU workers (torch alone maps ~3 GiB)
    processes: int = 256  # RLIMIT_NPROC
    file_bytes: int = 64 * 1024**2  # largest file the worker may write
    output_bytes: int = 64 * 1024  # stdout+stderr kept for the report; the rest is cut
    gpu_memory_fraction: float = 0.5  # CUDA workers: share of the card's memory


@dataclass
class Launch:
    argv: list[str]
    cwd: str
    env: dict[str, str]
    mode: str
    note: str
    submission_dir: str  # where the student's files are, as the worker sees them
    preexec: object = field(default=None, repr=False)


def bubblewrap_path() -> str | None:
    return shutil.which("bwrap")


def bubblewrap_works() -> tuple[bool, str]:
    """Whether bubblewrap exists *and* can create namespaces here (containers may forbid it)."""
    path = bubblewrap_path()
    if path is None:
        return False, "bubblewrap is not installed (apt-get install bubblewrap)"
    probe = subprocess.run(
        [path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    if probe.returncode != 0:
        return False, f"bubblewrap is installed but cannot sandbox here: {probe.stderr.strip()}"
    return True, f"bubblewrap at {path} can create namespaces"


def choose_mode(requested: str = "auto") -> tuple[str, str]:
    """Pick ``bwrap`` or ``process`` and say why."""
    if requested == "process":
        return "process", "plain process mode was requested"
    ok, why = bubblewrap_works()
    if ok:
        return "bwrap", why
    if requested == "bwrap":
        raise RuntimeError(f"sandbox mode 'bwrap' was requested but {why}")
    return "process", why + "; workers run as plain processes with resource limits only"


def prepare_workdir(workdir: Path, student_files: dict[str, str]) -> tuple[Path, Path]:
    """Copy the harness and the student's files into a private folder."""
    harness = workdir / "harness"
    shutil.copytree(
        WORKER_PACKAGE,
        harness / HARNESS_NAME,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    submission = workdir / "submission"
    submission.mkdir(parents=True)
    for name, text in student_files.items():
        (submission / name).write_text(text, encoding="utf-8")
    return harness, submission


def _limit_setter(limits: Limits, cpu_only: bool):
    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        if cpu_only:
            # An address-space limit breaks CUDA's allocator; CUDA workers get a GPU memory
            # fraction and the judge's host-memory watchdog instead.
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))

    return apply


def _python_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    real = {os.path.realpath(r) for r in roots}
    # Keep the outermost folders only.
    return sorted(r for r in real if not any(r != o and r.startswith(o + "/") for o in real))


def worker_env(home: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": os.environ.get("DIVEKIT_WORKER_THREADS", "2"),
        "MPLBACKEND": "Agg",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    }
    for key in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def build_launch(workdir: Path, harness: Path, submission: Path, limits: Limits,
                 mode: str, cuda: bool) -> Launch:
    python = sys.executable
    if mode == "process":
        boot = BOOT.format(harness=str(harness))
        return Launch(
            argv=[python, "-I", "-B", "-c", boot],
            cwd=str(submission),
            env=worker_env(str(workdir)),
            mode=mode,
            submission_dir=str(submission),
            note="plain process (no bubblewrap): the student's code could read any file "
            "this user can read",
            preexec=_limit_setter(limits, cpu_only=not cuda),
        )
    boot = BOOT.format(harness="/harness")
    argv = [bubblewrap_path(), "--unshare-all", "--die-with-parent", "--new-session",
            "--hostname", "divekit-worker", "--cap-drop", "ALL"]
    for root in _python_roots():
        argv += ["--ro-bind", root, root]
    # The shared libraries the interpreter and torch link against.
    for path in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo",
                 "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    if os.path.realpath(python) != python:
        argv += ["--ro-bind", os.path.realpath(python), os.path.realpath(python)]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--ro-bind", str(harness), "/harness",
             "--bind", str(submission), "/submission",
             "--chdir", "/submission"]
    if cuda:
        for dev in sorted(Path("/dev").glob("nvidia*")):
            argv += ["--dev-bind", str(dev), str(dev)]
    argv += ["--setenv", "HOME", "/tmp"]
    argv += [python, "-I", "-B", "-c", boot]
    env = worker_env("/tmp")
    return Launch(argv=argv, cwd=str(submission), env=env, mode=mode,
                  submission_dir="/submission",
                  note="bubblewrap sandbox: no network, private PID/IPC namespaces, "
                  "read-only Python, nothing of the judge visible",
                  preexec=_limit_setter(limits, cpu_only=not cuda))
