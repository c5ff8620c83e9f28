"""The worker confines itself before it imports the student's code: it drops to its own
uid where the judge gave one, sets resource limits, forbids new privileges, dies with the
judge, adopts its orphans, and in plain process mode restricts itself with Landlock.
The judge decides what (``autograder/sandbox/launch.py``); this module only applies it."""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1, 2, 4, 8
LL_TRUNCATE, LL_IOCTL_DEV = 1 << 14, 1 << 15


def _libc():
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def _landlock(spec: dict) -> str:
    """Confine this process (and its children) to the given folders; returns what it did."""
    ctypes, libc = _libc()
    abi = libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return "no Landlock"
    fs_all = (1 << 13) - 1
    if abi >= 2:
        fs_all |= 1 << 13  # REFER
    if abi >= 3:
        fs_all |= LL_TRUNCATE
    if abi >= 5:
        fs_all |= LL_IOCTL_DEV

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    attr = RulesetAttr(fs_all, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"Landlock failed ({os.strerror(ctypes.get_errno())})"
    extra = fs_all & (LL_TRUNCATE | LL_IOCTL_DEV)
    file_rights = LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | extra
    read = LL_EXECUTE | LL_READ_FILE | LL_READ_DIR
    dev = LL_READ_FILE | LL_WRITE_FILE | LL_READ_DIR | extra
    rules = [(p, read) for p in spec.get("read", [])] + [(p, fs_all) for p in spec.get("write", [])]
    if spec.get("dev"):
        rules.append((spec["dev"], dev))
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    rights &= file_rights
                rule = PathBeneath(rights & fs_all, fd)
                libc.syscall(
                    LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)
                )
            finally:
                os.close(fd)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return f"Landlock failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return f"Landlock ABI {abi}"


def scope_signals() -> str:
    """A Landlock domain of this process's own that only scopes signals and abstract unix
    sockets (ABI 6): it may signal, ptrace or connect to nothing outside its own tree. A
    child of the fork server takes one, so that it cannot reach the zygote or its
    siblings, whatever uid they share."""
    if not sys.platform.startswith("linux"):
        return "no Landlock"
    ctypes, libc = _libc()
    abi = libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 6:
        return "signals not scoped (Landlock ABI < 6)"

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    attr = RulesetAttr(0, 0, 3)  # LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(24), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"signals not scoped ({os.strerror(ctypes.get_errno())})"
    try:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return f"signals not scoped ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return "signals scoped to its own tree"


def set_cpu_limit(seconds: int) -> None:
    """RLIMIT_CPU as :func:`confine` sets it: SIGXCPU at ``seconds``, SIGKILL 5 s later."""
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (int(seconds), int(seconds) + 5))


def confine(spec: dict) -> list[str]:
    """Drop to the worker's uid, set resource limits, and confine; returns what was done."""
    import resource

    done = []
    uid = spec.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))  # from root: every capability goes too
        done.append(f"uid {uid}")
    for name, value in (spec.get("rlimits") or {}).items():
        if value is None:
            continue
        which = getattr(resource, f"RLIMIT_{name}")
        hard = value + 5 if name == "CPU" else value  # SIGXCPU first (a named reason), then SIGKILL
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            soft_now, hard_now = resource.getrlimit(which)
            if hard_now != resource.RLIM_INFINITY and value > hard_now:
                resource.setrlimit(which, (hard_now, hard_now))
            else:
                raise
        done.append(f"RLIMIT_{name}={value}")
    if sys.platform.startswith("linux"):
        ctypes, libc = _libc()
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        # Orphans of the student's processes (a setsid() daemon) are re-parented to this
        # process rather than to init, so the judge still finds them among its descendants.
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        if spec.get("pdeathsig"):
            parent = os.getppid()
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the judge died before we asked
                os._exit(1)
        if spec.get("landlock"):
            done.append(_landlock(spec["landlock"]))
    return done
