"""The fork server: every stub's checks run in a worker no sibling's code has touched, and
a hanging stub costs one calibrated call limit, not one per check that calls it."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from autograder.config import GradingConfig
from autograder.grading import grade
from autograder.sandbox import Limits
from autograder.sandbox.proc import read
from autograder.sandbox.zygote import fork_server
from autograder.session import WorkerSession

from .hostile.support import MODES
from .variants.harness import replace_stub

REPO = Path(__file__).resolve().parents[1]
SOFTMAX = (REPO / "solutions" / "softmax_regression.py").read_text(encoding="utf-8")
SIBLINGS = ("cross_entropy", "accuracy", "evaluate_accuracy")
LIMITS = Limits(call_seconds=5, module_seconds=200)


def _grade(tmp_path, text, mode="process"):
    folder = tmp_path / "sub"
    folder.mkdir(parents=True)
    (folder / "softmax_regression.py").write_text(text)
    options = GradingConfig(sandbox=mode, examples=5, training=False, limits=LIMITS)
    return grade(str(folder), ["softmax_regression"], options)


def _scores(report):
    return {stub.split(".")[-1]: got / total for stub, (got, total) in report.by_stub().items()}


# A softmax that, once called, replaces every other function of its own file (and torch's
# exp and log) with wrong ones: in a shared worker its siblings' checks would fail.
TAMPERING = """
def softmax(X):
    import sys
    import torch
    module = sys.modules[__name__]
    module.cross_entropy = lambda y_hat, y: torch.zeros(len(y))
    module.accuracy = lambda y_hat, y: -1.0
    module.evaluate_accuracy = lambda net, data_iter: -1.0
    module.net = lambda X, W, b: torch.zeros(X.shape[0], W.shape[1])
    torch.exp = lambda x: x
    torch.log = lambda x: x
    return X
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_tampering_stub_costs_its_siblings_nothing(tmp_path, mode):
    report = _grade(tmp_path, replace_stub(SOFTMAX, "softmax", TAMPERING), mode)
    scores = _scores(report)
    assert scores["softmax"] < 1, report.tests  # it was called, and is wrong
    for name in SIBLINGS:
        assert scores[name] == pytest.approx(1.0), [t.output for t in report.tests if t.stub.endswith(name)]


HANGING = "def softmax(X):\n    while True:\n        pass\n"


def test_a_hanging_stub_costs_one_call_limit(tmp_path):
    report = _grade(tmp_path, replace_stub(SOFTMAX, "softmax", HANGING))
    scores = _scores(report)
    assert scores["softmax"] == 0
    for name in ("cross_entropy", "accuracy", "net", "evaluate_accuracy"):
        assert scores[name] == pytest.approx(1.0), [t.output for t in report.tests if t.stub.endswith(name)]
    mine = [t for t in report.tests if t.stub.endswith(".softmax")]
    waited = [t for t in mine if "no answer within" in t.output]
    skipped = [t for t in mine if "timed out earlier in this run" in t.output and "not called again" in t.output]
    assert len(waited) == 1, [t.output for t in mine]  # the one limit it cost
    assert len(skipped) == len(mine) - 1, [t.output for t in mine]  # every other test names it


@pytest.mark.parametrize("mode", MODES)
def test_forked_workers_are_fresh_and_the_zygote_is_shared(mode):
    source = "import torch\nseen = []\ndef f(x):\n    seen.append(x)\n    return len(seen)\n"
    with fork_server(LIMITS, mode) as server:
        for _ in range(3):
            with WorkerSession("m", "m.py", source, ["f"], limits=LIMITS, mode=mode) as s:
                s.start()
                assert s.decode(*s.call({"target": {"stub": "f"}}, (1,))) == 1  # no state survived
                assert "fork server" in s.confined
    assert (server.starts, server.forks) == (1, 3)


