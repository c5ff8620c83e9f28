"""The hostile submissions, as data.

Each case is linear_regression's reference solution with ``squared_loss`` replaced by
hostile code (``where="stub"``), or with hostile code run at import (``where="import"``,
put in front of the module), or a whole module (``where="module"``). ``linreg`` stays
the reference's, so a case also shows that the other stubs are unaffected.

Placeholders filled in by the test: ``MARKER`` (put on every process the code starts,
so the test can look for leftovers), ``REPO_PATH`` (the judge's checkout), ``PORT`` (a
TCP port the judge listens on) and ``OUT_PATH`` (where the judge writes its results).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.sandbox import GiB, MiB


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    where: str = "stub"  # "stub", "import" or "module"
    says: str = ""  # what the feedback on squared_loss must say (case-insensitive)
    earns: bool = False  # squared_loss computes the right values: its credit is earned
    others_ok: bool = True  # linreg keeps full marks
    limits: dict = field(default_factory=dict)  # Limits fields to change for this case
    needs: str = ""  # a protection the case relies on (see support.protections)

    def __str__(self) -> str:
        return self.name


RIGHT = "    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2\n"
WRONG = "    return y_hat * 0\n"
# A daemon: new session, double fork, named MARKER, sleeping (inside a stub's body).
DAEMON = """    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"MARKER", 0, 0, 0)
            time.sleep(300)
            os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
"""

CASES = [
    Hostile("sys-exit-at-import", "import sys\nsys.exit(0)\n", where="import", says="SystemExit", others_ok=False),
    Hostile(
        "os-exit-at-import", "import os\nos._exit(0)\n", where="import", says="exited with code 0", others_ok=False
    ),
    Hostile(
        "os-exit-in-stub", "def squared_loss(y_hat, y):\n    import os\n    os._exit(3)\n", says="exited with code 3"
    ),
    Hostile("infinite-loop", "def squared_loss(y_hat, y):\n    while True:\n        pass\n", says="time limit"),
    Hostile("sleep-at-import", "import time\ntime.sleep(1000)\n", where="import", says="time limit", others_ok=False),
    Hostile(
        "syntax-error", "def squared_loss(y_hat, y)\n    return y_hat\n", says="SyntaxError at line", others_ok=False
    ),
    Hostile("nan", "def squared_loss(y_hat, y):\n    return y_hat * float('nan')\n", says="NaN"),
    # Address space: untouched allocations until the kernel says no (costs no real memory).
    Hostile(
        "memory-address-space",
        """
def squared_loss(y_hat, y):
    import torch
    hoard = []
    while True:
        hoard.append(torch.empty(2**28))  # 1 GiB each
""",
        says="limit: the worker's memory",
    ),
    # Resident memory spread over children, each under its own address-space limit: the
    # judge's supervisor adds them up.
    Hostile(
        "memory-resident-children",
        """
def squared_loss(y_hat, y):
    import ctypes, os, time
    for _ in range(8):
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"MARKER", 0, 0, 0)
            blob = b"x" * (300 * 2**20)
            time.sleep(60)
            os._exit(0)
    time.sleep(60)
""",
        says="more than the limit of 1.50 GiB",
        # A call limit longer than the time the memory limit needs to fire (calibrated call
        # limits would otherwise stop the stub at their floor first).
        limits={
            "memory_bytes": int(1.5 * GiB),
            "address_space_bytes": 16 * GiB,
            "call_seconds": 30,
            "call_floor_seconds": 30,
        },
    ),
    Hostile(
        "too-many-processes",
        """
def squared_loss(y_hat, y):
    import ctypes, os, time
    for _ in range(60):
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"MARKER", 0, 0, 0)
            time.sleep(60)
            os._exit(0)
    time.sleep(60)
""",
        says="processes",
        limits={"processes": 24, "call_seconds": 30, "call_floor_seconds": 30},
    ),
    Hostile(
        "cpu-time",
        "def squared_loss(y_hat, y):\n    while True:\n        pass\n",
        says="CPU time",
        limits={"cpu_seconds": 9, "call_seconds": 60, "call_floor_seconds": 60},  # CPU limit first
    ),
    Hostile(
        "file-too-large",
        """
def squared_loss(y_hat, y):
    with open("big.bin", "wb") as f:
        f.write(b"x" * (5 * 2**20))
