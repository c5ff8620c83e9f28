"""Reading the process table in /proc: which processes exist, their parents, CPU time and
memory, and which belong to a uid or carry a marker."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


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
