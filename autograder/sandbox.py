"""How a worker process is started, confined, watched and stopped.

Two modes:

* ``bwrap``: the worker runs under bubblewrap with its own network (no interface but
  loopback: no network at all), PID, IPC and UTS namespaces, ``--new-session`` and
  ``--die-with-parent``. It sees the Python installation read-only (remapped to
  ``/opt/divekit/...`` when it lives inside the judge's checkout), a private copy of the
  harness and of the student's files, and nothing of the judge: no checkout, no
  ``solutions/``, no checks, no rubric, no answer keys. When the judge runs as root the
  worker also drops to a uid of its own, so the kernel's process limit applies to it
  (``RLIMIT_NPROC`` does not apply to root) and every process it makes can be killed
  by uid.
* ``process``: where bubblewrap is missing or cannot create namespaces, a plain child
  process in its own session with the same resource limits. It drops to its own uid
  when the judge is root and the Python installation is readable by that uid; where
  the kernel offers Landlock, the worker confines itself to the Python installation
  and its own folder, and may not open TCP connections or signal processes outside
  itself. ``choose_mode`` says exactly which of these hold; reports say plainly that
  isolation is weaker than under bubblewrap.

In both modes the worker applies its own resource limits before it imports the
student's code (``worker/main.py``), and a :class:`Supervisor` thread in the judge
watches what the rlimits cannot see: the memory and the number of processes of all the
worker's processes together (a CUDA worker has no address-space limit), their total CPU
time and the disk they fill. When a limit is hit the supervisor kills every process the
worker made, including ones that left its process group with ``setsid()``, and says
which limit was hit and by how much.
"""

from __future__ import annotations

import functools
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WORKER_PACKAGE = Path(__file__).resolve().parent / "worker"
REPO = Path(__file__).resolve().parent.parent  # the judge's checkout: never visible to workers
HARNESS_NAME = "divekit_worker"
# Probes of one module hold library stand-ins that are, in effect, reference solutions:
# they are not copied into the worker; the judge sends one when a check first needs it.
HARNESS_PROBES = ("__init__.py", "common.py")
BOOT = (
    "import sys; sys.path.insert(0, {harness!r}); sys.dont_write_bytecode = True; "
    "from divekit_worker.main import main; main()"
)
REMAP_ROOT = "/opt/divekit"
TOKEN_VAR = "DIVEKIT_WORKER_TOKEN"
GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker (one module of one submission)."""

    call_seconds: float = 60.0  # wall clock for one request
    module_seconds: float = 300.0  # wall clock for every request of the module together
    cpu_seconds: int = 600  # CPU time: per process (RLIMIT_CPU) and all processes together
    memory_bytes: int = 8 * GiB  # resident memory of all the worker's processes together
    processes: int = 256  # processes (and, under the worker's own uid, threads)
    file_bytes: int = 64 * MiB  # largest file the worker may write (RLIMIT_FSIZE)
    output_bytes: int = 64 * 1024  # stdout+stderr kept for the report; the rest is cut
    gpu_memory_fraction: float = 0.5  # CUDA workers: share of the card's memory
    # Address space of each process on CPU workers (RLIMIT_AS; torch alone maps ~3 GiB).
    # None: memory_bytes. CUDA workers get none (it breaks CUDA's allocator).
    address_space_bytes: int | None = None
    disk_bytes: int = 512 * MiB  # everything the worker writes in its folders, together


@dataclass
class Launch:
    argv: list[str]
    cwd: str
    env: dict[str, str]
    mode: str
    note: str
    submission_dir: str  # where the student's files are, as the worker sees them
    preexec: object = field(default=None, repr=False)  # unused: the worker confines itself
    uid: int | None = None  # the worker's own uid (judge is root), else None
    popen_user: int | None = None  # start the process itself under this uid
    confine: dict = field(default_factory=dict)  # sent to the worker before student code
    token: str = ""  # in the environment of every process the worker starts
    watched_dirs: tuple[str, ...] = ()  # host folders the worker may write (disk limit)


# -- what this host offers -----------------------------------------------------------------


@dataclass(frozen=True)
class Host:
    bwrap: str | None
    bwrap_version: str
    bwrap_ok: bool
    bwrap_why: str
    bwrap_variant: str  # "root-drop" (root, worker drops to its uid), "userns", ""
    own_uid: bool  # workers can run under a uid of their own (judge is root)
    process_uid: bool  # ... and that uid can run the Python installation directly
    landlock_abi: int  # 0: unavailable


def bubblewrap_path() -> str | None:
    return shutil.which("bwrap")


def _uid_ranges() -> list[tuple[int, int]]:
    try:
        rows = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        return []
    vals = [int(v) for v in rows]
    return [(vals[i], vals[i] + vals[i + 2]) for i in range(0, len(vals) - 2, 3)]


def _gid_ok(gid: int) -> bool:
    try:
        rows = [int(v) for v in Path("/proc/self/gid_map").read_text().split()]
    except OSError:
        return False
    return any(rows[i] <= gid < rows[i] + rows[i + 2] for i in range(0, len(rows) - 2, 3))


_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def allocate_uid() -> int | None:
    """A uid no other process uses, for one worker (only when the judge is root)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    ranges = _uid_ranges()
    lo, hi = 2_000_000_000, 2_100_000_000  # far from any real account
    if not any(a <= lo and hi <= b for a, b in ranges):
        big = [(max(a, 20_000), b - 1) for a, b in ranges if b - 1 - max(a, 20_000) > 1000]
        if not big:
            return None
        lo, hi = max(big, key=lambda r: r[1] - r[0])
    with _uid_lock:
        for _ in range(100):
            uid = random.SystemRandom().randrange(lo, hi)
            if uid not in _uids_in_use and _gid_ok(uid) and not _uid_has_processes(uid):
                _uids_in_use.add(uid)
                return uid
    return None


