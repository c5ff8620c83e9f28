"""The sandbox from inside and outside: what a worker can see and do in each mode, the
wire format, forbidden-routine detection, determinism, and the doctor's account."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import strategies as st

from autograder import cli, curriculum, sandbox, static
from autograder.config import GradingConfig
from autograder.framework import Check
from autograder.framework.context import Ctx
from autograder.grading import grade
from autograder.sandbox import Limits, choose_mode
from autograder.sandbox.bwrap import python_binds
from autograder.session import WorkerLost, WorkerSession
from autograder.worker.protocol import (
    ProtocolError,
    Unencodable,
    decode,
    encode,
    parse_message,
)

from .hostile.support import (
    FAST_LIMITS,
    MODES,
    REFERENCE,
    REPO,
    feedback,
    grade_text,
    leftovers,
    limits,
    marker,
    stub_fraction,
    with_stub,
)

FACTS = r"""
import os, socket, sys

def facts(judge_pid, repo, port):
    out = {"uid": os.getuid(), "pid": os.getpid(), "ppid": os.getppid(),
           "hostname": socket.gethostname(), "cwd": os.getcwd(), "files": sorted(os.listdir("."))}
    out["repo_exists"] = os.path.exists(repo)
    try:
        open(os.path.join(repo, "solutions", "linear_regression.py")).read()
        out["solutions"] = "read"
    except OSError as exc:
        out["solutions"] = type(exc).__name__
    try:
        import autograder  # noqa: F401
        out["import_autograder"] = "ok"
    except BaseException as exc:
        out["import_autograder"] = type(exc).__name__
    try:
        os.kill(judge_pid, 0)
        out["judge"] = "can signal"
    except OSError as exc:
        out["judge"] = type(exc).__name__
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        out["tcp"] = "connected"
    except OSError as exc:
        out["tcp"] = type(exc).__name__
    out["interfaces"] = sorted(name for _, name in socket.if_nameindex())
    try:
        out["root_listing"] = sorted(os.listdir("/"))
    except OSError as exc:
        out["root_listing"] = type(exc).__name__
    probes = os.path.dirname(sys.modules["divekit_worker.probes"].__file__)
    out["probes"] = sorted(os.listdir(probes))
    out["channels_in_env"] = "DIVEKIT_WORKER_FDS" in os.environ
    return out
