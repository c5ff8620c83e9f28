"""Uids of their own for workers (only when the judge runs as root): one per worker, never
one that any process uses, so that the kernel's process limit counts the worker alone and
every process it made can be found, and killed, by uid."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from .proc import uid_has_processes


def _id_ranges(which: str) -> list[tuple[int, int]]:
    """[first, end) of each range of ``which`` ids ("uid" or "gid") this namespace maps."""
    try:
        vals = [int(v) for v in Path(f"/proc/self/{which}_map").read_text().split()]
    except OSError:
        return []
    return [(vals[i], vals[i] + vals[i + 2]) for i in range(0, len(vals) - 2, 3)]


_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def allocate_uid() -> int | None:
    """A uid no other process uses, for one worker (only when the judge is root)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    ranges = _id_ranges("uid")
    lo, hi = 2_000_000_000, 2_100_000_000  # far from any real account
    if not any(a <= lo and hi <= b for a, b in ranges):
        big = [(max(a, 20_000), b - 1) for a, b in ranges if b - 1 - max(a, 20_000) > 1000]
        if not big:
            return None
        lo, hi = max(big, key=lambda r: r[1] - r[0])
    with _uid_lock:
        for _ in range(100):
            uid = random.SystemRandom().randrange(lo, hi)
            gid_ok = any(a <= uid < b for a, b in _id_ranges("gid"))  # the worker's gid is its uid
            if uid not in _uids_in_use and gid_ok and not uid_has_processes(uid):
                _uids_in_use.add(uid)
                return uid
    return None


def release_uid(uid: int | None) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


def kill_uid(uid: int) -> None:
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
            if not uid_has_processes(uid):
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