def release_uid(uid: int | None) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


def _landlock_abi() -> int:
    if not sys.platform.startswith("linux"):
        return 0
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(VERSION)
        return max(int(abi), 0)
    except Exception:  # noqa: BLE001 - no ctypes, no syscall: no Landlock
        return 0


def _quick(argv: list[str], **kw) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, **kw)
    except (OSError, subprocess.SubprocessError):
        return None


def _bwrap_probe(path: str, variant: str, uid: int | None) -> tuple[bool, str]:
    """Start Python under bubblewrap the way a worker will; (works, stderr)."""
    binds = _python_binds()
    argv = [
        path,
        *_bwrap_flags(variant),
        *_ro_binds(binds),
        *_system_binds(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--chdir",
        "/",
    ]
    code = "import os, sys"
    if uid is not None:
        code += f"; os.setgroups([]); os.setgid({uid}); os.setuid({uid})"
    code += "; import json, encodings.idna"
    argv += [_mapped_python(binds), "-I", "-S", "-c", code]
    done = _quick(argv)
    if done is None:
        return False, "could not run bwrap"
    return done.returncode == 0, (done.stderr or "").strip()[-500:]


@functools.cache
def host() -> Host:
    """Probe once per judge process what isolation this machine can give workers."""
    path = bubblewrap_path()
    version = ""
    ok, why, variant = False, "bubblewrap is not installed (apt-get install bubblewrap)", ""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    # Knobs to try the weaker set-ups on a machine that has the stronger ones (tests, and
    # hosts where a layer misbehaves): DIVEKIT_OWN_UID=0, DIVEKIT_LANDLOCK=0.
    probe_uid = allocate_uid() if root and os.environ.get("DIVEKIT_OWN_UID") != "0" else None
    own_uid = probe_uid is not None
    if path:
        done = _quick([path, "--version"])
        version = (done.stdout.strip() if done else "") or "bubblewrap"
        tried = []
        if own_uid:
            works, err = _bwrap_probe(path, "root-drop", probe_uid)
            if works:
                ok, variant = True, "root-drop"
            tried.append(err)
        if not ok:
            works, err = _bwrap_probe(path, "userns", None)
            if works:
                ok, variant = True, "userns"
            tried.append(err)
        if ok:
            why = f"{version} at {path} can create namespaces"
        else:
            why = (
                "bubblewrap is installed but cannot create namespaces here ("
                + "; ".join(t for t in tried if t)[:300]
                + ")"
            )
    process_uid = False
    if own_uid:
        check = (
            "import sys, os, importlib.util; [os.listdir(p) for p in sys.path if "
            "os.path.isdir(p)]; assert importlib.util.find_spec('torch')"
        )
        done = _quick([sys.executable, "-I", "-c", check], user=probe_uid, group=probe_uid, extra_groups=[], cwd="/")
        process_uid = done is not None and done.returncode == 0
    release_uid(probe_uid)
    landlock = 0 if os.environ.get("DIVEKIT_LANDLOCK") == "0" else _landlock_abi()
    return Host(path, version, ok, why, variant, own_uid, process_uid, landlock)


def bubblewrap_works() -> tuple[bool, str]:
    """Whether bubblewrap exists *and* can create namespaces here (containers may forbid it)."""
    h = host()
    return h.bwrap_ok, h.bwrap_why


def describe_isolation(mode: str) -> str:
    """What a worker in ``mode`` can and cannot do on this host, in a sentence or two."""
    h = host()
    if mode == "bwrap":
        text = (
            "bubblewrap: no network, own PID, IPC and UTS namespaces, only the Python "
            "installation (read-only) and the worker's own copy of the submission visible"
        )
        if h.bwrap_variant == "root-drop":
            text += "; each worker runs under a uid of its own (kernel process limit, no signals to the judge)"
        else:
            text += "; processes counted by the judge's supervisor"
        return text
    parts = ["plain processes with resource limits"]
    if h.process_uid:
        parts.append("each under a uid of its own (kernel process limit; it cannot signal the judge or other workers)")
    if h.landlock_abi >= 1:
        what = "Landlock confines each to the Python installation and its own folder"
        if h.landlock_abi >= 4:
            what += ", blocks TCP"
        if h.landlock_abi >= 6:
            what += ", and forbids signals to processes outside it"
        parts.append(what)
    else:
        parts.append("no Landlock: a worker can read every file this user can read, and open network connections")
    if not h.process_uid and h.landlock_abi < 6:
        parts.append("it could signal this user's processes, the judge included")
    return "; ".join(parts)


def choose_mode(requested: str = "auto") -> tuple[str, str]:
    """Pick ``bwrap`` or ``process`` and say why."""
    if requested == "process":
        return "process", "plain process mode was requested; " + describe_isolation("process")
    ok, why = bubblewrap_works()
    if ok:
        return "bwrap", f"{why}; {describe_isolation('bwrap')}"
    if requested == "bwrap":
        raise RuntimeError(f"sandbox mode 'bwrap' was requested but {why}")
    return "process", f"{why}; workers run as {describe_isolation('process')}"


# -- the worker's folder ---------------------------------------------------------------------


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


def _hand_over(workdir: Path, uid: int | None) -> None:
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


# -- command lines -----------------------------------------------------------------------------


def _python_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    real = {os.path.realpath(r) for r in roots if os.path.exists(r)}
    # Keep the outermost folders only.
    return sorted(r for r in real if not any(r != o and r.startswith(o + "/") for o in real))


def _inside(path: str, folder: Path) -> bool:
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder + "/")