"""


def _facts(mode: str) -> tuple[dict, list[str]]:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        with WorkerSession("facts", "facts.py", FACTS, ["facts"], limits=FAST_LIMITS, mode=mode) as s:
            s.start()
            header, tensors = s.call({"target": {"stub": "facts"}}, (os.getpid(), str(REPO), listener.getsockname()[1]))
            return s.decode(header, tensors), s.confined
    finally:
        listener.close()


@pytest.mark.parametrize("mode", MODES)
def test_what_a_worker_sees_from_inside(mode):
    facts, confined = _facts(mode)
    host = sandbox.host()
    # Probes (library stand-ins: de facto reference solutions) are not on disk.
    assert facts["probes"] == ["__init__.py", "common.py"]
    assert facts["files"] == ["facts.py"]
    assert not facts["channels_in_env"]
    if mode == "bwrap":
        assert not facts["repo_exists"]
        assert facts["solutions"] == "FileNotFoundError"
        assert facts["import_autograder"] == "ModuleNotFoundError"
        assert facts["tcp"] != "connected" and facts["interfaces"] == ["lo"]
        assert facts["judge"] == "ProcessLookupError"  # another PID namespace
        assert facts["pid"] == 2 and facts["ppid"] == 1
        assert facts["hostname"] == "divekit-worker"
        assert facts["cwd"] == "/submission"
        allowed = {
            "bin",
            "sbin",
            "lib",
            "lib32",
            "lib64",
            "libx32",
            "usr",
            "etc",
            "dev",
            "proc",
            "sys",
            "tmp",
            "home",
            "harness",
            "submission",
            "opt",
        }
        allowed |= {dest.strip("/").split("/")[0] for _, dest in python_binds()}
        allowed |= {p.strip("/").split("/")[0] for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p}
        assert set(facts["root_listing"]) <= allowed, facts["root_listing"]
        if host.bwrap_variant == "root-drop":
            assert facts["uid"] not in (0, os.getuid())
    else:
        if host.process_uid:
            assert facts["uid"] != os.getuid()
        if host.landlock_abi >= 1:
            assert facts["solutions"] == "PermissionError"
            assert facts["import_autograder"] != "ok"
            assert any(c.startswith("Landlock ABI") for c in confined)
        if host.landlock_abi >= 4:
            assert facts["tcp"] == "PermissionError"
        if host.landlock_abi >= 6 or host.process_uid:
            assert facts["judge"] == "PermissionError"


def test_choose_mode_says_why():
    mode, why = choose_mode("process")
    assert mode == "process" and "requested" in why
    ok, reason = sandbox.bubblewrap_works()
    if ok:
        assert choose_mode("auto")[0] == "bwrap"
    else:
        assert choose_mode("auto") == ("process", choose_mode("auto")[1])
        assert reason in choose_mode("auto")[1]
        with pytest.raises(RuntimeError, match="bwrap"):
            choose_mode("bwrap")


def test_doctor_reports_the_mode_and_why():
    result = CliRunner().invoke(cli.main, ["doctor"])
    assert result.exit_code == 0, result.output
    mode, why = choose_mode("auto")
    assert f"sandbox: {mode} ({why})" in result.output
    assert "bubblewrap:" in result.output and "Landlock" in result.output


def test_process_mode_reports_say_isolation_is_weaker(tmp_path):
    report = grade_text(tmp_path, REFERENCE, "process", only=["linear_regression.linreg"])
    assert report.meta["sandbox"] == "process"
    assert any("Isolation: plain processes" in n for n in report.notes)


# -- the wire ---------------------------------------------------------------------------------


class Liar(torch.Tensor):
    def __eq__(self, other):
        return True


def test_decode_builds_only_plain_values():
    tensors: dict = {}
    data = encode({"t": torch.ones(3).as_subclass(Liar), "n": float("nan"), "o": object()}, tensors)
    back = decode(data, tensors)
    assert type(back["t"]) is torch.Tensor
    assert back["n"] != back["n"]
    assert isinstance(back["o"], Unencodable)


@pytest.mark.parametrize(
    "junk",
    [
        {"__tensor__": ["t0"]},
        {"__tensor__": "missing"},
        {"__float__": "1e999"},
        {"__handle__": "1"},
        {"__generator__": [1]},
        {"__tuple__": {"a": 1}},
        {"__dict__": [1, 2]},
        {"__pickle__": "gASV"},
        {},
        [
            [
                [
                    [
                        [
                            [
                                [
                                    [
                                        [
                                            [
                                                [
                                                    [
                                                        [
                                                            [
                                                                [
                                                                    [
                                                                        [
                                                                            [
                                                                                [
                                                                                    [
                                                                                        [
                                                                                            [
                                                                                                [
                                                                                                    [
                                                                                                        [
                                                                                                            [
                                                                                                                [
                                                                                                                    [
                                                                                                                        [
                                                                                                                            [
                                                                                                                                [
                                                                                                                                    [
                                                                                                                                        [
                                                                                                                                            [
                                                                                                                                                [
                                                                                                                                                    [
                                                                                                                                                        [
                                                                                                                                                            [
                                                                                                                                                                [
                                                                                                                                                                    [
                                                                                                                                                                        [
                                                                                                                                                                            [
                                                                                                                                                                                [
                                                                                                                                                                                    [
                                                                                                                                                                                        [
                                                                                                                                                                                            [
                                                                                                                                                                                                [
                                                                                                                                                                                                    [
                                                                                                                                                                                                        [
                                                                                                                                                                                                            [
                                                                                                                                                                                                                [
                                                                                                                                                                                                                    [
                                                                                                                                                                                                                        [
                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                                        1
                                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                ]
                                                                                                                                                                                                            ]
                                                                                                                                                                                                        ]
                                                                                                                                                                                                    ]
                                                                                                                                                                                                ]
                                                                                                                                                                                            ]
                                                                                                                                                                                        ]
                                                                                                                                                                                    ]
                                                                                                                                                                                ]
                                                                                                                                                                            ]
                                                                                                                                                                        ]
                                                                                                                                                                    ]
                                                                                                                                                                ]
                                                                                                                                                            ]
                                                                                                                                                        ]
                                                                                                                                                    ]
                                                                                                                                                ]
                                                                                                                                            ]
                                                                                                                                        ]
                                                                                                                                    ]
                                                                                                                                ]
                                                                                                                            ]
                                                                                                                        ]
                                                                                                                    ]
                                                                                                                ]
                                                                                                            ]
                                                                                                        ]
                                                                                                    ]
                                                                                                ]
                                                                                            ]
                                                                                        ]
                                                                                    ]
                                                                                ]
                                                                            ]
                                                                        ]
                                                                    ]
                                                                ]
                                                            ]
                                                        ]
                                                    ]
                                                ]
                                            ]
                                        ]
                                    ]
                                ]
                            ]
                        ]
                    ]
                ]
            ]
        ],
    ],
)
def test_decode_rejects_malformed_values(junk):
    with pytest.raises(ProtocolError):
        decode(junk, {"t0": torch.zeros(1)})


def test_parse_rejects_bombs():
    with pytest.raises(ProtocolError):
        parse_message(b"[" * 100_000 + b"]" * 100_000, b"")
    with pytest.raises(ProtocolError):
        parse_message(b"{}", b"not safetensors")


GARBAGE = r"""
import os, struct
message = struct.pack(">IQ", 2, 0) + b"[]"
for fd in range(3, 256):  # whichever descriptor is the answer channel
    try:
        os.write(fd, message)
    except OSError:
        pass
