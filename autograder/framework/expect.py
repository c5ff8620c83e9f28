"""Assertions that teach: each failure says what was expected, what came back and, when
the answer matches a known mistake, the mistake's name and a hint."""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..i18n import mistake_hint, mistake_name, t
from ..worker.protocol import Handle, Unencodable


class CheckFailed(Exception):
    """A check's verdict: the student's answer is wrong, and this message says how."""


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation: its name, a hint, and what it would have returned.

    ``value`` is either the value itself or a zero-argument function computing it (so
    the cost is only paid when the student's answer is already wrong).
    """

    name: str
    hint: str
    value: Any

    def answer(self):
        return self.value() if callable(self.value) else self.value


# Set while the answer key is built: the reference passes every check, so no mistake's
# value would ever be asked for; each is computed anyway, so that the key holds it for the
# student whose answer does match it.
RECORDING: contextvars.ContextVar[bool] = contextvars.ContextVar("divekit_recording", default=False)


def recorded(mistakes: Sequence[Mistake]) -> Sequence[Mistake]:
    """``mistakes``, each computed first while the key is built (see RECORDING). A check
    that matches mistakes itself, not through the functions below, passes them here."""
    if RECORDING.get():
        for m in mistakes:
            try:
                m.answer()
            except CheckFailed:
                pass  # a mistake that does not apply to this input
    return mistakes


# Tolerances by dtype: float64 comparisons are tight (a correct implementation summing
# in another order is still within a few ulps times the problem size); float32 ones let
# single-precision rounding through.
TOLERANCES = {
    torch.float64: (1e-7, 1e-9),
    torch.float32: (2e-4, 1e-5),
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (2e-2, 1e-2),
}


def describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return t("expect.tensor", shape=tuple(value.shape), dtype=str(value.dtype).replace("torch.", ""))
    if isinstance(value, Unencodable):
        return t("expect.unencodable", type=value.type_name, text=value.text)
    if isinstance(value, Handle):
        return t("expect.handle", type=value.type_name)
    if isinstance(value, bool):
        return t("expect.bool", value=value)
    if isinstance(value, (int, float)):
        return t("expect.number", type=type(value).__name__, value=repr(value))
    if value is None:
        return t("expect.none")
    if isinstance(value, (list, tuple)):
        return t("expect.sequence", type=type(value).__name__, count=len(value))
    return t("expect.other", type=type(value).__name__)


def _named(m: Mistake) -> dict[str, str]:
    """A known mistake's name and hint, in the language in force."""
    return {"name": mistake_name(m.name), "hint": mistake_hint(m.hint)}


def _for(inputs: str) -> str:
    return t("expect.for_inputs", inputs=inputs) if inputs else ""


def fail(message: str) -> None:
    raise CheckFailed(message)


def tensor(value: Any, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        hint = ""
        if value is None:
            hint = t("expect.forgot_return")
        elif isinstance(value, Unencodable) and "numpy" in value.type_name:
            hint = t("expect.numpy")
        fail(t("expect.not_a_tensor", what=what, got=describe(value), hint=hint))
    return value


def shape(value: Any, expected: Sequence[int], what: str, mistakes: Sequence[Mistake] = ()) -> None:
    recorded(mistakes)
    got = tensor(value, what)
    expected = tuple(expected)
    if tuple(got.shape) != expected:
        for m in mistakes:
            guess = m.answer()
            if isinstance(guess, torch.Tensor) and tuple(guess.shape) == tuple(got.shape):
                fail(t("expect.shape_mistake", what=what, expected=expected, got=tuple(got.shape), **_named(m)))
        fail(t("expect.shape", what=what, expected=expected, got=tuple(got.shape)))


def dtype(value: Any, expected: torch.dtype, what: str) -> None:
    got = tensor(value, what)
    if got.dtype != expected:
        hint = t("expect.dtype_float32") if expected == torch.float64 and got.dtype == torch.float32 else ""
        fail(t("expect.dtype", what=what, expected=expected, got=got.dtype, hint=hint))


def finite(value: Any, what: str, inputs: str = "") -> None:
    got = tensor(value, what)
    if got.is_floating_point() and not torch.isfinite(got).all():
        bad = tuple((~torch.isfinite(got)).nonzero()[0].tolist())
        kind = "NaN" if torch.isnan(got).any() else "inf"
        fail(t("expect.not_finite", what=what, kind=kind, index=bad, value=got[bad].item(), inputs=_for(inputs)))


def _matches(actual: torch.Tensor, guess: Any, rtol: float, atol: float) -> bool:
    if not isinstance(guess, torch.Tensor):
        guess = torch.as_tensor(guess, dtype=torch.float64)
    if tuple(guess.shape) != tuple(actual.shape):
        return False
    a, g = actual.double(), guess.double().to(actual.device)
    same_nan = torch.isnan(a) == torch.isnan(g)
    return bool(same_nan.all() and torch.allclose(a.nan_to_num(), g.nan_to_num(), rtol=rtol, atol=atol))


def close(
    actual: Any,
    expected: torch.Tensor,
    what: str,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    mistakes: Sequence[Mistake] = (),
    inputs: str = "",
    check_dtype: bool = True,
) -> None:
    """``actual`` must be a tensor of ``expected``'s shape and dtype, equal within tolerance.

    ``atol`` is scaled by the size of the expected values, so it means "relative to the
    problem" rather than an absolute number that is too loose for small answers and too
    tight for large ones.
    """
    recorded(mistakes)
    got = tensor(actual, what)
    shape(got, expected.shape, what, mistakes)
    if check_dtype:
        dtype(got, expected.dtype, what)
    d_rtol, d_atol = TOLERANCES.get(expected.dtype, (1e-6, 1e-8))
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    exp64 = expected.detach().double().cpu()
    act64 = got.detach().double().cpu()
    scale = float(exp64.abs().max()) if exp64.numel() and torch.isfinite(exp64).all() else 1.0
    atol_scaled = atol * max(1.0, scale)
    if torch.isfinite(exp64).all() and exp64.is_floating_point():
        finite(act64, what, inputs)
    if _matches(act64, exp64, rtol, atol_scaled):
        return
    for m in mistakes:
        if _matches(act64, m.answer(), rtol, atol_scaled):
            fail(t("expect.close_mistake", what=what, inputs=_for(inputs), **_named(m)))
    diff = (act64 - exp64).abs().nan_to_num(nan=math.inf)
    flat = int(diff.argmax()) if diff.numel() else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), exp64.shape)) if exp64.dim() else ()
    fail(
        t(
            "expect.close",
            what=what,
            inputs=_for(inputs),
            index=index,
            expected=f"{exp64[index].item():.10g}",
            got=f"{act64[index].item():.10g}",
            difference=f"{diff.max().item():.3g}",
            rtol=f"{rtol:g}",
            atol=f"{atol_scaled:.3g}",
        )
    )


