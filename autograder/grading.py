"""Grading one submission: the pipeline from files to a report.

For each module: read the source, keep the top-level definitions that parse (a syntax
error costs only its own, see salvage.py), start a worker that imports them (forked by the
submission's fork server, fresh for each stub's checks and each training check), then run
every check of every selected stub against it; awards.py says what the results earn. A
worker that hangs, dies or misbehaves costs only the checks it was answering: the next
check gets a new worker.

Over 450 lines because one class holds the whole verdict path and the state its stages
share (workers, results, broken and timed-out stubs, calibrated limits): each way a check
can end (passed, failed, not implemented, the student's error, the worker lost, a timeout
not called again, the check itself raising and rerun on the reference) is decided in one
place; the stages that need no state live elsewhere (awards, salvage, static, stand_ins,
reference_runs, report).
"""

from __future__ import annotations

import functools
import gc
import inspect
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from . import awards, curriculum, intake, reference, salvage, static
from .awards import Entry, plan
from .config import GradingConfig
from .curriculum import Module, Rubric, Stub
from .data import DatasetError
from .faults import GraderFault, where
from .framework import Check, reference_runs, stand_ins
from .framework.answer_key import AnswerKey, KeyMismatch, NotInKey
from .framework.context import Ctx, NoReference, StubNotImplemented, unobserved
from .framework.expect import RECORDING, CheckFailed
from .i18n import t
from .lanes import GradingStopped, in_lanes
from .report import Attachment, Report, TestResult
from .sandbox.zygote import current as current_fork_server
from .sandbox.zygote import fork_server
from .session import StudentError, WorkerLost, WorkerSession

# Told (stub id, tests done, tests in all) before each test runs; not part of the config.
Progress = Callable[[str, int, int], None]