"""


@pytest.mark.parametrize("mode", MODES)
def test_what_student_code_writes_on_the_answer_channel_is_not_a_result(mode):
    with WorkerSession("garbage", "garbage.py", GARBAGE, [], limits=FAST_LIMITS, mode=mode) as s:
        with pytest.raises(WorkerLost) as lost:
            s.start()
    assert lost.value.reason == "protocol"


# -- forbidden routines -----------------------------------------------------------------------

SOFTMAX_FORBIDDEN = next(s for s in curriculum.all_stubs() if s.id == "softmax_regression.softmax").forbidden

SOFTMAXES = r"""
import torch
import torch.nn.functional as F
from torch import softmax as imported

sm = torch.softmax

def direct(X):
    return torch.softmax(X, 1)

def aliased(X):
    return sm(X, 1)

def imported_alias(X):
    return imported(X, 1)

def by_getattr(X):
    return getattr(torch, "soft" + "max")(X, 1)

def method(X):
    return getattr(X, "soft" + "max")(1)

def functional(X):
    return getattr(F, "soft" + "max")(X, dim=1)

def special(X):
    return torch.special.softmax(X, 1)

def without_torch_function(X):
    with torch._C.DisableTorchFunction():
        return getattr(torch, "soft" + "max")(X, 1)

def from_scratch(X):
    e = torch.exp(X - X.max(1, keepdim=True).values)
    return e / e.sum(1, keepdim=True)
"""
CHEATS = [
    "direct",
    "aliased",
    "imported_alias",
    "by_getattr",
    "method",
    "functional",
    "special",
    "without_torch_function",
]


def test_static_detection_resolves_aliases():
    tree = static.parse(SOFTMAXES, "softmaxes.py")
    for name in ("direct", "aliased", "imported_alias"):
        assert static.forbidden_calls(tree, name, SOFTMAX_FORBIDDEN), name
    assert not static.forbidden_calls(tree, "from_scratch", SOFTMAX_FORBIDDEN)


@pytest.mark.parametrize("mode", MODES)
def test_runtime_detection_sees_every_route_to_softmax(mode):
    X = torch.randn(4, 5)
    with WorkerSession(
        "softmaxes", "softmaxes.py", SOFTMAXES, CHEATS + ["from_scratch"], limits=FAST_LIMITS, mode=mode
    ) as s:
        s.start()
        for name in CHEATS + ["from_scratch"]:
            header, tensors = s.call({"target": {"stub": name}}, (X,))
            assert torch.allclose(s.decode(header, tensors), torch.softmax(X, 1))
            found = static.forbidden_at_runtime(set(header["calls"]), SOFTMAX_FORBIDDEN)
            if name == "from_scratch":
                assert found == [], header["calls"]
            else:
                assert found, f"{name}: {header['calls']}"


SGD_GETATTR = """
def sgd(params, lr, batch_size):
    opt = getattr(torch.optim, "S" + "GD")(params, lr=lr / batch_size)
    opt.step()
