"""What a check sees: the student's stubs (through a worker), the reference, and helpers."""

from __future__ import annotations

import copy
import functools
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import torch
from hypothesis import HealthCheck, Phase

from ..lanes import REFERENCE_TURN
from ..session import StudentError, WorkerLost, WorkerSession
from ..worker.protocol import Handle, Param, TensorMeta, decode, encode
from ..worker.records import ModuleInfo
from . import Check, drawn_examples
from .answer_key import AnswerKey, entry_name
from .expect import CheckFailed


def _no_local_constants() -> None:
    """Hypothesis (6.1xx) draws about one value in twenty from constants it finds in the
    "local" modules loaded at the time, so the inputs a check meets would depend on what else
    the judge imported and on where divekit is installed (a pack's site-packages is not
    "local"; a checkout is). A grade, and an answer key's entries, must depend on the check's
    seed alone: the pool of local constants is kept empty. (An internal of hypothesis: where
    it is not there, older versions had no such pool.)"""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        return
    if not hasattr(providers, "_get_local_constants"):  # pragma: no cover
        return
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    if hasattr(providers, "CONSTANTS_CACHE"):
        providers.CONSTANTS_CACHE.cache.clear()


_no_local_constants()


# Every answer a check receives from the worker, in order, when a list is set here:
# ``divekit audit`` compares a mutant's answers with the reference's (autograder/audit/).
OBSERVED: ContextVar[list | None] = ContextVar("divekit_observed_answers", default=None)


@contextmanager
def unobserved() -> Iterator[None]:
    """Answers given while grading the reference (calibration, a check's rerun) are not recorded."""
    token = OBSERVED.set(None)
    try:
        yield
    finally:
        OBSERVED.reset(token)


class NoReference(Exception):
    """A check reached for the reference itself where only the answer key is (a pack)."""


class StubNotImplemented(Exception):
    """The stub still raises NotImplementedError: nothing of it can be graded yet."""


@dataclass
class CallResult:
    value: Any
    calls: list[str]
    seconds: float
    args: list | None = None  # the arguments after the call (for in-place contracts)
    grads: dict | None = None  # {"inputs": [...], "params": {...}, "output_grad": t} or error
    # What each returned tensor was in the worker (requires_grad, grad_fn, device), nested
    # ones too, by id() of the tensor in ``value``: see :meth:`meta_of`.
    meta: dict[int, TensorMeta] = field(default_factory=dict)

    def meta_of(self, value: Any) -> TensorMeta | None:
        """The worker-side facts of a tensor in this result (None for anything else)."""
        return self.meta.get(id(value)) if isinstance(value, torch.Tensor) else None