class ModuleGrader:
    """Grades the selected stubs of one module of one submission."""

    def __init__(
        self,
        module: Module,
        stubs: list[Stub],
        source: intake.Source | None,
        options: GradingConfig,
        rubric: Rubric,
        progress: Progress | None = None,
        calibrate: bool = True,
        key: AnswerKey | None = None,
        key_mode: str = "live",
        stop: threading.Event | None = None,
    ):
        self.module = module
        # Where reference values come from (framework/answer_key.py): "live" computes them
        # from the solutions, "record" also stores them in ``key`` (divekit key build, and
        # the calibration run), "replay" looks them up in ``key`` (a student pack: no
        # solutions, no stand-ins), "cached" looks them up in the values the calibration run
        # kept, computing those it does not find (set by grade(), see _reference_values).
        self.key = key
        self.key_mode = key_mode
        self.calibrate = calibrate  # False: the calibration run itself (the reference graded)
        self.stubs = stubs
        self.source = source
        # What the worker imports: the source, less any definition with a syntax error.
        self.text = source.text if source else ""
        self.options = options  # the built GradingConfig
        self.rubric = rubric
        self.progress = progress
        self.entries = plan(module, stubs, options, rubric)
        # One worker per stand-in set (see framework/stand_ins.py); the empty set's is the
        # one most checks share.
        self.sessions: dict[frozenset[str], WorkerSession] = {}
        self.session: WorkerSession | None = None  # the one that answered last
        self.hello: dict | None = None
        self.recorded: dict[str, set] = {}
        self.results: list[TestResult] = []
        self.attachments: list[Attachment] = []
        self.notes: list[str] = []
        self.started = 0.0  # set when grade() starts: the module's time budget counts from there
        self.workers_started = 0
        self.on_reference = False  # grading the reference, to tell a check's bug from a student's (see _run)
        self.timed_out: dict[str, str] = {}  # stub -> why it is not called again (see Ctx)
        # Set when the grading stops elsewhere (another lane's fault, Ctrl-C): this module
        # starts no further check (see lanes.in_lanes).
        self.stop = stop
        # The reference's seconds per call target, per check (calibrated call limits).
        self.reference_seconds: dict[str, dict[str, float]] = {}
        self.measured: dict[str, dict[str, float]] = {}  # what this run's checks measured
        self._worker_owner: tuple[str, str] | None = None
        self._reference_graded = False  # this grader's calibration run covered every stub

    # -- worker lifecycle ----------------------------------------------------------------
    def _new_session(self) -> WorkerSession:
        session = WorkerSession(
            self.module.name,
            self.module.filename,
            self.text,
            [s.name for s in self.module.stubs],
            limits=self.options.limits,
            mode=self.options.mode,
            device=self.options.device,
            seed=0,  # each request carries its check's own seed
        )
        self.workers_started += 1
        fork = current_fork_server(self.options.limits, self.options.mode, self.options.device)
        if fork is not None and static.uses_dynamo(self.text):
            fork.preload("torch._dynamo")  # imported once in the zygote, not in each worker's call
        try:
            hello = session.start()
            self.hello = session.decode(*hello)
        except BaseException:
            session.close()
            raise
        return session

    def session_factory(self, stand_in_set: frozenset[str] = frozenset()) -> WorkerSession:
        """The worker for checks that need exactly ``stand_in_set``: started (and given its
        stand-ins) on first use, and again after it was lost."""
        session = self.sessions.get(stand_in_set)
        if session is None or session.lost is not None:
            if session is not None:
                session.close()
            self.sessions.pop(stand_in_set, None)
            # Checks come stub by stub, so a set rarely returns: keep only the shared worker
            # and the newest other one alive.
            for other in [k for k in self.sessions if k and k != stand_in_set]:
                self.sessions.pop(other).close()
            session = self._new_session()
            self.session = session  # so that a failed install can show what it printed
            if stand_in_set:
                try:
                    self._install(session, stand_in_set)
                except BaseException:
                    session.close()  # never serve a check from a worker without its stand-ins
                    raise
            self.sessions[stand_in_set] = session
        self.session = session
        return session

    def _install(self, session: WorkerSession, names: frozenset[str]) -> None:
        stubs = [s.name for s in self.module.stubs]
        source = stand_ins.source(self._solution(), names, stubs)
        header = {"target": {"probe": "stand_ins.install"}, "seed": 0}
        session.call(header, (source, sorted(names), sorted(set(stubs) - names)))

    def expected_seconds(self) -> float:
        """About how long this module takes to grade: what its checks' calls took the
        reference (the cached calibration figures; none measured here), plus a fork and a
        round trip per check. 0 when nothing is known. Only the order in which lanes take
        the modules depends on it, never a grade (tests/test_lanes.py)."""
        if self.source is None or not self.calibrate:
            return 0.0
        try:
            known = self._reference_seconds(measure=False)
        except Exception:  # noqa: BLE001 - a plan, not a grade: the curriculum's order then
            return 0.0
        if not known:
            return 0.0
        return sum(sum(known.get(_check_key(e.check), {}).values()) + 0.05 for e in self.entries if e.check)

    def _reference_seconds(self, measure: bool = True) -> dict[str, dict[str, float]]:
        """The reference's time for each call of each check (see reference_runs.call_times);
        with ``measure=False``, only the figures already cached."""
        if self.key_mode == "replay":
            assert self.key is not None
            return self.key.meta.get("call_times", {}).get(self.module.name, {})
        ref = reference.load(self.module.name, self.options.solutions)
        checks = [e.check for e in self.entries if e.check is not None]

        if not measure:
            return reference_runs.call_times(
                self.module.name, ref, checks, self.options.device, self.options.examples, None
            )
        try:
            return reference_runs.call_times(
                self.module.name, ref, checks, self.options.device, self.options.examples, self._grade_reference
            )
        except Exception as exc:  # noqa: BLE001 - without figures every call gets call_seconds
            self.notes.append(f"{self.module.name}: call limits not calibrated ({type(exc).__name__}: {exc})")
            return {}

    def _grade_reference(self, stub_names: list[str]) -> dict[str, dict[str, float]]:
        """Grade the reference's ``stub_names`` as a submission (the calibration run): what
        each check's calls took in the worker. A run of every stub of the module also keeps
        the values its checks took from the reference (see _reference_values)."""
        ref = reference.load(self.module.name, self.options.solutions)
        stubs = [s for s in self.module.stubs if s.name in stub_names]
        text = Path(ref.__file__).read_text(encoding="utf-8")
        source = intake.Source(self.module.name, self.module.filename, text, "file")
        whole = self.options.reference_values and len(stubs) == len(self.module.stubs)
        values = AnswerKey() if whole else None
        run = ModuleGrader(
            self.module,
            stubs,
            source,
            self.options,
            self.rubric,
            calibrate=False,
            key=values,
            key_mode="record" if values is not None else "live",
            stop=self.stop,
        )
        self._reference_graded = self._reference_graded or whole
        with unobserved():  # the reference's answers are not the submission's
            run.grade()
        if values is not None:
            reference_runs.keep_values(self._values_folder(ref), values)
        return run.measured

    def _values_folder(self, ref) -> Path:
        # Every check of the module, whichever stubs are graded: one folder per module.
        checks = [e.check for e in plan(self.module, self.module.stubs, self.options, self.rubric) if e.check]
        settings = [self.options.seed_fingerprint, self.options.training]
        try:
            mistakes = inspect.getsource(reference.mistakes(ref))  # their values are kept too
        except reference.ReferenceMissing:
            mistakes = ""
        return reference_runs.values_folder(
            self.module.name, ref, checks, self.options.device, self.options.examples, settings, mistakes
        )

    def _reference_values(self) -> AnswerKey | None:
        """The values this module's checks take from the reference, as its calibration run
        kept them; graded once more to keep them where they are not kept yet (a grading
        after an upgrade), at most once per grader. None: computed as asked."""
        if not self.options.reference_values:
            return None
        ref = reference.load(self.module.name, self.options.solutions)
        folder = self._values_folder(ref)
        values = reference_runs.cached_values(folder)
        if values is not None or self._reference_graded:
            return values
        try:
            self._grade_reference([s.name for s in self.module.stubs])
        except Exception as exc:  # noqa: BLE001 - the values are then computed, as before
            self.notes.append(f"{self.module.name}: the reference's values not kept ({type(exc).__name__}: {exc})")
            return None
        return reference_runs.cached_values(folder)

    def _solution(self) -> stand_ins.Solution:
        """Which piece of the solution calls which (for stand-ins); in replay, as the key
        recorded it, without the code."""
        if self.key_mode == "replay":
            assert self.key is not None
            known = self.key.meta.get("solutions", {}).get(self.module.name)
            if known is None:
                raise GraderFault(f"the answer key {self.key.origin} has nothing for the module {self.module.name}")
            refers = {k: frozenset(v) for k, v in known["refers"].items()}
            return stand_ins.Solution((), {}, tuple(known["order"]), refers)
        ref = reference.load(self.module.name, self.options.solutions)
        return stand_ins.parse(Path(ref.__file__))

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()
        self.session = None

    # -- results -------------------------------------------------------------------------
    def _result(
        self, entry: Entry, passed: bool, output: str, seconds: float = 0.0, score: float | None = None
    ) -> None:
        if score is None:
            score = entry.max_score if passed else 0.0
        self.results.append(
            TestResult(
                name=f"{entry.stub.id}: {entry.title}",
                stub=entry.stub.id,
                score=score,
                max_score=entry.max_score,
                status="passed" if passed else "failed",
                output=output.strip(),
                kind=entry.kind,
                seed=entry.check.seed if entry.check else None,
                seconds=round(seconds, 4),
                visibility=self.rubric.visibility,
            )
        )

    def fail_all(self, entries: list[Entry], message: str) -> None:
        for e in entries:
            self._result(e, False, message)

    # -- the pipeline --------------------------------------------------------------------
    def grade(self) -> list[TestResult]:
        self.started = time.monotonic()
        try:
            if self.calibrate and self.source is not None:
                self.reference_seconds = self._reference_seconds()
                if self.key_mode == "live" and (values := self._reference_values()) is not None:
                    self.key, self.key_mode = values, "cached"
            self._grade()
        except reference.ReferenceMissing as exc:
            raise GraderFault(str(exc)) from exc
        except KeyMismatch as exc:
            raise GraderFault(str(exc)) from exc
        finally:
            self.close()
        return self.results

    def _grade(self) -> None:
        filename = self.module.filename
        if self.source is None:
            return self.fail_all(self.entries, t("grading.no_file", filename=filename))
        salvaged = salvage.salvage(self.source.text, filename)
        if isinstance(salvaged, static.SyntaxProblem):
            return self.fail_all(self.entries, t("grading.syntax", filename=filename, problem=salvaged))
        tree, self.text = salvaged.tree, salvaged.source
        self.notes += salvaged.notes(filename)
        try:
            self.session_factory()
        except StudentError as err:
            if err.type_name == "NotImplementedError" and self.module.stubs[0].kind == "value":
                return self.fail_all(self.entries, t("grading.not_answered"))
            return self.fail_all(
                self.entries,
                t(
                    "grading.import_raised",
                    filename=filename,
                    type=err.type_name,
                    message=err.message,
                    traceback=err.traceback,
                ),
            )
        except WorkerLost as lost:
            out = self.session.output() if self.session else ""
            return self.fail_all(
                self.entries, t("grading.import_failed", filename=filename, detail=lost.detail) + _printed(out)
            )
        assert self.hello is not None
        found = self.hello.get("stubs", {})
        broken: dict[str, str] = {}  # stub -> why its remaining checks cannot run
        passed_units: dict[str, bool] = {}
        deferred: list[tuple[Entry, dict]] = []
        for entry in self.entries:
            if self.stop is not None and self.stop.is_set():
                raise GradingStopped(self.module.name)
            stub = entry.stub
            if self.progress:
                self.progress(entry.stub.id, len(self.results), len(self.entries))
            if stub.name in salvaged.broken:
                problem = salvaged.broken[stub.name]
                self._result(
                    entry,
                    False,
                    t("grading.stub_syntax", stub=stub.name, problem=problem, filename=filename),
                )
                passed_units[stub.name] = False
                continue
            info = found.get(stub.name, {"kind": "missing"})
            if info.get("kind") == "missing":
                self._result(entry, False, t("grading.not_defined", stub=stub.name, filename=filename))
                passed_units[stub.name] = False
                continue
            if entry.kind in ("api", "scratch"):
                # Both award on what the stub's other checks earned, training included.
                deferred.append((entry, info))
                continue
            if stub.name in broken and entry.kind != "training":
                self._result(entry, False, broken[stub.name])
                passed_units[stub.name] = False
                continue
            if time.monotonic() - self.started > self.options.limits.module_seconds:
                self._result(
                    entry, False, f"Not run: grading {filename} used up its {self.options.limits.module_seconds:.0f} s."
                )
                continue
            ok = self._run(entry, broken, passed_units)
            if entry.kind == "unit":
                passed_units[stub.name] = passed_units.get(stub.name, True) and ok
        if not self.on_reference:
            # The rerun on the reference asks whether the check itself passes there, not
            # what it would earn: a property check alone is never "correct" on its own.
            self.results = awards.withhold_properties(self.entries, self.results)
        for entry, info in deferred:
            if entry.kind == "api":
                self._api(entry, info, broken.get(entry.stub.name))
            else:
                self._scratch(entry, tree, broken.get(entry.stub.name))
        order = {f"{e.stub.id}: {e.title}": i for i, e in enumerate(self.entries)}
        self.results.sort(key=lambda r: order[r.name])
        self.notes.append(f"{self.module.name}: {self.workers_started} worker(s) started")

    def _api(self, entry: Entry, info: dict, broken: str | None) -> None:
        stub = entry.stub
        problems = static.signature_differences(stub.signature, info.get("signature"))
        if problems:
            self._result(
                entry,
                False,
                f"{stub.name}: "
                + "; ".join(problems)
                + ". The curriculum fixes the signature so that course material and "
                "the autograder can call it.",
            )
        elif broken:
            self._result(entry, False, t("grading.not_awarded", why=broken))
        elif not awards.correct(stub, self.entries, self.results):
            self._result(entry, False, t("grading.signature_first", stub=stub.name))
        else:
            self._result(entry, True, f"{stub.name}{info.get('signature') or ''}")

    def _scratch(self, entry: Entry, tree, broken: str | None) -> None:
        stub = entry.stub
        hits = static.forbidden_calls(tree, stub.name, stub.forbidden)
        runtime = static.forbidden_at_runtime(self.recorded.get(stub.name, set()), stub.forbidden)
        if broken:
            return self._result(entry, False, t("grading.not_awarded", why=broken))
        others = [r for r in self.results if r.stub == stub.id and r.kind in ("unit", "api")]
        earned = sum(r.score for r in others)
        possible = sum(r.max_score for r in others) or 1.0
        if hits or runtime:
            parts = []
            if hits:
                parts.append(t("grading.source_calls", calls=", ".join(hits)))
            if runtime:
                parts.append(t("grading.runtime_calls", calls=", ".join(runtime)))
            return self._result(entry, False, t("grading.scratch_forbidden", stub=stub.name, calls="; ".join(parts)))
        fraction = earned / possible
        self._result(
            entry,
            fraction >= 1 - 1e-9,
            t("grading.scratch_ok")
            if fraction >= 1 - 1e-9
            else t("grading.scratch_partial", stub=stub.name, fraction=f"{fraction:.0%}"),
            score=entry.max_score * fraction,
        )

    def _fresh_workers_for(self, entry: Entry) -> None:
        """With a fork server a worker costs a fork: each stub's checks, and each training
        check, get workers no other stub's code has run in (a stub that tampers with its
        module's other functions, or with torch, reaches no sibling). Without one a fresh
        worker costs a torch import, and the module's workers are shared as before."""
        owner = (entry.stub.name, entry.title if entry.kind == "training" else "")
        fork = current_fork_server(self.options.limits, self.options.mode, self.options.device)
        if fork is not None and owner != self._worker_owner:
            self.close()
        self._worker_owner = owner

    def _run(self, entry: Entry, broken: dict, passed_units: dict) -> bool:
        check = entry.check
        self._fresh_workers_for(entry)
        passed = frozenset(k for k, v in passed_units.items() if v)
        stubs = [s.name for s in self.module.stubs]
        solution = self._solution()
        replaced = stand_ins.stand_ins(check, solution, stubs, passed)
        students = stand_ins.students(check, solution, stubs, passed)
        unproven = ""
        if self.key_mode == "replay" and replaced:
            # A pack ships no stand-ins (they are the reference's code): the check runs the
            # student's own pieces, and a failure names those that failed their own checks.
            failing = sorted(p for p in replaced if passed_units.get(p) is False)
            if failing:
                unproven = (
                    f"\n(This check also ran your {', '.join(failing)}, which failed "
                    f"{'its' if len(failing) == 1 else 'their'} own checks: if this fails because of "
                    f"{'it' if len(failing) == 1 else 'them'}, fix {'it' if len(failing) == 1 else 'them'} "
                    "first. The official grade runs the reference's pieces there, so there a broken "
                    "piece costs only its own points.)"
                )
            students, replaced = frozenset(stand_ins.needed(check, solution, stubs)), frozenset()
        ctx = Ctx(
            check=check,
            session_factory=lambda: self.session_factory(replaced),
            reference=None if self.key_mode == "replay" else reference.load(self.module.name, self.options.solutions),
            device=self.options.device,
            examples=self.options.examples,
            passed=passed,
            students=students,
            options=self.options,
            recorded=self.recorded,
            reference_seconds=self.reference_seconds.get(_check_key(check), {}),
            timed_out=self.timed_out,
            key_mode=self.key_mode,
            answer_key=self.key,
        )
        start = time.monotonic()
        recording = RECORDING.set(self.key_mode == "record")
        try:
            check.fn(ctx)
        except CheckFailed as exc:
            self._collect(ctx, entry)
            self._result(entry, False, _with_notes(str(exc), exc) + unproven, time.monotonic() - start)
            return False
        except NotInKey:
            self._collect(ctx, entry)
            self._result(
                entry,
                False,
                t("grading.not_in_key") + unproven,
                time.monotonic() - start,
            )
            return False
        except NoReference as exc:
            raise GraderFault(str(exc)) from exc
        except StubNotImplemented:
            if unproven:  # a pack: one of the student's other pieces is not written yet
                self._result(entry, False, "Your code raised NotImplementedError." + unproven, time.monotonic() - start)
                return False
            why = t("grading.not_implemented", stub=entry.stub.name)
            broken[entry.stub.name] = why
            self._result(entry, False, why, time.monotonic() - start)
            return False
        except StudentError as err:
            self._result(
                entry,
                False,
                _with_notes(t("grading.raised", type=err.type_name, message=err.message, traceback=err.traceback), err),
                time.monotonic() - start,
            )
            return False
        except WorkerLost as lost:
            if entry.stub.name in self.timed_out:
                broken[entry.stub.name] = self.timed_out[entry.stub.name]
            out = self.session.output() if self.session else ""
            self._result(
                entry,
                False,
                t("grading.worker_stopped", detail=lost.detail) + _printed(out),
                time.monotonic() - start,
            )
            return False
        except DatasetError as exc:
            raise GraderFault(f"{entry.stub.id}: {entry.title}: {exc}") from exc
        except Exception as exc:  # the check raised: its own bug, or a submission it did not foresee
            fault = GraderFault(f"{entry.stub.id}: {entry.title}: internal error {where(exc)}")
            if self.on_reference:
                raise fault from exc
            self._same_on_reference(entry, exc)  # raises the fault where the reference fails alike
            self._result(
                entry,
                False,
                t("grading.check_confused", type=type(exc).__name__, error=exc),
                time.monotonic() - start,
            )
            return False
        finally:
            RECORDING.reset(recording)
        self._collect(ctx, entry)
        self._result(entry, True, getattr(ctx, "summary", "") or "", time.monotonic() - start)
        return True

    def _same_on_reference(self, entry: Entry, exc: Exception) -> None:
        """Run the check that raised on the reference solution instead of the submission.

        Whether the fault is the grader's cannot be told from the exception: a check may
        trip over a value it never foresaw. If the check raises on the reference as well,
        or fails on it, it (or the reference) is broken: GraderFault, and no student is scored
        for it. If the reference passes, the submission provoked it and the check is failed.
        From an answer key: the key was built by the reference passing every check it records."""
        if self.key_mode == "replay":
            assert self.key is not None
            if _check_key(entry.check) in self.key.meta.get("passed", {}).get(self.module.name, []):
                return
            raise GraderFault(
                f"{entry.stub.id}: {entry.title}: internal error {where(exc)}; the answer key does not "
                "record the reference passing this check"
            ) from exc
        path = Path(reference.load(self.module.name, self.options.solutions).__file__)
        source = intake.Source(self.module.name, self.module.filename, path.read_text(encoding="utf-8"), "file")
        # Not calibrated: the rerun is one check, under the limits the submission had.
        twin = ModuleGrader(self.module, [entry.stub], source, self.options, self.rubric, calibrate=False)
        twin.on_reference = True
        twin.entries = [e for e in twin.entries if (e.title, e.kind) == (entry.title, entry.kind)]
        try:
            with unobserved():
                results = twin.grade()
        except GraderFault as fault:
            raise GraderFault(f"{fault} (raised on the reference solution too)") from exc
        if not results or results[0].status != "passed":
            said = results[0].output.splitlines()[0] if results and results[0].output else "no result"
            raise GraderFault(
                f"{entry.stub.id}: {entry.title}: internal error {where(exc)}; the reference solution "
                f"does not pass this check either ({said})"
            ) from exc

    def _collect(self, ctx: Ctx, entry: Entry) -> None:
        """Keep what a check produced besides its verdict: pictures, report notes, times."""
        self.measured[_check_key(entry.check)] = dict(ctx.seconds)
        for name, render in ctx.attachments:
            self.attachments.append(Attachment(name, render, entry.stub.id))
        for note in ctx.notes:
            if note not in self.notes:
                self.notes.append(note)