"""
SGD_TAMPER = """
def sgd(params, lr, batch_size):
    import sys
    sys.setprofile(None)
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
"""


@pytest.mark.parametrize("mode", MODES)
def test_an_optimizer_reached_by_getattr_is_reported(tmp_path, mode):
    # The first optimizer imports torch._dynamo, slowly under the recorder: a longer limit.
    report = grade_text(
        tmp_path, with_stub(SGD_GETATTR, "sgd"), mode, only=["linear_regression.sgd"], limits=limits(call_seconds=60)
    )
    scratch = next(t for t in report.tests if t.kind == "scratch")
    assert scratch.score == 0
    assert "while running it called torch.optim.SGD" in scratch.output


def test_switching_the_recorder_off_is_caught(tmp_path):
    report = grade_text(tmp_path, with_stub(SGD_TAMPER, "sgd"), "process", only=["linear_regression.sgd"])
    assert stub_fraction(report, "linear_regression.sgd") == 0
    assert "TamperingDetected" in feedback(report, "linear_regression.sgd")


# -- processes --------------------------------------------------------------------------------

DAEMON = r"""
import os, sys
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve(sys.executable, [sys.executable, "-S", "-c", "import time; time.sleep(300)",
                                   "MARKER"], {})
    os._exit(0)
os.waitpid(pid, 0)

def nothing():
    return 1