def _python_binds() -> list[tuple[str, str]]:
    """(host path, path in the sandbox) for the Python installation.

    A virtual environment inside the judge's checkout (``.venv``, ``.nox/...``) is bound
    at ``/opt/divekit/...`` so that the checkout's path does not exist in the sandbox.
    """
    return [
        (root, f"{REMAP_ROOT}/python{i}" if _inside(root, REPO) else root) for i, root in enumerate(_python_roots())
    ]


def _mapped_python(binds: list[tuple[str, str]]) -> str:
    """The interpreter's path in the sandbox (a venv's ``bin/python`` where there is one)."""
    exe = os.path.abspath(sys.executable)
    real_dir = os.path.realpath(os.path.dirname(exe))
    for src, dest in binds:
        for candidate in (exe, os.path.join(real_dir, os.path.basename(exe))):
            if _inside(candidate, Path(src)):
                return dest + candidate[len(src) :]
    return os.path.realpath(exe)


def _system_binds() -> list[str]:
    args: list[str] = []
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in (
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/alternatives",
        "/etc/localtime",
        "/usr/share/zoneinfo",
        "/etc/nsswitch.conf",
    ):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    if os.path.isdir("/sys/devices/system/cpu"):
        args += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    return args


def _ro_binds(pairs: list[tuple[str, str]]) -> list[str]:
    """``--ro-bind`` each pair, creating parent folders world-traversable first (bwrap
    makes them 0700, which a worker that dropped to its own uid could not enter)."""
    args: list[str] = []
    made: set[str] = set()
    for src, dest in pairs:
        parents = []
        parent = os.path.dirname(dest)
        while parent not in ("/", "") and parent not in made:
            parents.append(parent)
            parent = os.path.dirname(parent)
        for folder in reversed(parents):
            args += ["--perms", "0755", "--dir", folder]
            made.add(folder)
        args += ["--ro-bind", src, dest]
        made.add(dest)
    return args


