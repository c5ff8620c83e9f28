"""The judge's watch over one worker's whole process tree: the limits rlimits cannot see
(memory, processes, CPU time and disk of all its processes together), and the kill of
every process it made, including ones that left its process group."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from .launch import Launch
from .limits import Limits, fmt_bytes
from .proc import Proc, processes_with, pss, tree
from .uids import kill_uid

RSS_SLACK = 64 * 1024 * 1024


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
        whole_sandbox: bool = True,
        watch: bool = True,
    ):
        """``whole_sandbox=False``: ``popen`` is one child of the fork server (a
        ``zygote.ForkedChild``), which shares the sandbox's uid, process group and token
        with the zygote: its limits and its kill cover its own process tree alone.
        ``watch=False``: no limits are enforced (the fork server's own watch, which only
        needs the kill)."""
        self.launch = launch
        self.limits = limits
        self.popen = popen
        self.interval = interval
        self.extra = extra_processes  # bubblewrap's own processes
        self.whole_sandbox = whole_sandbox
        self.violation: str | None = None
        self._known: dict[int, int] = {}  # pid -> start time
        self._cpu_dead = 0.0
        self._cpu_seen: dict[tuple[int, int], float] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._last_disk = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"divekit-supervisor-{popen.pid}")
        if watch:
            self.thread.start()

    # -- membership ------------------------------------------------------------------------
    def members(self) -> dict[int, Proc]:
        """The worker's live processes now, by pid."""
        with self._lock:
            roots = {self.popen.pid: None, **self._known}
        found = tree(roots)
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
        if count > self.limits.processes:
            return self._violate(f"it started {count} processes, more than the limit of {self.limits.processes}")
        memory = self._memory(members)
        if memory > self.limits.memory_bytes:
            return self._violate(
                f"its processes used {fmt_bytes(memory)} of memory, "
                f"more than the limit of {fmt_bytes(self.limits.memory_bytes)}",
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
                f"its processes used {cpu + self._cpu_dead:.0f} s of CPU "
                f"time, more than the limit of {self.limits.cpu_seconds} s",
            )
        now = time.monotonic()
        if now - self._last_disk > 1.0:
            self._last_disk = now
            used, entries = self._disk()
            if used > self.limits.disk_bytes or entries > 100_000:
                return self._violate(
                    f"it wrote {fmt_bytes(used)} in {entries} files, "
                    f"more than the limit of {fmt_bytes(self.limits.disk_bytes)}",
                )

    def _memory(self, members: dict[int, Proc]) -> int:
        """The tree's memory as the limit counts it: proportional set sizes (torch's shared
        libraries counted once across processes), read only when the resident sizes could
        exceed the limit. PSS is never more than RSS, so below the limit the RSS sum gives
        the same verdict; reading ``smaps_rollup`` walks a process's page tables, 27-40 ms of
        kernel time for a worker that imported torch (2.6 CPU-s a submission's unit checks,
        8.1 with the training thresholds, before this)."""
        resident = sum(p.rss for p in members.values())
        # /proc/<pid>/stat's RSS comes from per-CPU counters that may lag by a few pages
        # per CPU and thread: well within this slack.
        if resident + RSS_SLACK <= self.limits.memory_bytes:
            return resident
        return sum(pss(p.pid, p.rss) for p in members.values())

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

    def _violate(self, text: str) -> None:
        if self.violation is None:
            self.violation = text
        self.kill_all()

    # -- the kill --------------------------------------------------------------------------
    def kill_all(self) -> None:
        """SIGKILL every process of the worker; returns once none is left (or 5 s passed)."""
        whole = self.whole_sandbox
        if whole and self.launch.uid is not None:
            kill_uid(self.launch.uid)
        if whole:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            members = self.members()
            if whole and self.launch.token:
                members.update({pid: None for pid in processes_with(self.launch.token)})
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
            if whole and self.launch.uid is not None:
                kill_uid(self.launch.uid)
            time.sleep(0.02)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=2)