def number(value: Any, what: str, *, kind: type = float) -> float:
    """A Python number, as the contract asks; a tensor is called out with the fix."""
    if isinstance(value, torch.Tensor):
        fail(t("expect.python_number_tensor", what=what, kind=kind.__name__, got=describe(value)))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(t("expect.python_number", what=what, kind=kind.__name__, got=describe(value)))
    return float(value)


def near(
    actual: float,
    expected: float,
    what: str,
    *,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    mistakes: Sequence[Mistake] = (),
) -> None:
    recorded(mistakes)
    if math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
        return
    for m in mistakes:
        guess = m.answer()
        if isinstance(guess, (int, float)) and math.isclose(actual, float(guess), rel_tol=rtol, abs_tol=atol):
            fail(t("expect.near_mistake", what=what, expected=repr(expected), got=repr(actual), **_named(m)))
    fail(t("expect.near", what=what, expected=repr(expected), got=repr(actual)))


def unchanged(before: torch.Tensor, after: Any, what: str) -> None:
    """The contract says stubs never change their inputs unless the line says so."""
    got = tensor(after, what)
    if tuple(got.shape) != tuple(before.shape) or not torch.equal(got.to(before.dtype), before):
        fail(t("expect.changed_in_place", what=what))


def that(condition: bool, message: str | Callable[[], str]) -> None:
    if not condition:
        fail(message() if callable(message) else message)