def _bwrap_flags(variant: str) -> list[str]:
    common = ["--die-with-parent", "--new-session", "--hostname", "divekit-worker"]
    if variant == "root-drop":
        # No user namespace: the worker drops from root to its own uid at boot, which
        # needs CAP_SETUID/CAP_SETGID until then and no capability after.
        return [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            *common,
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
        ]
    return ["--unshare-all", "--unshare-user", "--disable-userns", *common, "--cap-drop", "ALL"]


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


def _user_tasks(uid: int) -> int:
    """Processes and threads that ``uid`` runs now (RLIMIT_NPROC counts them all)."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        uid_line = re.search(r"^Uid:\s+(\d+)", status, re.M)
        threads = re.search(r"^Threads:\s+(\d+)", status, re.M)
        if uid_line and int(uid_line.group(1)) == uid:
            total += int(threads.group(1)) if threads else 1
    return total


def _confinement(limits: Limits, cuda: bool, uid: int | None, drop_in_worker: bool, landlock: dict | None) -> dict:
    address = limits.address_space_bytes or limits.memory_bytes
    if uid is not None:
        nproc = limits.processes
    elif hasattr(os, "getuid") and os.getuid() != 0:
        # Without a uid of its own, the limit counts every process of this user.
        nproc = _user_tasks(os.getuid()) + limits.processes
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


def build_launch(workdir: Path, harness: Path, submission: Path, limits: Limits, mode: str, cuda: bool) -> Launch:
    h = host()
    token = os.urandom(12).hex()
    uid = None
    if mode == "bwrap" and h.bwrap_variant == "root-drop":
        uid = allocate_uid()
    elif mode == "process" and h.process_uid:
        uid = allocate_uid()
    _hand_over(workdir, uid)
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
            read = _python_roots() + [p for p in system if os.path.exists(p) and not _inside(os.path.realpath(p), REPO)]
            landlock = {"read": read, "write": list(watched), "dev": "/dev"}
        env = worker_env(str(workdir / "home"), str(workdir / "tmp"))
        env[TOKEN_VAR] = token
        return Launch(
            argv=[sys.executable, "-I", "-B", "-c", BOOT.format(harness=str(harness))],
            cwd=str(submission),
            env=env,
            mode=mode,
            submission_dir=str(submission),
            note="plain process: " + describe_isolation("process"),
            uid=uid,
            popen_user=uid,
            confine=_confinement(limits, cuda, uid, False, landlock),
            token=token,
            watched_dirs=watched,
        )
    if not h.bwrap_ok:
        raise RuntimeError(f"sandbox mode 'bwrap' was requested but {h.bwrap_why}")
    binds = _python_binds()
    libs = [
        (lib, lib)
        for lib in os.environ.get("LD_LIBRARY_PATH", "").split(":")
        if lib and os.path.isdir(lib) and not _inside(os.path.realpath(lib), REPO)
    ]
    argv = [h.bwrap, *_bwrap_flags(h.bwrap_variant), *_ro_binds(binds), *_system_binds(), *_ro_binds(libs)]
    # A checkout inside a bound folder (under /usr, or holding the venv it lives in)
    # is covered by an empty folder.
    repo = os.path.realpath(REPO)
    mounted = binds + libs + [(p, p) for p in ("/usr", "/etc", "/sys/devices/system/cpu")]
    for src, dest in mounted:
        if _inside(repo, Path(src)):
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
    argv += [_mapped_python(binds), "-I", "-B", "-c", BOOT.format(harness="/harness")]
    env = worker_env("/home/worker", "/tmp")
    env[TOKEN_VAR] = token
    return Launch(
        argv=argv,
        cwd=str(submission),
        env=env,
        mode=mode,
        submission_dir="/submission",
        note="bubblewrap sandbox: " + describe_isolation("bwrap"),
        uid=uid,
        popen_user=None,
        confine=_confinement(limits, cuda, uid, uid is not None, None),
        token=token,
        watched_dirs=watched,
    )


# -- processes: finding and killing every one a worker made ------------------------------------


@dataclass
class Proc:
    pid: int
    ppid: int
    start: int  # start time in clock ticks since boot (tells a reused pid apart)
    cpu: float  # seconds of user + system time
    rss: int  # bytes


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _read_stat(pid: int) -> Proc | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes().decode("ascii", "replace")
    except OSError:
        return None
    try:
        rest = raw[raw.rindex(")") + 2 :].split()
        # rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15, starttime 22, rss 24
        if rest[0] in ("Z", "X"):
            return None
        return Proc(pid, int(rest[1]), int(rest[19]), (int(rest[11]) + int(rest[12])) / _TICKS, int(rest[21]) * _PAGE)
    except (ValueError, IndexError):
        return None


def scan_processes() -> dict[int, Proc]:
    procs = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return procs
    for name in names:
        if name.isdigit():
            p = _read_stat(int(name))
            if p is not None:
                procs[p.pid] = p
    return procs


def _uid_has_processes(uid: int) -> bool:
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = Path(f"/proc/{name}/status").read_text()
            except OSError:
                continue
            m = re.search(r"^Uid:\s+(\d+)", status, re.M)
            if m and int(m.group(1)) == uid and not re.search(r"^State:\s+[ZX]", status, re.M):
                return True
    return False


def processes_with(marker: str, *, environ: bool = True) -> list[int]:
    """Pids whose command line (or environment) contains ``marker``: for leftover checks."""
    found = []
    needle = marker.encode()
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        for part in ("cmdline", "environ") if environ else ("cmdline",):
            try:
                if needle in Path(f"/proc/{name}/{part}").read_bytes():
                    if _read_stat(int(name)) is not None:  # zombies are gone already
                        found.append(int(name))
                    break
            except OSError:
                continue
    return found


def _pss(pid: int, fallback: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return fallback
    m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) * 1024 if m else fallback


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` in one go: kill(-1) from a process with that uid."""
    kill = shutil.which("kill", path="/usr/bin:/bin")
    if kill:
        try:
            subprocess.run(
                [kill, "-9", "-1"],
                user=uid,
                group=uid,
                extra_groups=[],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                cwd="/",
                check=False,
            )
            if not _uid_has_processes(uid):
                return
        except (OSError, subprocess.SubprocessError):
            pass
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _fmt_bytes(n: float) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB else f"{n / MiB:.0f} MiB"


