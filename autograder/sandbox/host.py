"""What isolation this host can give workers: whether bubblewrap works here (and how),
whether workers can have a uid of their own, which Landlock ABI the kernel offers; and
from that the mode a grading run uses, with a sentence that says what it guarantees."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from .bwrap import bwrap_flags, mapped_python, python_binds, ro_binds, system_binds
from .uids import allocate_uid, release_uid


@dataclass(frozen=True)
class Host:
    """What :func:`host` found, once per judge process."""

    bwrap: str | None
    bwrap_ok: bool
    bwrap_why: str
    bwrap_variant: str  # "root-drop" (root, worker drops to its uid), "userns", ""
    own_uid: bool  # workers can run under a uid of their own (judge is root)
    process_uid: bool  # ... and that uid can run the Python installation directly
    landlock_abi: int  # 0: unavailable


def bubblewrap_path() -> str | None:
    return shutil.which("bwrap")


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
    binds = python_binds()
    argv = [
        path,
        *bwrap_flags(variant),
        *ro_binds(binds),
        *system_binds(),
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
    argv += [mapped_python(binds), "-I", "-S", "-c", code]
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
    return Host(path, ok, why, variant, own_uid, process_uid, landlock)


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


#: Set to ``bwrap`` (CI does) so that ``auto`` never falls back to plain processes: grading
#: and the tests then fail, rather than skip or quietly run weaker, where bubblewrap cannot
#: start. An explicit ``process`` is still honoured (the tests that cover that mode ask).
REQUIRE_ENV = "DIVEKIT_REQUIRE_SANDBOX"


def required_sandbox() -> str | None:
    """``bwrap`` when the environment requires the real sandbox, else None."""
    value = os.environ.get(REQUIRE_ENV, "").strip()
    if value not in ("", "bwrap"):
        raise RuntimeError(f"{REQUIRE_ENV}={value!r}: the only sandbox that can be required is 'bwrap'")
    return value or None


def choose_mode(requested: str = "auto") -> tuple[str, str]:
    """Pick ``bwrap`` or ``process`` and say why."""
    if requested == "process":
        return "process", "plain process mode was requested; " + describe_isolation("process")
    required = required_sandbox()  # a misspelt requirement is an error here, not only once bwrap fails
    ok, why = bubblewrap_works()
    if ok:
        return "bwrap", f"{why}; {describe_isolation('bwrap')}"
    if requested == "bwrap":
        raise RuntimeError(f"sandbox mode 'bwrap' was requested but {why}")
    if required:
        raise RuntimeError(f"{REQUIRE_ENV}=bwrap requires the bubblewrap sandbox, but {why}")
    return "process", f"{why}; workers run as {describe_isolation('process')}"
