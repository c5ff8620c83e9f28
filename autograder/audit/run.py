"""Grading mutants: each with the real grader, in the sandbox, on its own stub alone.

A mutant is *killed* when its stub scores less than full marks (a check failed, or the
mutated code raised, hung or died in the worker); *crashed* when the grader itself
failed on it (``GraderFault`` or any exception out of ``grade``): a grader bug, counted
apart. A surviving mutant gets a differential run (:mod:`.differential`): *survived*
(a weakness of the checks) when its answers differ from the reference's, *equivalent*
when they agree everywhere.

Results go to a JSON-lines file, one line per mutant once it is done, keyed by a
fingerprint of the mutant's text and of everything its grade depends on (the checks,
the curriculum, the grading options), so a rerun grades only what is new or changed and
an interrupted run loses at most the mutants in flight.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import GradingConfig
from .mutants import Mutant

STATUSES = ("killed", "survived", "equivalent", "crashed")


@dataclass
class Outcome:
    fingerprint: str
    ident: str
    module: str
    stub: str
    operator: str
    line: int
    before: str
    after: str
    status: str  # one of STATUSES
    score: float = 0.0
    max_score: float = 0.0
    detail: str = ""  # killed: the first failing check; crashed: the fault; survived: the first difference
    seconds: float = 0.0
    differential: dict = field(default_factory=dict)  # seeds run, scores there, first difference

    @property
    def stub_id(self) -> str:
        return f"{self.module}.{self.stub}"


def grading_key(module: str, config: GradingConfig) -> str:
    """What a mutant's verdict depends on besides its text: the source of the framework,
    of the module's own checks and probes and of the shared probes, the curriculum, the
    module's checks as registered in this process (a test that weakens them gets other
    fingerprints) and the grading options. A change to one module's checks regrades that
    module's mutants only."""
    from .. import curriculum
    from ..framework import load

    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    sources = [*sorted((package / "framework").rglob("*.py")), *sorted((package / "course" / module).glob("*.py"))]
    sources += sorted((package / "worker" / "probes").glob("*.py"))
    for path in sources:
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    checks = [(c.stub, c.title, c.kind, c.weight) for c in load(module)]
    asked = [config.training, config.examples, config.seed_fingerprint, config.device, config.rubric_file]
    record = [h.hexdigest(), repr(curriculum.module(module)), checks, asked]
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:20]


def fingerprint(mutant: Mutant, key: str) -> str:
    return hashlib.sha256(f"{mutant.digest}\0{key}".encode()).hexdigest()[:24]


class Store:
    """The results file: every finished mutant, by fingerprint (the last line wins)."""

    def __init__(self, path: Path):
        self.path = path
        self.done: dict[str, Outcome] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    outcome = Outcome(**json.loads(line))
                except (ValueError, TypeError):
                    continue  # a line cut short by a killed run: that mutant is graded again
                self.done[outcome.fingerprint] = outcome

    def add(self, outcome: Outcome) -> None:
        self.done[outcome.fingerprint] = outcome
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(asdict(outcome), sort_keys=True) + "\n")
            stream.flush()
            os.fsync(stream.fileno())


def _first_failure(report, stub_id: str) -> str:
    """The first failing check that found something (a withheld property or award only
    follows from the others)."""
    failing = [t for t in report.tests if t.stub == stub_id and t.status != "passed"]
    failing.sort(key=lambda t: (t.output or "").startswith("Not awarded"))
    for t in failing:
        first = (t.output or "").strip().splitlines()[:1]
        return f"{t.name}: {first[0][:200] if first else ''}"
    return ""


def grade_text(module: str, text: str, stub_id: str, config: GradingConfig):
    """The real grade of one module file ``text`` on ``stub_id`` alone (a Report)."""
    from ..grading import grade

    with tempfile.TemporaryDirectory(prefix="divekit-mutant-") as folder:
        (Path(folder) / f"{module}.py").write_text(text, encoding="utf-8")
        return grade(folder, [stub_id], config)