class Supervisor:
    """Watches one worker from the judge and kills all of its processes when asked.

    It knows the worker's processes as the descendants of the process the judge
    started, plus every process it has seen among them before (a daemon that
    ``setsid()``-ed and was re-parented stays known), plus, when the worker has its own
    uid, every process of that uid, plus any process carrying the worker's token.
    """

    def __init__(
        self,
        launch: Launch,
        limits: Limits,
        popen: subprocess.Popen,
        *,
        interval: float = 0.1,
        extra_processes: int = 0,
    ):
        self.launch = launch
        self.limits = limits
        self.popen = popen
        self.interval = interval
        self.extra = extra_processes  # bubblewrap's own processes
        self.violation: str | None = None
        self.kind: str | None = None
        self.peak_memory = 0
        self.peak_processes = 0
        self._known: dict[int, int] = {}  # pid -> start time
        self._cpu_dead = 0.0
        self._cpu_seen: dict[tuple[int, int], float] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._last_disk = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"divekit-supervisor-{popen.pid}")
        self.thread.start()

    # -- membership ------------------------------------------------------------------------
    def members(self, procs: dict[int, Proc] | None = None) -> dict[int, Proc]:
        procs = scan_processes() if procs is None else procs
        roots = {self.popen.pid} | {
            pid for pid, start in self._known.items() if pid in procs and procs[pid].start == start
        }
        children: dict[int, list[int]] = {}
        for p in procs.values():
            children.setdefault(p.ppid, []).append(p.pid)
        found: dict[int, Proc] = {}
        todo = [r for r in roots if r in procs]
        while todo:
            pid = todo.pop()
            if pid in found:
                continue
            found[pid] = procs[pid]
            todo += children.get(pid, [])
        with self._lock:
            for pid, p in found.items():
                self._known[pid] = p.start
        return found

    # -- the watch -------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.popen.poll() is not None and not self._known:
                return
            try:
                self._check()
            except Exception:  # noqa: BLE001 - a /proc race must not stop the watch
                continue

    def _check(self) -> None:
        members = self.members()
        if not members:
            return
        count = max(len(members) - self.extra, 0)
        self.peak_processes = max(self.peak_processes, count)
        if count > self.limits.processes:
            return self._violate(
                "processes", f"it started {count} processes, more than the limit of {self.limits.processes}"
            )
        memory = sum(_pss(p.pid, p.rss) for p in members.values())
        self.peak_memory = max(self.peak_memory, memory)
        if memory > self.limits.memory_bytes:
            return self._violate(
                "memory",
                f"its processes used {_fmt_bytes(memory)} of memory, "
                f"more than the limit of {_fmt_bytes(self.limits.memory_bytes)}",
            )
        cpu = 0.0
        for p in members.values():
            self._cpu_seen[(p.pid, p.start)] = p.cpu
            cpu += p.cpu
        gone = [k for k in self._cpu_seen if k[0] not in members]
        for k in gone:
            self._cpu_dead += self._cpu_seen.pop(k)
        if cpu + self._cpu_dead > self.limits.cpu_seconds:
            return self._violate(
                "cpu",
                f"its processes used {cpu + self._cpu_dead:.0f} s of CPU "
                f"time, more than the limit of {self.limits.cpu_seconds} s",
            )
        now = time.monotonic()
        if now - self._last_disk > 1.0:
            self._last_disk = now
            used, entries = self._disk()
            if used > self.limits.disk_bytes or entries > 100_000:
                return self._violate(
                    "disk",
                    f"it wrote {_fmt_bytes(used)} in {entries} files, "
                    f"more than the limit of {_fmt_bytes(self.limits.disk_bytes)}",
                )

    def _disk(self) -> tuple[int, int]:
        total, entries = 0, 0
        todo = [d for d in self.launch.watched_dirs if os.path.isdir(d)]
        while todo and entries <= 100_000:
            try:
                with os.scandir(todo.pop()) as it:
                    for e in it:
                        entries += 1
                        try:
                            st = e.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        total += st.st_blocks * 512
                        if e.is_dir(follow_symlinks=False):
                            todo.append(e.path)
            except OSError:
                continue
        return total, entries

    def _violate(self, kind: str, text: str) -> None:
        if self.violation is None:
            self.kind, self.violation = kind, text
        self.kill_all()

    # -- the kill --------------------------------------------------------------------------
    def kill_all(self) -> None:
        """SIGKILL every process of the worker; returns once none is left (or 5 s passed)."""
        if self.launch.uid is not None:
            _kill_uid(self.launch.uid)
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            members = self.members()
            members.update({pid: None for pid in processes_with(self.launch.token)} if self.launch.token else {})
            members.pop(os.getpid(), None)
            alive = [pid for pid in members if pid != self.popen.pid or self.popen.poll() is None]
            if not alive:
                break
            # Stop first so that nobody forks while we kill, then kill.
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for pid in alive:
                    try:
                        os.kill(pid, sig)
                    except (ProcessLookupError, PermissionError):
                        pass
            if self.launch.uid is not None:
                _kill_uid(self.launch.uid)
            time.sleep(0.02)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def stop(self) -> None:
        self._stop.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=2)
