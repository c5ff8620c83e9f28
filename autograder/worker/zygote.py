"""The fork server ("zygote"): one process in the sandbox that imports torch and the worker
once, confines itself, and then forks a fresh worker for each session the judge asks for.

It never runs student code: it only forks, hands each child the descriptors the judge
sent (its request and answer pipes and its output), and reports how children ended. A
child is confined by inheritance (uid, rlimits, Landlock, no new privileges, the
namespaces of the sandbox), adopts its own orphans (a subreaper, so the judge finds a
daemon it made among the child's descendants), dies with the zygote, and runs
``main.serve`` as a fresh worker would; it never returns into this loop.

CUDA: the zygote must never initialise CUDA (a forked child cannot use a context its
parent made), so nothing here touches ``torch.cuda``; each child initialises its own
when a check first uses the GPU (``main.serve`` asks ``torch.cuda.is_available()`` only
in the child).

The control channel is a unix socket (``DIVEKIT_ZYGOTE_FD``): one JSON message per
datagram, descriptors passed with SCM_RIGHTS.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import time

# Imported once here, before any fork: the point of the zygote. torch.fx's symbolic shapes
# too: torch.autograd.grad and backward import it (and sympy with it, about 0.5 s) the first
# time they are given an output gradient, which every gradient check does. (torch._dynamo,
# imported here before, brought it along; see PRELOADABLE.)
import torch
import torch.fx.experimental.symbolic_shapes  # noqa: F401

from . import main as worker_main
from . import probes, recorder  # noqa: F401 - what every child uses, imported once
from .confinement import confine, scope_signals, set_cpu_limit

MAX_MESSAGE = 1 << 16
PR_SET_DUMPABLE = 4


def _prctl(option: int, value: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _send(control: socket.socket, message: dict) -> None:
    control.send(json.dumps(message).encode())


def _reap(statuses: dict[int, int], children: set[int]) -> None:
    """Collect every ended child: ours (their status is kept for the judge) and orphans
    the student's code left, which were re-parented here (the zygote is a subreaper)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in children:
            children.discard(pid)
            statuses[pid] = os.waitstatus_to_exitcode(status)


def _child(fds: list[int], confined: list[str], cpu_seconds: int | None) -> None:
    """In the forked child: become a worker on the descriptors the judge sent."""
    request_fd, answer_fd, output_fd = fds
    if cpu_seconds is not None:
        # The CPU limit is per process and counts from the fork: each child gets all of it,
        # whatever the zygote spent importing torch (which, under the zygote's own limit,
        # could kill the zygote, and every child with it, on a loaded machine).
        set_cpu_limit(cpu_seconds)
        confined = [*confined, f"RLIMIT_CPU={cpu_seconds}"]
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    _prctl(PR_SET_DUMPABLE, 1)
    # Its own session (a killpg of the zygote's group misses it) and its own Landlock
    # scope (no signal reaches the zygote or a sibling from here).
    os.setsid()
    confined = [*confined, scope_signals()]
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    worker_main.serve(request_fd, answer_fd, confined)


# What a fork may ask the zygote to import first, once (ForkServer.preload in
# sandbox/zygote.py): building a torch.optim optimizer, torch.compile and a few more import
# torch._dynamo on first use, 2 to 9 s, more than a calibrated call limit's floor. Imported
# here only for a submission that uses one of them (static.uses_dynamo): every other
# submission's first fork is that much sooner. After confinement (it wants a writable
# temporary folder); it starts no thread and does not initialise CUDA.
PRELOADABLE = frozenset({"torch._dynamo"})


def _preload(names: object) -> None:
    for name in names if isinstance(names, list) else ():
        if name in PRELOADABLE and name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a child then imports it itself, in its own call
                pass


def main() -> None:
    control = socket.socket(fileno=int(os.environ.pop("DIVEKIT_ZYGOTE_FD")))
    os.set_inheritable(control.fileno(), False)
    setup = json.loads(control.recv(MAX_MESSAGE))
    spec = dict(setup.get("confine") or {})
    rlimits = dict(spec.get("rlimits") or {})
    cpu_seconds = rlimits.pop("CPU", None)  # set in each child instead (see _child)
    confined = confine({**spec, "rlimits": rlimits}) + ["fork server"]
    # Not dumpable: a child (same uid) can neither ptrace the zygote nor read its memory;
    # each child makes itself dumpable again, so the judge's /proc reads work as before.
    _prctl(PR_SET_DUMPABLE, 0)
    statuses: dict[int, int] = {}
    children: set[int] = set()
    _send(control, {"booted": True, "confined": confined, "pid": os.getpid()})
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 8)
        except OSError:
            return
        if not data:
            return  # the judge closed the channel
        _reap(statuses, children)
        request = json.loads(data)
        op = request.get("op")
        if op == "fork" and len(fds) == 3:
            _preload(request.get("imports"))
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    control.close()
                    _child(fds, confined, cpu_seconds)
                except BaseException:  # noqa: BLE001 - a child never returns into the zygote
                    code = 70
                finally:
                    os._exit(code)
            children.add(pid)
            for fd in fds:
                os.close(fd)
            _send(control, {"pid": pid})
        elif op == "status":
            pid = int(request.get("pid", 0))
            # The judge asks once it saw the child end, so it is a zombie or about to be;
            # never block on one that lives on (the judge then reports it as such).
            for _ in range(400):
                _reap(statuses, children)  # first: checking before reaping cost 10 ms a worker
                if pid not in children:
                    break
                time.sleep(0.005)
            _send(control, {"pid": pid, "code": statuses.pop(pid, None)})
        elif op == "shutdown":
            return
        else:
            for fd in fds:
                os.close(fd)
            _send(control, {"error": f"unknown request {op!r}"})


if __name__ == "__main__":
    sys.exit(main())