"""
        + RIGHT,
        says="file may be at most 1 MiB",
        limits={"file_bytes": MiB},
    ),
    Hostile(
        "disk-filler",
        """
def squared_loss(y_hat, y):
    import os, time
    os.makedirs("fill", exist_ok=True)
    i = 0
    while True:
        with open(f"fill/{i}.bin", "wb") as f:
            f.write(os.urandom(2**20))
        i += 1
        time.sleep(0.005)
""",
        says="more than the limit of 16 MiB",
        limits={"disk_bytes": 16 * MiB, "call_seconds": 30, "call_floor_seconds": 30},
    ),
    Hostile(
        "patch-comparisons",
        """
import torch
import torch.testing
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
torch.Tensor.__eq__ = lambda self, other: True
torch.testing.assert_close = lambda *a, **k: None

def squared_loss(y_hat, y):
"""
        + WRONG,
        says="expected",
    ),
    Hostile(
        "tensor-subclass-claims-equality",
        """
import torch

class Liar(torch.Tensor):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("allclose", "equal", "isclose", "eq"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def squared_loss(y_hat, y):
    return torch.zeros_like(y_hat).as_subclass(Liar)
""",
        says="expected",
    ),
    Hostile(
        "object-claims-equality",
        """
class Anything:
    shape = (1,)
    dtype = None
    def __eq__(self, other):
        return True
    def __float__(self):
        return 0.0

def squared_loss(y_hat, y):
    return Anything()
""",
        says="Anything",
    ),
    Hostile(
        "reference-on-disk",
        """
def squared_loss(y_hat, y):
    import importlib, os
    tried = []
    candidates = ["REPO_PATH/solutions/linear_regression.py",
                  "/proc/%d/cwd/solutions/linear_regression.py" % os.getppid()]
    for top in ("/", "/work", "/home", "/root", "/tmp", os.path.expanduser("~")):
        try:
            for first in os.listdir(top):
                candidates.append(os.path.join(top, first, "solutions", "linear_regression.py"))
        except OSError:
            pass
    for path in candidates:
        try:
            source = open(path).read()
        except OSError as exc:
            tried.append(type(exc).__name__)
            continue
        ns = {}
        exec(compile(source, path, "exec"), ns)
        return ns["squared_loss"](y_hat, y)
    for name in (
        "autograder.course.linear_regression.probes",
        "autograder.worker.probes.linear_regression",
        "solutions.linear_regression",
    ):
        try:
            return importlib.import_module(name)._squared_loss(y_hat, y)
        except BaseException as exc:
            tried.append(type(exc).__name__)
    raise RuntimeError("no reference found on disk")
""",
        says="no reference found on disk",
        needs="files",
    ),
    Hostile(
        "reference-in-memory",
        """
def squared_loss(y_hat, y):
    import gc, importlib, sys, types
    names = ("squared_loss", "_squared_loss")
    frame = sys._getframe(1)
    while frame is not None:
        for ns in (frame.f_locals, frame.f_globals):
            for key, value in list(ns.items()):
                if key in names and callable(value) \\
                        and getattr(value, "__module__", "") != __name__:
                    return value(y_hat, y)
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and obj.__name__ in names \\
                and obj.__module__ != __name__:
            return obj(y_hat, y)
    for name in list(sys.modules):
        if name.startswith("divekit_worker"):
            for key in names:
                value = getattr(sys.modules[name], key, None)
                if callable(value):
                    return value(y_hat, y)
    try:
        probes = importlib.import_module("divekit_worker.probes.linear_regression")
        return probes._squared_loss(y_hat, y)
    except ImportError:
        pass
    raise RuntimeError("no reference found in memory")
""",
        says="no reference found in memory",
    ),
    Hostile(
        "overwrite-grading-helpers",
        """
import sys

_main = sys.modules["divekit_worker.main"]
_protocol = sys.modules["divekit_worker.protocol"]
_forged = {"calls": [], "seconds": 0.0, "value": {"__dict__": {"score": 100, "status": "passed"}}}
_main.Worker.call = lambda self, request, tensors: (dict(_forged), {})
_main.error_answer = lambda exc, path: {"ok": True, "value": 1.0}
_protocol.decode = lambda *a, **k: None
try:
    import autograder.framework.expect as _expect
    _expect.close = lambda *a, **k: None
except BaseException:
    pass

def squared_loss(y_hat, y):
"""
        + WRONG,
        says="squared_loss",
        others_ok=False,
    ),
    Hostile(
        "forged-results",
        """
def squared_loss(y_hat, y):
    import json, os, sys
    blob = json.dumps({"score": 1000.0, "max_score": 9.0, "output": "forged", "tests": [
        {"name": "linear_regression.squared_loss", "score": 1000.0, "max_score": 1.0,
         "status": "passed"}]})
    print(blob)
    sys.stderr.write(blob + "\\n")
    for path in ("results.json", os.path.expanduser("~/results.json"), "/tmp/results.json",
                 "/autograder/results/results.json", "OUT_PATH"):
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w") as f:
                f.write(blob)
        except OSError:
            pass
"""
        + WRONG,
        says="expected",
    ),
    Hostile(
        "kill-the-judge",
        """
def squared_loss(y_hat, y):
    import os, signal
    for target in (os.getppid(), 1, -1):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
    except OSError:
        pass
"""
        + RIGHT,
        earns=True,
        needs="signals",
    ),
    Hostile(
        "leave-children",
        """
def _spawn():
    import ctypes, os, sys, time
    if os.fork() == 0:  # a plain fork that sleeps
        ctypes.CDLL(None).prctl(15, b"MARKER", 0, 0, 0)
        time.sleep(300)
        os._exit(0)
    pid = os.fork()
    if pid == 0:  # a daemon: new session, double fork, empty environment
        os.setsid()
        if os.fork() == 0:
            os.execve(sys.executable, [sys.executable, "-S", "-c",
                                       "import time; time.sleep(300)", "MARKER"], {})
        os._exit(0)
    os.waitpid(pid, 0)

def squared_loss(y_hat, y):
    _spawn()
"""
        + RIGHT,
        earns=True,
    ),
    Hostile(
        "leave-children-and-die",
        """
def squared_loss(y_hat, y):
    import ctypes, os, sys, time
"""
        + DAEMON
        + """    time.sleep(0.5)
    os._exit(0)
""",
        says="exited with code 0",
    ),
    # The hard case for plain processes: a daemon with an empty environment, started just
    # before the worker dies, is re-parented to init before the judge has seen it. Only a
    # uid of the worker's own (or bubblewrap's PID namespace) finds it then.
    Hostile(
        "scrubbed-daemon-and-die",
        """
def squared_loss(y_hat, y):
    import os, sys
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execve(sys.executable, [sys.executable, "-S", "-c",
                                       "import time; time.sleep(300)", "MARKER"], {})
        os._exit(0)
    os.waitpid(pid, 0)
    os._exit(0)
""",
        says="exited with code 0",
        needs="children",
    ),
    # A daemon that leaves its worker's tree: the worker stops adopting orphans first, so
    # it is re-parented to the zygote, where the fork server's sweep finds it.
    Hostile(
        "disowned-daemon",
        """
def squared_loss(y_hat, y):
    import ctypes, os, time
    ctypes.CDLL(None).prctl(36, 0, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER off
"""
        + DAEMON
        + RIGHT,
        earns=True,
    ),
    Hostile(
        "flood-output",
        """
def squared_loss(y_hat, y):
    import sys
    while True:
        sys.stdout.write("spam " * 2000 + "\\n")
        sys.stderr.write("eggs " * 2000 + "\\n")
""",
        says="bytes of output were cut",
    ),
    Hostile(
        "network",
        """
def squared_loss(y_hat, y):
    import socket
    outcome = []
    for host, port in (("127.0.0.1", PORT), ("1.1.1.1", 53), ("8.8.8.8", 443)):
        try:
            socket.create_connection((host, port), timeout=2).close()
            outcome.append(f"{host}:connected")
        except OSError as exc:
            outcome.append(f"{host}:{type(exc).__name__}")
    raise RuntimeError("network " + " ".join(outcome))
""",
        says="127.0.0.1:",
        needs="network",
    ),
    Hostile(
        "delete-own-files",
        """
def squared_loss(y_hat, y):
    import os, shutil, sys
    for name in os.listdir("."):
        shutil.rmtree(name, ignore_errors=True) if os.path.isdir(name) else os.remove(name)
    harness = os.path.dirname(os.path.dirname(sys.modules["divekit_worker"].__file__))
    shutil.rmtree(harness, ignore_errors=True)
    os._exit(0)
""",
        says="exited with code 0",
    ),
]

BY_NAME = {c.name: c for c in CASES}