def evaluate(mutant: Mutant, config: GradingConfig, fp: str, differential: bool = True) -> Outcome:
    """Grade one mutant (and, if it survives, run the differential check on it)."""
    from ..grading import GraderFault
    from . import differential as diff

    start = time.monotonic()
    outcome = Outcome(
        fp, mutant.ident, mutant.module, mutant.stub, mutant.operator, mutant.line, mutant.before, mutant.after, ""
    )
    try:
        report = grade_text(mutant.module, mutant.text, mutant.stub_id, config)
    except GraderFault as fault:
        outcome.status, outcome.detail = "crashed", f"GraderFault: {fault}"[:1000]
    except Exception as exc:  # noqa: BLE001 - any failure of the grader is a bug to report
        outcome.status, outcome.detail = "crashed", f"{type(exc).__name__}: {exc}"[:1000]
    else:
        got, total = report.by_stub().get(mutant.stub_id, (0.0, 0.0))
        outcome.score, outcome.max_score = round(got, 6), round(total, 6)
        if got < total - 1e-9:
            outcome.status, outcome.detail = "killed", _first_failure(report, mutant.stub_id)
        elif differential:
            outcome.differential = diff.compare(mutant, config)
            differs = outcome.differential.get("difference")
            outcome.status = "survived" if differs else "equivalent"
            outcome.detail = differs or ""
        else:
            outcome.status = "survived"
    outcome.seconds = round(time.monotonic() - start, 2)
    return outcome


# -- running many, in parallel ---------------------------------------------------------------

_CONFIG: GradingConfig | None = None


def _start_worker(plain: dict) -> None:
    """A pool process: one built config and one fork server for all the mutants it grades."""
    global _CONFIG
    from ..sandbox.zygote import fork_server

    _CONFIG = GradingConfig.from_dict(plain)
    stack = contextlib.ExitStack()
    stack.enter_context(fork_server(_CONFIG.limits, _CONFIG.mode, _CONFIG.device))
    atexit.register(stack.close)


def _pooled(mutant: Mutant, fp: str, differential: bool) -> Outcome:
    assert _CONFIG is not None
    return evaluate(mutant, _CONFIG, fp, differential)


def run(
    mutants: Iterable[Mutant],
    config: GradingConfig,
    store: Store,
    *,
    jobs: int = 1,
    seconds: float | None = None,
    differential: bool = True,
    progress: Callable[[Outcome], None] | None = None,
    redo: frozenset[str] = frozenset(),
) -> tuple[list[Outcome], list[Mutant]]:
    """Grade every mutant not in ``store`` yet; returns (the outcomes of all ``mutants``
    that are done, the mutants left ungraded when the ``seconds`` budget ran out).

    ``jobs`` 1 grades in this process (checks as registered here); more use a pool of
    processes, each with its own fork server. Mutants stored with a status in ``redo``
    (say, survivors after a change to the differential run) are graded again."""
    from ..sandbox.zygote import fork_server

    config = config.built()
    keys: dict[str, str] = {}
    todo: list[tuple[Mutant, str]] = []
    chosen: list[tuple[Mutant, str]] = []
    for m in mutants:
        if m.module not in keys:
            keys[m.module] = grading_key(m.module, config)
        fp = fingerprint(m, keys[m.module])
        chosen.append((m, fp))
        if fp not in store.done or store.done[fp].status in redo:
            todo.append((m, fp))
    deadline = time.monotonic() + seconds if seconds is not None else None
    left: list[Mutant] = []

    def over() -> bool:
        return deadline is not None and time.monotonic() > deadline

    if deadline is not None and seconds <= 0:
        left = [m for m, _ in todo]  # a report of what is stored: nothing is graded
    elif jobs <= 1:
        with fork_server(config.limits, config.mode, config.device):
            for i, (m, fp) in enumerate(todo):
                if over():
                    left = [m for m, _ in todo[i:]]
                    break
                outcome = evaluate(m, config, fp, differential)
                store.add(outcome)
                if progress:
                    progress(outcome)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, context, initializer=_start_worker, initargs=(config.to_dict(),)) as pool:
            queue = list(todo)
            running: dict[Future, Mutant] = {}
            while queue or running:
                while queue and len(running) < jobs and not over():
                    m, fp = queue.pop(0)
                    running[pool.submit(_pooled, m, fp, differential)] = m
                if over():
                    left, queue = [m for m, _ in queue], []
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    m = running.pop(future)
                    try:
                        outcome = future.result()
                    except Exception as exc:  # noqa: BLE001 - a pool process died under it: a grader bug
                        fp = next(f for x, f in chosen if x is m)
                        outcome = Outcome(fp, m.ident, m.module, m.stub, m.operator, m.line, m.before, m.after, "")
                        outcome.status, outcome.detail = "crashed", f"the grading process failed: {exc!r}"[:1000]
                    store.add(outcome)
                    if progress:
                        progress(outcome)
    return [store.done[fp] for _, fp in chosen if fp in store.done], left