def _check_key(check: Check) -> str:
    return f"{check.stub}: {check.title}"


def _with_notes(text: str, exc: BaseException) -> str:
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith("Falsifying")]
    if notes:
        text += "\n" + "\n".join(notes)[:1500]
    return text


def _printed(output: str) -> str:
    output = output.strip()
    if not output:
        return ""
    return "\nYour code printed (last lines):\n" + output[-1500:]


@functools.cache
def _freeze_what_was_imported() -> None:
    """Once per process, before its first grading: what the judge imported (torch, hypothesis,
    the checks, about 230,000 objects) is left out of the collector's full passes. Each
    lane's thread has hypothesis register a Random with a full ``gc.collect()``, and the
    judge's own full passes walk all of it: 0.33 s and 0.30 s of the judge's one Python
    lock per submission here, 0.04 s and 0.05 s frozen. Once, so that a judge grading many
    submissions freezes only its imports, never a grading's garbage."""
    gc.freeze()


@functools.cache
def load_key(folder: str) -> AnswerKey:
    """The answer key in ``folder``, read once per process (it is only ever read)."""
    return AnswerKey.load(folder)


def grade(
    submission: str,
    only: list[str] | None = None,
    config: GradingConfig | None = None,
    progress: Progress | None = None,
) -> Report:
    """Grade a submission folder/zip; raises intake.UnusableSubmission for unusable input,
    GraderFault when the grader itself cannot go on (no partial report: it would score tests
    that were never run).

    ``config`` is built here if it is not yet (see GradingConfig.build); ``progress`` is told before each test.
    """
    options = (config or GradingConfig()).built()
    rubric = options.rubric
    assert rubric is not None
    _freeze_what_was_imported()
    selection = curriculum.select(only)
    sources = intake.read_submission(submission)
    report = Report(submission=str(submission))
    key = None
    if options.from_key:
        try:
            key = load_key(options.key)
        except KeyMismatch as exc:
            raise GraderFault(str(exc)) from exc
    report.meta = {
        "references": f"answer key {options.key}" if key else "solutions",
        "seed": options.seed_fingerprint,
        "sandbox": options.mode,
        "sandbox_reason": options.mode_reason,
        "device": options.device,
        "torch": torch.__version__,
        "training": options.training,
        "hypothesis_examples": options.examples,
        "deterministic": "hypothesis seeded per check (not by the check's source), no example database",
    }
    if options.mode == "process":
        # Weaker isolation is stated plainly; the reason says what this host still enforces.
        report.notes.append(f"Isolation: plain processes, weaker than the bubblewrap sandbox: {options.mode_reason}.")

    stop = threading.Event()
    told = _SubmissionProgress(progress) if progress else None
    # One fork server for the submission: torch is imported once, every worker is forked.
    # The graders are made inside (their plans import the checks while the zygote boots).
    with fork_server(options.limits, options.mode, options.device):
        graders = [
            ModuleGrader(
                curriculum.module(name),
                stubs,
                sources.get(name),
                options,
                rubric,
                told.module() if told else None,
                key=key,
                key_mode="replay" if key else "live",
                stop=stop,
            )
            for name, stubs in selection.items()
        ]
        if told:
            told.total = sum(len(g.entries) for g in graders)
        # The longest modules first (a ResNet's training, 15 s): started last, one would
        # run on alone while the other lanes stood idle. The report keeps the curriculum's order.
        lanes = options.module_lanes()
        ordered = sorted(graders, key=lambda g: -g.expected_seconds()) if lanes > 1 else graders
        in_lanes([g.grade for g in ordered], lanes, stop)
    # Merged in the curriculum's order, whichever lane finished first: the same report.
    for name, grader in zip(selection, graders):
        source = sources.get(name)
        if source is not None and source.note:
            report.notes.append(f"{name}: {source.note}")
        report.tests += grader.results
        report.attachments += grader.attachments
        report.notes += [n for n in grader.notes if "worker(s)" not in n and n not in report.notes]
    return report


class _SubmissionProgress:
    """``progress`` told of the whole submission (tests begun of all its tests), whichever
    lane is reporting: with modules in lanes, each module's own count would make a bar jump
    between two modules."""

    def __init__(self, tell: Progress):
        self.tell = tell
        self.total = 0
        self._begun: list[int] = []  # tests begun, per module
        self._lock = threading.Lock()

    def module(self) -> Progress:
        """The progress one module's grader reports to: (label, done in the module, its total)."""
        slot = len(self._begun)
        self._begun.append(0)

        def report(label: str, done: int, _module_total: int) -> None:
            with self._lock:
                self._begun[slot] = done
                self.tell(label, sum(self._begun), self.total)

        return report