@pytest.mark.parametrize("mode", MODES)
def test_the_zygote_imports_torch_dynamo_only_for_a_submission_that_uses_it(tmp_path, mode):
    # torch._dynamo is 2-9 s of CPU: only a module whose source uses torch.optim (or
    # another of its users) has the zygote import it, once, before its workers are forked.
    # torch.fx's symbolic shapes (sympy), which every gradient check needs, is there always.
    probe = "import sys\ndef f(x):\n    return [m in sys.modules for m in x]\n"
    modules = ["torch._dynamo", "torch.fx.experimental.symbolic_shapes"]
    with fork_server(LIMITS, mode) as server:
        for preloaded in (False, True):
            if preloaded:
                server.preload("torch._dynamo")
            with WorkerSession("m", "m.py", probe, ["f"], limits=LIMITS, mode=mode) as s:
                s.start()
                assert s.decode(*s.call({"target": {"stub": "f"}}, (modules,))) == [preloaded, True]
    with fork_server(LIMITS, mode) as server:
        plain = _grade(tmp_path / "plain", SOFTMAX, mode)
        assert server._imported == set()  # the solutions use none of it
        optim = SOFTMAX.replace("def softmax(X):", "import torch.optim\n\n\ndef softmax(X):", 1)
        using = _grade(tmp_path / "using", optim, mode)
        assert server._imported == {"torch._dynamo"}
    assert plain.score == using.score == plain.max_score


@pytest.mark.parametrize("mode", MODES)
def test_the_zygote_boots_while_the_judge_goes_on_and_an_unused_one_leaves_nothing(mode):
    from autograder.sandbox.proc import uid_has_processes

    with fork_server(LIMITS, mode) as server:
        assert server._booting and server._popen.poll() is None  # spawned; its boot not awaited
        with WorkerSession("m", "m.py", "def f(x):\n    return x + 1\n", ["f"], limits=LIMITS, mode=mode) as s:
            s.start()
            assert s.decode(*s.call({"target": {"stub": "f"}}, (1,))) == 2
    assert (server.starts, server.forks) == (1, 1)
    with fork_server(LIMITS, mode) as unused:  # e.g. a submission that could not be read
        popen, uid = unused._popen, unused.launch.uid
    assert popen.poll() is not None
    assert uid is None or not uid_has_processes(uid)


SPINNING_SOFTMAX = """
def softmax(X):
    while True:
        pass
"""


def test_the_cpu_limit_counts_from_the_fork_not_from_the_zygotes_start(tmp_path):
    # A CPU limit below what the zygote spends importing torch (several seconds of CPU):
    # were the zygote under the limit itself, it would die of it at start (on a loaded
    # machine, even at a 9 s limit) and take every child with it, and a spinning stub
    # would be reported as "killed" with no reason. Each child has the whole limit instead.
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "softmax_regression.py").write_text(replace_stub(SOFTMAX, "softmax", SPINNING_SOFTMAX))
    limits = Limits(call_seconds=30, call_floor_seconds=30, module_seconds=200, cpu_seconds=2)
    options = GradingConfig(sandbox="process", examples=5, training=False, limits=limits)
    report = grade(str(folder), ["softmax_regression.softmax", "softmax_regression.accuracy"], options)
    said = "\n".join(t.output for t in report.tests if t.stub.endswith(".softmax")).lower()
    assert "cpu time" in said, said
    scores = _scores(report)
    assert scores["softmax"] == 0 and scores["accuracy"] == pytest.approx(1.0), report.tests


@pytest.mark.parametrize("mode", MODES)
def test_a_childs_exit_status_reaches_every_thread_that_asks(mode):
    # The judge's thread and the child's supervisor poll the same child; the zygote hands
    # its exit status out once. In CI a spinning stub's SIGXCPU once came back as SIGKILL
    # ("killed", no reason) because the second asker's empty answer overwrote it.
    source = "def f(x):\n    return x\n"
    with fork_server(LIMITS, mode):
        for _ in range(4):
            with WorkerSession("m", "m.py", source, ["f"], limits=LIMITS, mode=mode) as s:
                s.start()
                s.supervisor.stop()  # only the two askers below poll
                child = s.process
                os.kill(child.pid, signal.SIGXCPU)
                while (p := read(child.pid)) is not None and p.alive:
                    time.sleep(0.001)
                both = threading.Barrier(2)
                seen: list[int | None] = []

                def ask(child=child, both=both, seen=seen):
                    both.wait()
                    seen.append(child.poll())

                askers = [threading.Thread(target=ask) for _ in range(2)]
                for t in askers:
                    t.start()
                for t in askers:
                    t.join()
                assert seen == [-signal.SIGXCPU] * 2
                assert child.poll() == -signal.SIGXCPU
