"""The command line, environment and confinement of one worker, in each of the two modes
(the worker applies the confinement itself, before it imports the student's code)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .bwrap import REPO, bwrap_flags, inside, mapped_python, python_binds, python_roots, ro_binds, system_binds
from .host import host
from .limits import Limits
from .proc import user_tasks
from .uids import allocate_uid
from .workdir import hand_over

BOOT = (
    "import sys; sys.path.insert(0, {harness!r}); sys.dont_write_bytecode = True; "
    "from divekit_worker.{entry} import main; main()"
)
TOKEN_VAR = "DIVEKIT_WORKER_TOKEN"


@dataclass
class Launch:
    """How the session starts one worker, and what the supervisor needs to watch it."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    mode: str
    submission_dir: str  # where the student's files are, as the worker sees them
    uid: int | None = None  # the worker's own uid (judge is root), else None
    popen_user: int | None = None  # start the process itself under this uid
    confine: dict = field(default_factory=dict)  # sent to the worker before student code
    token: str = ""  # in the environment of every process the worker starts
    watched_dirs: tuple[str, ...] = ()  # host folders the worker may write (disk limit)


def worker_env(home: str, tmp: str | None = None) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp or home,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": os.environ.get("DIVEKIT_WORKER_THREADS", "2"),
        # Idle OpenMP threads sleep instead of spinning: on a busy machine (parallel
        # graders, CI) spinning threads slowed a LeNet step from 8 ms to 739 ms.
        "OMP_WAIT_POLICY": "PASSIVE",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    }
    for key in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _confinement(limits: Limits, cuda: bool, uid: int | None, drop_in_worker: bool, landlock: dict | None) -> dict:
    address = limits.address_space_bytes or limits.memory_bytes
    if uid is not None:
        nproc = limits.processes
    elif hasattr(os, "getuid") and os.getuid() != 0:
        # Without a uid of its own, the limit counts every process of this user.
        nproc = user_tasks(os.getuid()) + limits.processes
    else:
        nproc = limits.processes  # root: the kernel ignores it; the supervisor counts
    return {
        "uid": uid if drop_in_worker else None,
        "rlimits": {
            "CORE": 0,
            "CPU": int(limits.cpu_seconds),
            "FSIZE": int(limits.file_bytes),
            "NPROC": int(nproc),
            "AS": None if cuda else int(address),
        },
        "pdeathsig": True,
        "landlock": landlock,
    }


def build_launch(
    workdir: Path, harness: Path, submission: Path, limits: Limits, mode: str, cuda: bool, entry: str = "main"
) -> Launch:
    """``entry``: ``main`` for a fresh worker, ``zygote`` for the fork server."""
    h = host()
    token = os.urandom(12).hex()
    uid = None
    if mode == "bwrap" and h.bwrap_variant == "root-drop":
        uid = allocate_uid()
    elif mode == "process" and h.process_uid:
        uid = allocate_uid()
    hand_over(workdir, uid)
    watched = tuple(str(workdir / s) for s in ("submission", "tmp", "home"))
    if mode == "process":
        landlock = None
        if h.landlock_abi >= 1:
            system = [
                "/usr",
                "/bin",
                "/sbin",
                "/lib",
                "/lib32",
                "/lib64",
                "/libx32",
                "/etc",
                "/proc",
                "/sys",
                str(harness),
            ]
            system += [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
            # The Python installation even where it lies in the checkout (a .venv); nothing
            # else of the checkout.
            read = python_roots() + [p for p in system if os.path.exists(p) and not inside(os.path.realpath(p), REPO)]
            landlock = {"read": read, "write": list(watched), "dev": "/dev"}
        env = worker_env(str(workdir / "home"), str(workdir / "tmp"))
        env[TOKEN_VAR] = token
        return Launch(
            argv=[sys.executable, "-I", "-B", "-c", BOOT.format(harness=str(harness), entry=entry)],
            cwd=str(submission),
            env=env,
            mode=mode,
            submission_dir=str(submission),
            uid=uid,
            popen_user=uid,
            confine=_confinement(limits, cuda, uid, False, landlock),
            token=token,
            watched_dirs=watched,
        )
    if not h.bwrap_ok:
        raise RuntimeError(f"sandbox mode 'bwrap' was requested but {h.bwrap_why}")
    binds = python_binds()
    libs = [
        (lib, lib)
        for lib in os.environ.get("LD_LIBRARY_PATH", "").split(":")
        if lib and os.path.isdir(lib) and not inside(os.path.realpath(lib), REPO)
    ]
    argv = [h.bwrap, *bwrap_flags(h.bwrap_variant), *ro_binds(binds), *system_binds(), *ro_binds(libs)]
    # A checkout inside a bound folder (under /usr, or holding the venv it lives in)
    # is covered by an empty folder.
    repo = os.path.realpath(REPO)
    mounted = binds + libs + [(p, p) for p in ("/usr", "/etc", "/sys/devices/system/cpu")]
    for src, dest in mounted:
        if inside(repo, Path(src)):
            argv += ["--tmpfs", dest + repo[len(os.path.realpath(src)) :]]
            break
    passwd = workdir / "passwd"
    passwd.write_text(
        f"root:x:0:0::/:/bin/false\nworker:x:{uid or os.getuid()}:{uid or os.getgid()}::/home/worker:/bin/false\n"
    )
    group = workdir / "group"
    group.write_text(f"root:x:0:\nworker:x:{uid or os.getgid()}:\n")
    argv += [
        "--ro-bind",
        str(passwd),
        "/etc/passwd",
        "--ro-bind",
        str(group),
        "/etc/group",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--bind",
        str(workdir / "tmp"),
        "/tmp",
        "--bind",
        str(workdir / "home"),
        "/home/worker",
        "--ro-bind",
        str(harness),
        "/harness",
        "--bind",
        str(submission),
        "/submission",
        "--chdir",
        "/submission",
    ]
    if cuda:
        for dev in sorted(Path("/dev").glob("nvidia*")):
            argv += ["--dev-bind", str(dev), str(dev)]
        argv += ["--ro-bind", "/sys", "/sys"]
    argv += [mapped_python(binds), "-I", "-B", "-c", BOOT.format(harness="/harness", entry=entry)]
    env = worker_env("/home/worker", "/tmp")
    env[TOKEN_VAR] = token
    return Launch(
        argv=argv,
        cwd=str(submission),
        env=env,
        mode=mode,
        submission_dir="/submission",
        uid=uid,
        popen_user=None,
        confine=_confinement(limits, cuda, uid, uid is not None, None),
        token=token,
        watched_dirs=watched,
    )