@dataclass
class Ctx:
    check: Check
    session_factory: Callable[[], WorkerSession] = field(repr=False)
    reference: types.ModuleType | None = field(repr=False)
    device: str = "cpu"
    examples: int = 25
    passed: frozenset[str] = frozenset()  # stubs whose unit checks all passed (for training)
    # The pieces that are the student's in this check (the rest are stand-ins in its worker).
    students: frozenset[str] = frozenset()
    options: Any = None  # the GradingConfig of this run (autograder.config)
    recorded: dict[str, set] = field(default_factory=dict)  # stub -> torch calls seen
    attachments: list = field(default_factory=list)  # (filename, renderer of the PNG) for the report
    summary: str = ""  # shown with a passing check (e.g. a training run's figures)
    notes: list = field(default_factory=list)  # report-level notes (e.g. dataset fallback)
    # Calibrated call limits: the reference's seconds per target in this check (from the
    # calibration run, see reference_runs.call_times), and what this run measured (the
    # calibration run's own record).
    reference_seconds: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # Stubs that timed out earlier in this grading run: not called again (stub -> reason).
    timed_out: dict[str, str] = field(default_factory=dict)
    # Where reference values come from (see framework/answer_key.py): "live" (computed from
    # the reference), "record" (computed and stored in ``answer_key``), "replay" (looked
    # up in ``answer_key``; there is no reference) or "cached" (looked up in ``answer_key``,
    # the reference's values kept from its calibration run, and computed where not found).
    key_mode: str = "live"
    answer_key: AnswerKey | None = field(default=None, repr=False)
    _properties: int = field(default=0, init=False, repr=False)  # given() calls so far (see given)

    @property
    def ref(self) -> types.ModuleType:
        """The reference module itself: for code that runs only where the solutions are
        (inside :meth:`expected`'s functions). Checks take values through :meth:`expected`."""
        if self.reference is None:
            raise NoReference(
                f"{self.check.stub_id}: {self.check.title}: this check reads the reference solution "
                "directly, and there is none here (only the answer key)"
            )
        return self.reference

    @property
    def seed(self) -> int:
        course_seed = getattr(self.options, "seed", None) if self.options is not None else None
        return self.check.seeded(course_seed)

    def generator(self, offset: int = 0) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed + offset)

    # -- the reference, as values ----------------------------------------------------------
    def expected(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        """``fn(reference, *args, **kwargs)``: a value the check needs from the reference.

        Where the solutions are it is computed (and, building the answer key, recorded);
        in a student pack it is looked up in the key, by this check, the place ``fn`` is
        written and the data it is given (its arguments and what it closes over). The
        value is returned as the key would give it back (plain tensors, lists, dicts,
        numbers: encoded and decoded), so a check behaves the same in every mode."""
        name = entry_name(f"{self.check.stub_id}: {self.check.title}", fn, args, kwargs)
        if self.key_mode == "replay":
            assert self.answer_key is not None
            return self.answer_key.get(name)
        if self.key_mode == "cached" and self.answer_key is not None and self.answer_key.has(name):
            return self.answer_key.get(name)  # what the reference gave when it was calibrated
        with REFERENCE_TURN:
            value = fn(self.ref, *args, **kwargs)
        tensors: dict = {}
        value = decode(encode(value, tensors), tensors)
        if self.key_mode == "record":
            assert self.answer_key is not None
            with REFERENCE_TURN:  # put numbers the key's tensors: one lane at a time
                self.answer_key.put(name, value)
        return value

    # -- talking to the worker -----------------------------------------------------------
    def _request(self, header: dict, args=(), kwargs=None, timeout=None) -> tuple[Any, dict, dict]:
        """One request to this check's worker: (the session, the answer's JSON, its tensors)."""
        target = header["target"]
        key = _target_key(target)
        stub = target.get("stub") or (None if "probe" in target else self.check.stub)
        if stub in self.timed_out:
            raise CheckFailed(self.timed_out[stub])
        limits = self.options.limits if self.options is not None else None
        if limits is not None:
            timeout = limits.calibrated(self.reference_seconds.get(key), timeout)
        session = self.session_factory()
        header = dict(header, seed=self.seed)
        try:
            answer = session, *session.call(header, args, kwargs, timeout=timeout)
        except StudentError as err:
            if err.type_name == "NotImplementedError":
                raise StubNotImplemented(err.message) from None
            raise
        except WorkerLost as lost:
            if lost.reason == "timeout":
                # Once is enough: the rest of this run neither waits for it again nor calls it.
                blamed = stub or self.check.stub
                spent = timeout if timeout is not None else session.limits.call_seconds
                self.timed_out[blamed] = (
                    f"{blamed} timed out earlier in this run after {spent:.0f} s; "
                    "not called again (an infinite loop, or far slower than needed)."
                )
            raise
        self.seconds[key] = max(self.seconds.get(key, 0.0), float(answer[1].get("seconds", 0.0)))
        return answer

    def run(
        self,
        stub: str | None = None,
        *args,
        collect: str | None = None,
        grad_inputs: tuple[int, ...] = (),
        grad_module: Handle | None = None,
        return_args: bool = False,
        keep: bool = False,
        attr: str | None = None,
        handle: Handle | None = None,
        probe: str | None = None,
        timeout=None,
        kwargs: dict | None = None,
    ) -> CallResult:
        """Call a stub (default: this check's stub), a handle's method, or a probe."""
        target: dict[str, Any]
        if probe is not None:
            target = {"probe": probe}
        elif handle is not None:
            target = {"handle": handle.ident}
        else:
            target = {"stub": stub or self.check.stub}
        if attr:
            target["attr"] = attr
        header: dict = {
            "target": target,
            "collect": collect,
            "return_args": return_args,
            "keep": keep,
            "device": self.device if self.device != "cpu" else None,
        }
        if grad_inputs or grad_module is not None:
            header["grad"] = {
                "inputs": list(grad_inputs),
                "output_grad_seed": self.seed,
                "module": grad_module.ident if grad_module else None,
            }
        session, answer, tensors = self._request(header, args, kwargs, timeout)
        name = target.get("stub") or (handle and self.check.stub)
        if name:
            self.recorded.setdefault(name, set()).update(answer.get("calls", []))
        meta: dict[int, TensorMeta] = {}
        result = CallResult(
            value=session.decode(answer, tensors, meta=meta),
            calls=list(answer.get("calls", [])),
            seconds=float(answer.get("seconds", 0.0)),
            meta=meta,
        )
        if return_args:
            result.args = session.decode(answer, tensors, "args")
        if "grads" in answer:
            result.grads = session.decode(answer, tensors, "grads")
        if (observed := OBSERVED.get()) is not None:
            observed.append((f"{self.check.title} -> {_target_key(target)}", result.value, result.args, result.grads))
        return result

    def call(self, stub: str | None = None, *args, **kwargs) -> Any:
        """The value of ``stub(*args, **kwargs)`` computed by the student's code."""
        return self.run(stub, *args, kwargs=kwargs).value

    def call_list(self, stub: str | None = None, *args, **kwargs) -> Any:
        """``list(stub(*args, **kwargs))``: for generators such as ``data_iter``."""
        return self.run(stub, *args, collect="list", kwargs=kwargs).value

    def probe(self, name: str, *args, timeout=None, **kwargs) -> Any:
        return self.run(None, *args, probe=name, kwargs=kwargs, timeout=timeout).value

    def reference_probe(self, name: str, *args, derive: Callable | None = None, **kwargs) -> Any:
        """Run a probe on the reference solution in the judge (cached): the baseline, as a
        value (:meth:`expected`). ``derive(reference)``, when given, makes the module the
        probe runs on from the reference (another right network, say)."""
        device = self.device

        def run(ref, *args, **kwargs):
            from .reference_runs import reference_run

            return reference_run(name, derive(ref) if derive else ref, *args, device=device, **kwargs)

        return self.expected(run, *args, **kwargs)

    def new(self, cls: str | None = None, *args, **kwargs) -> Handle:
        """Construct the student's class inside the worker; returns a handle to it."""
        value = self.run(cls, *args, keep=True, kwargs=kwargs).value
        if not isinstance(value, Handle):
            raise CheckFailed(
                f"{cls or self.check.stub}(...) did not build an object "
                f"that stays in the worker (got {type(value).__name__})."
            )
        return value

    def describe(self, handle: Handle) -> ModuleInfo:
        """The structure of a module built in the worker."""
        info = self.probe("common.describe", handle)
        if not isinstance(info, ModuleInfo):
            raise CheckFailed(f"Describing {handle} returned a {type(info).__name__}, not a module's structure.")
        return info

    # -- hypothesis ----------------------------------------------------------------------
    def given(self, *strategies, examples: int | None = None, **kw_strategies):
        """Decorate a property; calling it runs it on hypothesis-drawn inputs, deterministically.

        Grading runs are seeded per check and keep no example database, so the same
        submission always meets the same inputs and gets the same grade. Once a property
        has run to the end, its examples are replayed without hypothesis's engine
        (framework/drawn_examples.py), so ``strategies`` must be built from the check's
        own constants, never from a value a worker returned.
        """
        settings = hypothesis.settings(
            max_examples=examples or self.examples,
            derandomize=False,
            database=None,
            deadline=None,
            print_blob=False,
            # One failure, the first found and shrunk: several distinct ones would arrive as
            # an ExceptionGroup (e.g. a CheckFailed and a StudentError), which grading
            # cannot turn into feedback.
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            # No shrinking: the first failing input is reported as it was drawn. A shrunk
            # input is one the reference never met, so a student pack (answer key, no
            # reference) could not judge it; without shrinking every failure it reports is
            # on an input the key holds, and the pack and the full grader say the same.
            phases=(Phase.explicit, Phase.generate),
        )

        def wrap(fn):
            place = self._properties  # which of the check's properties this is
            self._properties += 1
            drawn: list = []

            @functools.wraps(fn)
            def body(*args, **kwargs):
                drawn.append(copy.deepcopy((args, kwargs)))  # before the body may change them
                return fn(*args, **kwargs)

            def hypothesis_runs(test):
                # Seeded with the check's own seed, not derandomised: hypothesis derives a
                # derandomised seed from the property's source text, so reformatting or moving
                # a check would change the inputs every student meets, and with them the grades.
                return hypothesis.seed(self.seed)(settings(hypothesis.given(*strategies, **kw_strategies)(test)))

            if not drawn_examples.enabled():
                return hypothesis_runs(fn)
            explore = hypothesis_runs(body)  # draws, and records what it drew
            key = drawn_examples.key(self.check, place, fn, strategies, kw_strategies, settings.max_examples, self.seed)

            @functools.wraps(explore)  # hypothesis's attributes (its settings) stay readable
            def run():
                # The examples hypothesis drew for this property before, if it ran to the end
                # (framework/drawn_examples.py): the same calls, without its engine.
                known = drawn_examples.recorded(key)
                if known is not None:
                    return drawn_examples.replay(known, fn)
                drawn.clear()
                explore()  # a failure propagates: a run that stopped early drew only a prefix
                drawn_examples.store(key, list(drawn))

            return run

        return wrap


def _target_key(target: dict) -> str:
    """What a call's time is calibrated by: the stub, probe or method it reaches."""
    name = target.get("stub") or target.get("probe") or "handle"
    return f"{name}.{target['attr']}" if target.get("attr") else name


def params(*tensors: torch.Tensor, grads: tuple | None = None) -> list[Param]:
    """Leaf tensors that arrive in the worker requiring grad, with the given ``.grad``."""
    grads = grads or (None,) * len(tensors)
    return [Param(t, g) for t, g in zip(tensors, grads)]


__all__ = ["Ctx", "CallResult", "StubNotImplemented", "params", "decode"]