"""


@pytest.mark.parametrize("mode", MODES)
def test_closing_a_session_kills_setsid_daemons(mode):
    mark = marker()
    with WorkerSession(
        "daemon", "daemon.py", DAEMON.replace("MARKER", mark), ["nothing"], limits=FAST_LIMITS, mode=mode
    ) as s:
        s.start()
        deadline = time.monotonic() + 5
        while not leftovers(mark) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert leftovers(mark), "the daemon did not start"
    assert leftovers(mark) == []


def test_a_dead_worker_does_not_take_the_judge_with_it():
    # The judge is this process: it is still here, and the next session works.
    with WorkerSession("m", "m.py", "import os\nos._exit(0)\n", [], limits=FAST_LIMITS, mode="process") as s:
        with pytest.raises(WorkerLost, match="exited with code 0"):
            s.start()
    with WorkerSession("m", "m.py", "x = 1\n", [], limits=FAST_LIMITS, mode="process") as s:
        s.start()


# -- determinism ------------------------------------------------------------------------------

MISSING_HALF = "def squared_loss(y_hat, y):\n    return (y_hat - y.reshape(y_hat.shape)) ** 2\n"


@pytest.mark.parametrize("mode", MODES)
def test_grading_twice_gives_the_same_report(tmp_path, mode):
    text = with_stub(MISSING_HALF)
    only = ["linear_regression.squared_loss", "linear_regression.data_iter"]
    opts = GradingConfig(sandbox=mode, training=False, examples=10, limits=FAST_LIMITS)
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "linear_regression.py").write_text(text)
    first = grade(str(folder), only, opts).to_gradescope()
    second = grade(str(folder), only, opts).to_gradescope()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert all(t["extra_data"]["seed"] is not None for t in first["tests"] if t["extra_data"]["kind"] == "unit")
    assert "missing 1/2" in feedback(grade(str(folder), only, opts))


def _examples_drawn(check_name: str) -> list[int]:
    ctx = Ctx(
        check=Check("linear_regression", "linreg", check_name, lambda c: None),
        session_factory=lambda: None,
        reference=sys.modules[__name__],
    )
    seen: list[int] = []

    @ctx.given(st.integers(-(10**9), 10**9))
    def prop(i):
        seen.append(i)

    used = prop._hypothesis_internal_use_settings
    assert used.database is None, "a grading run must keep no example database"
    prop()
    return seen


@pytest.mark.parametrize("replay", ["0", "1"])
def test_property_checks_are_seeded_by_their_check_without_a_database(monkeypatch, replay):
    # The same check draws the same inputs every run (a regrade is reproducible),
    # and the seed is the check's own, so two checks do not share inputs: hypothesis's own
    # draws ("0"), and the examples replayed from the first run ("1", drawn_examples.py).
    from autograder.framework import drawn_examples

    monkeypatch.setenv(drawn_examples.ENV_VAR, replay)
    monkeypatch.setattr(drawn_examples, "_MEMORY", {})
    first, again = _examples_drawn("one check"), _examples_drawn("one check")
    other = _examples_drawn("another check")
    assert first == again and len(first) == 25
    assert first != other


def test_limits_have_sane_defaults():
    lim = Limits()
    assert lim.memory_bytes >= 4 * 2**30 and lim.processes >= 64
    assert lim.address_space_bytes is None and lim.disk_bytes > lim.file_bytes
    assert Path(sandbox.WORKER_PACKAGE / "probes" / "__init__.py").is_file()


def test_the_memory_watch_reads_smaps_only_when_the_resident_size_could_break_the_limit(monkeypatch):
    """PSS (smaps_rollup, 27-40 ms for a worker that imported torch) is read only when the
    resident sizes could exceed the limit: below it their sum gives the same verdict."""
    from types import SimpleNamespace

    from autograder.sandbox import proc, supervisor

    me = proc.read(os.getpid())
    assert me is not None and me.rss > 0
    members = {me.pid: me}

    def watch(memory_bytes):
        limits = Limits(memory_bytes=memory_bytes)
        return supervisor.Supervisor(None, limits, SimpleNamespace(pid=me.pid), watch=False)

    def no_smaps(pid, fallback):
        raise AssertionError("smaps_rollup read although the resident size is far below the limit")

    with monkeypatch.context() as m:
        m.setattr(supervisor, "pss", no_smaps)
        assert watch(me.rss + 2 * supervisor.RSS_SLACK)._memory(members) == me.rss
    # At the limit (within the counters' slack) and above it, the proportional size counts.
    asked = []
    with monkeypatch.context() as m:
        m.setattr(supervisor, "pss", lambda pid, fallback: asked.append(pid) or 12345)
        for limit in (me.rss + supervisor.RSS_SLACK // 2, me.rss // 2):
            assert watch(limit)._memory(members) == 12345
    assert asked == [me.pid, me.pid]
    assert 0 < proc.pss(me.pid, -1) <= proc.read(me.pid).rss + supervisor.RSS_SLACK  # the real reading


def test_the_watch_reads_a_tree_from_its_own_entries_as_a_whole_scan_would_see_it(monkeypatch):
    """proc.tree (each process's /proc/PID/task/*/children) finds what the walk over the
    whole table finds: a grandchild made by a thread other than the main one, and a
    grand-grandchild; a root whose start time does not match (a reused pid) is left out."""
    from autograder.sandbox import proc

    code = (
        "import subprocess, sys, threading, time\n"
        "made = threading.Event()\n"
        "def make():\n"  # the thread lives on: its child is listed under the thread alone
        "    subprocess.Popen([sys.executable, '-c',"
        ' \'import subprocess, sys, time; subprocess.Popen(["sleep", "30"]); time.sleep(30)\'])\n'
        "    made.set(); time.sleep(30)\n"
        "threading.Thread(target=make, daemon=True).start(); made.wait()\n"
        "print('ready', flush=True); time.sleep(30)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while len(proc._tree_from_table({parent.pid: None})) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # the grandchild starts its own child
        by_table = proc._tree_from_table({parent.pid: None})
        assert len(by_table) == 3
        assert proc._CHILDREN_FILES, "this kernel has no /proc/PID/task/TID/children"
        shape = {pid: p.ppid for pid, p in by_table.items()}
        assert {pid: p.ppid for pid, p in proc.tree({parent.pid: None}).items()} == shape
        start = by_table[parent.pid].start
        assert set(proc.tree({parent.pid: start})) == set(by_table)
        assert proc.tree({parent.pid: start + 1}) == {} == proc._tree_from_table({parent.pid: start + 1})
        # Without the children files the whole table is read, with the same answer.
        monkeypatch.setattr(proc, "_CHILDREN_FILES", False)
        assert {pid: p.ppid for pid, p in proc.tree({parent.pid: None}).items()} == shape
    finally:
        for pid in proc._tree_from_table({parent.pid: None}):
            os.kill(pid, 9)
        parent.wait()


def test_a_required_sandbox_that_cannot_start_stops_grading(tmp_path):
    """DIVEKIT_REQUIRE_SANDBOX=bwrap (CI): where bubblewrap cannot start (here: not on
    PATH, for real, in a separate process) "auto" fails instead of falling back, and an
    explicit --sandbox process is still honoured."""
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env.update(PATH=str(tmp_path), DIVEKIT_REQUIRE_SANDBOX="bwrap")
    argv = [sys.executable, "-m", "autograder.cli", "grade", str(REPO / "solutions")]
    argv += ["--only", "linear_regression.linreg", "--no-training", "--examples", "3"]

    def run(*more: str) -> subprocess.CompletedProcess:
        return subprocess.run([*argv, *more], env=env, cwd=REPO, capture_output=True, text=True, timeout=600)

    done = run()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "DIVEKIT_REQUIRE_SANDBOX=bwrap requires the bubblewrap sandbox" in done.stderr
    assert "not installed" in done.stderr and done.stderr.strip().count("\n") == 0
    done = run("--sandbox", "process")
    assert done.returncode == 0, done.stdout + done.stderr
    got, total = re.search(r"Total: ([\d.]+)/([\d.]+)", done.stdout).groups()
    assert got == total and float(total) > 0, done.stdout
