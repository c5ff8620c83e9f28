"""The judge's side of the fork server: one sandbox per submission whose zygote imports
torch once and forks a fresh worker for every session (``worker/zygote.py``).

What stays as it was for a fresh worker: the sandbox (namespaces, uid, rlimits, Landlock)
is the one the zygote was started in, and each child inherits it. What changes: each
child has a ``Supervisor`` of its own over its own process tree (memory, processes, CPU,
and the kill), and this module sweeps the rest of the sandbox: any process that is not
the zygote, bubblewrap, or inside a live child's tree (an orphan whose child disowned it)
is killed at once. Closing the fork server kills the whole sandbox as before (by uid,
process group, token and tree).

``fork_server(...)`` opens one for a block of grading (``grading.grade`` opens one per
submission); a ``WorkerSession`` started inside uses it, one started outside starts a
fresh worker. ``DIVEKIT_FORKSERVER=0`` turns it off (the benchmarks compare both).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .host import release_uid
from .launch import Launch, build_launch
from .limits import Limits
from .proc import children as children_of
from .proc import children_map, descendants, read, tree
from .supervisor import Supervisor
from .workdir import prepare_workdir

BOOT_SECONDS = 180.0  # Python and torch in the zygote, before any student code
CONTROL_SECONDS = 20.0  # a fork or a status: the zygote answers at once unless it was stopped
_current: contextvars.ContextVar[ForkServer | None] = contextvars.ContextVar("divekit_fork_server", default=None)


class ForkServerLost(Exception):
    """The zygote did not start or stopped answering; the session reports it as lost."""


def enabled() -> bool:
    return os.environ.get("DIVEKIT_FORKSERVER", "1").strip() not in ("0", "off", "no", "")


@dataclass
class ForkedChild:
    """One worker forked by the zygote, as the judge sees it: a host pid to watch and kill,
    and an exit status the zygote (its parent) collects."""

    server: ForkServer
    pid: int  # in the judge's pid namespace
    inner_pid: int  # in the sandbox's
    code: int | None = None

    def poll(self) -> int | None:
        if self.code is not None:
            return self.code
        p = read(self.pid)
        if p is not None and p.alive:
            return None
        return self.server.exit_code(self)

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        # A child told to shut down is gone within a millisecond or two: a fixed 20 ms
        # poll cost about 1 s of every submission's grading (one wait per stub).
        pause = 0.001
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked worker", timeout or 0)
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
        return code


def _inner_pid(pid: int) -> int | None:
    """The pid of ``pid`` in its own (innermost) pid namespace."""
    try:
        m = re.search(r"^NSpid:\s+([\d\s]+)$", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return None
    return int(m.group(1).split()[-1]) if m else pid


@contextlib.contextmanager
def _undo_on_error(uid: int | None, tmp: tempfile.TemporaryDirectory) -> Iterator[None]:
    """A zygote that could not even be started gives back its uid and folder."""
    try:
        yield
    except BaseException:
        release_uid(uid)
        with contextlib.suppress(OSError):
            tmp.cleanup()
        raise


class ForkServer:
    """A zygote in its own sandbox, started on first use and again if it was lost."""

    def __init__(self, limits: Limits, mode: str, device: str = "cpu"):
        self.limits = limits
        self.mode = mode
        self.device = device
        self.forks = 0
        self.starts = 0
        self._lock = threading.RLock()
        self._pending = False
        self._children: dict[int, tuple[ForkedChild, Supervisor | None]] = {}
        self._popen: subprocess.Popen | None = None
        self._booting = False  # spawned (see prestart), its boot not yet awaited
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.launch: Launch | None = None
        self.confined: list[str] = []
        self._imports: set[str] = set()  # what the zygote imports before its next fork (preload)
        self._imported: set[str] = set()  # what this zygote has imported so (none after a restart)

    # -- the zygote ----------------------------------------------------------------------
    def prestart(self) -> None:
        """Start the zygote now without waiting for it: it imports torch while the judge
        goes on (the command line does this before the judge's own torch import, about 2 s
        that the two then share). The first fork waits for its boot; a start that fails
        here is tried again, and reported, by that fork."""
        with self._lock:
            if self._popen is not None:
                return
            try:
                self._spawn()
            except Exception:  # noqa: BLE001 - fork() starts it again and says why
                self._lose()

    def _start(self) -> None:
        self._spawn()
        self._finish_start()

    def _spawn(self) -> None:
        """The zygote's process, told how to confine itself; its boot is not awaited."""
        self._tmp = tempfile.TemporaryDirectory(prefix="divekit-zygote-")
        workdir = Path(self._tmp.name)
        harness, submission = prepare_workdir(workdir, {})
        cuda = self.device.startswith("cuda")
        self.launch = build_launch(workdir, harness, submission, self.limits, self.mode, cuda, entry="zygote")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Its own output is the harness's only (it runs no student code): a log outside the
        # folders the sandbox can see, read back when it fails to start.
        self._log = workdir / "zygote.log"
        user = self.launch.popen_user
        with open(self._log, "wb") as log, _undo_on_error(self.launch.uid, self._tmp):
            self._popen = subprocess.Popen(
                self.launch.argv,
                cwd=self.launch.cwd,
                env=dict(self.launch.env, DIVEKIT_ZYGOTE_FD=str(theirs.fileno())),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                close_fds=True,
                **({"user": user, "group": user, "extra_groups": []} if user is not None else {}),
            )
        theirs.close()
        self._control = ours
        self._imported = set()
        self.starts += 1
        # The kill of the whole sandbox, and the tree the sweep walks; no limits of its own
        # (each child's supervisor enforces them on its tree).
        self._whole = Supervisor(self.launch, self.limits, self._popen, watch=False)
        self._booting = True
        try:
            self._control.send(json.dumps({"confine": self.launch.confine}).encode())
        except OSError:
            pass  # it died at once: the boot below says so, with its log

    def _finish_start(self) -> None:
        """Wait for the zygote's boot, then start the sweep of its sandbox."""
        self._booting = False
        try:
            self._boot()
        except ForkServerLost:
            self._lose()
            raise
        self._stop.clear()
        self._sweeper = threading.Thread(target=self._sweep_loop, daemon=True, name="divekit-fork-sweep")
        self._sweeper.start()

    def _boot(self) -> None:
        try:
            self._control.settimeout(BOOT_SECONDS)
            booted = json.loads(self._control.recv(1 << 16) or b"{}")
        except (OSError, ValueError) as exc:
            raise ForkServerLost(f"the fork server did not start ({exc}): {self._log_tail()}") from None
        if booted.get("booted") is not True:
            raise ForkServerLost(f"the fork server did not start: {self._log_tail()}")
        self.confined = [str(c) for c in booted.get("confined", [])]
        self._zygote = self._find(self._popen.pid, int(booted["pid"]))
        self._infra = self._ancestors(self._zygote)

    def _log_tail(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-1500:] or "(no output)"
        except OSError:
            return "(no output)"

    def _find(self, root: int, inner: int) -> int:
        """The host pid of the process with pid ``inner`` in the sandbox, below ``root``."""
        # A fresh child is the zygote's own: its children are looked at before the rest.
        for pid in children_of(root):
            if _inner_pid(pid) == inner:
                return pid
        for pid in tree({root: None}):
            if _inner_pid(pid) == inner:
                return pid
        raise ForkServerLost(f"the fork server's process {inner} is not in its sandbox")

    def _ancestors(self, pid: int) -> set[int]:
        found = {pid}
        while pid != self._popen.pid:
            p = read(pid)
            if p is None or p.ppid <= 1:
                break
            pid = p.ppid
            found.add(pid)
        return found

    def _ask(self, message: dict, fds: tuple[int, ...] = (), timeout: float = CONTROL_SECONDS) -> dict:
        with self._lock:
            try:
                self._control.settimeout(timeout)
                socket.send_fds(self._control, [json.dumps(message).encode()], list(fds))
                answer = json.loads(self._control.recv(1 << 16) or b"{}")
            except (OSError, ValueError) as exc:
                self._lose()
                raise ForkServerLost(f"the fork server stopped answering ({exc})") from None
            if not answer:
                self._lose()
                raise ForkServerLost("the fork server is gone")
            return answer

    def _alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def preload(self, *modules: str) -> None:
        """Have the zygote import ``modules`` (``worker/zygote.py``'s PRELOADABLE) before
        its next fork, once: what a submission's code would otherwise import in each of
        its workers, inside its call limits. Asked by the grader of a module whose source
        uses it (``static.uses_dynamo``); a zygote started again is asked again."""
        with self._lock:
            self._imports.update(modules)

    # -- children ------------------------------------------------------------------------
    def fork(self, fds: tuple[int, int, int]) -> ForkedChild:
        """A fresh worker on the descriptors ``fds`` (requests, answers, output)."""
        with self._lock:
            if self._booting:
                self._finish_start()  # prestarted: its boot may still be under way
            if not self._alive():
                if self._popen is not None:
                    self._lose()  # the student's code stopped or killed it: a new sandbox
                self._start()
            self._pending = True  # the sweep leaves a child alone until it is registered
            try:
                imports = sorted(self._imports - self._imported)
                # An import first is a boot's work, not a fork's: it gets a boot's time.
                message = {"op": "fork", "imports": imports} if imports else {"op": "fork"}
                answer = self._ask(message, fds, BOOT_SECONDS if imports else CONTROL_SECONDS)
                self._imported.update(imports)
                inner = int(answer["pid"])
                child = ForkedChild(self, self._find(self._zygote, inner), inner)
                self._children[child.pid] = (child, None)
            finally:
                self._pending = False
            self.forks += 1
            return child

    def watch(self, child: ForkedChild, supervisor: Supervisor) -> None:
        with self._lock:
            self._children[child.pid] = (child, supervisor)

    def release(self, child: ForkedChild) -> None:
        """The child's session is over (its supervisor killed its tree): forget it, and
        collect its exit status so that no zombie is left."""
        with self._lock:
            self._children.pop(child.pid, None)
            if self._alive() and child.code is None:
                with contextlib.suppress(ForkServerLost):
                    child.poll()

    def exit_code(self, child: ForkedChild) -> int:
        """``child``'s exit status, asked of the zygote once. The judge's thread and the
        child's supervisor both poll, and the zygote hands a status out once: a second
        asker got none, read as SIGKILL, which could overwrite the first one's SIGXCPU (CI
        once reported a stub over its CPU limit as "killed"). Under the server's own lock,
        which ``release`` already holds when it polls: one lock, so no order to invert."""
        if child.code is None and not self._alive():
            child.code = -signal.SIGKILL  # it died with the zygote; no wait for a restart's boot
        with self._lock:
            if child.code is None:
                try:
                    child.code = self.status(child.inner_pid)
                except ForkServerLost:
                    child.code = -signal.SIGKILL  # its parent is gone, and it with it
            return child.code

    def status(self, inner_pid: int) -> int:
        if not self._alive():
            return -signal.SIGKILL  # it died with the zygote (its parent-death signal)
        code = self._ask({"op": "status", "pid": inner_pid}).get("code")
        return int(code) if isinstance(code, int) else -signal.SIGKILL

    # -- the sweep -----------------------------------------------------------------------
    def _sweep_loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - a /proc race must not stop the sweep
                continue

    def sweep(self) -> list[int]:
        """Kill every process of the sandbox outside the zygote and the live children's
        trees; returns their pids."""
        with self._lock:
            if self._pending or not self._alive():
                return []
            # The sandbox's processes are those below its first one (in bubblewrap's pid
            # namespace an orphan is re-parented inside it), as before with a whole scan.
            procs = tree({self._popen.pid: None})
            below = children_map(procs)
            keep = set(self._infra)
            for child, supervisor in self._children.values():
                known = list(supervisor._known) if supervisor is not None else []
                keep |= descendants(below, [child.pid, *known])
            strays = [pid for pid in procs if pid not in keep]
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for pid in strays:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, sig)
            return strays

    # -- the end -------------------------------------------------------------------------
    def _lose(self) -> None:
        """Kill the whole sandbox (every child with it) and forget it."""
        self._stop.set()
        if self._popen is not None:
            self._whole.kill_all()
            with contextlib.suppress(OSError):
                self._control.close()
            release_uid(self.launch.uid)
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
        self._popen = None
        self._booting = False
        self._children.clear()

    def close(self) -> None:
        with self._lock:
            if self._alive():
                with contextlib.suppress(OSError):
                    self._control.send(json.dumps({"op": "shutdown"}).encode())
            self._lose()
        if self._sweeper is not None and self._sweeper is not threading.current_thread():
            self._sweeper.join(timeout=2)


def current(limits: Limits, mode: str, device: str) -> ForkServer | None:
    """The fork server open for this block of grading, if it serves these settings."""
    server = _current.get()
    if server is None or (server.limits, server.mode, server.device) != (limits, mode, device):
        return None
    return server


@contextlib.contextmanager
def fork_server(limits: Limits, mode: str, device: str = "cpu") -> Iterator[ForkServer | None]:
    """Sessions started inside this block fork from one zygote (started on first use).

    Inside a block that already has one for the same settings, that one serves: a caller
    grading several submissions of its own (the tests, comparing two ways of grading one)
    pays the zygote's start once."""
    if not enabled():
        yield None
        return
    outer = current(limits, mode, device)
    if outer is not None:
        yield outer
        return
    server = ForkServer(limits, mode, device)
    server.prestart()  # booting while the judge reads the submission and its references
    token = _current.set(server)
    try:
        yield server
    finally:
        _current.reset(token)
        server.close()
