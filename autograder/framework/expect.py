"""Assertions that teach: each failure says what was expected, what came back and, when
the answer matches a known mistake, the mistake's name and a hint."""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

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
        return f"a tensor of shape {tuple(value.shape)} and dtype {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, Unencodable):
        return f"a {value.type_name} ({value.text})"
    if isinstance(value, Handle):
        return f"a {value.type_name}"
    if isinstance(value, bool):
        return f"the bool {value}"
    if isinstance(value, (int, float)):
        return f"the {type(value).__name__} {value!r}"
    if value is None:
        return "None"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def fail(message: str) -> None:
    raise CheckFailed(message)


def tensor(value: Any, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        hint = ""
        if value is None:
            hint = " (did the function forget to return?)"
        elif isinstance(value, Unencodable) and "numpy" in value.type_name:
            hint = " (convert back with torch.from_numpy, or stay in torch throughout)"
        fail(f"{what}: expected a tensor, got {describe(value)}{hint}.")
    return value


def shape(value: Any, expected: Sequence[int], what: str, mistakes: Sequence[Mistake] = ()) -> None:
    recorded(mistakes)
    t = tensor(value, what)
    expected = tuple(expected)
    if tuple(t.shape) != expected:
        for m in mistakes:
            guess = m.answer()
            if isinstance(guess, torch.Tensor) and tuple(guess.shape) == tuple(t.shape):
                fail(f"{what}: expected shape {expected}, got {tuple(t.shape)}. This looks like {m.name}: {m.hint}")
        fail(f"{what}: expected shape {expected}, got {tuple(t.shape)}.")


def dtype(value: Any, expected: torch.dtype, what: str) -> None:
    t = tensor(value, what)
    if t.dtype != expected:
        hint = ""
        if expected == torch.float64 and t.dtype == torch.float32:
            hint = (
                " Something fixed the precision at float32: create new tensors with "
                "dtype=X.dtype (or use torch.zeros_like/ones_like) instead of the default."
            )
        fail(f"{what}: expected dtype {expected}, got {t.dtype} (stubs must keep the dtype of their inputs).{hint}")


def finite(value: Any, what: str, inputs: str = "") -> None:
    t = tensor(value, what)
    if t.is_floating_point() and not torch.isfinite(t).all():
        bad = (~torch.isfinite(t)).nonzero()[0].tolist()
        kind = "NaN" if torch.isnan(t).any() else "inf"
        fail(
            f"{what}: contains {kind} (first at index {tuple(bad)}: {t[tuple(bad)].item()})"
            f"{' for ' + inputs if inputs else ''}. Large inputs overflow exp(); "
            "rewrite the formula so that exp() only sees non-positive numbers."
        )


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
    t = tensor(actual, what)
    shape(t, expected.shape, what, mistakes)
    if check_dtype:
        dtype(t, expected.dtype, what)
    d_rtol, d_atol = TOLERANCES.get(expected.dtype, (1e-6, 1e-8))
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    exp64 = expected.detach().double().cpu()
    act64 = t.detach().double().cpu()
    scale = float(exp64.abs().max()) if exp64.numel() and torch.isfinite(exp64).all() else 1.0
    atol_scaled = atol * max(1.0, scale)
    if torch.isfinite(exp64).all() and exp64.is_floating_point():
        finite(act64, what, inputs)
    if _matches(act64, exp64, rtol, atol_scaled):
        return
    for m in mistakes:
        if _matches(act64, m.answer(), rtol, atol_scaled):
            fail(f"{what} is wrong{' for ' + inputs if inputs else ''}: this is {m.name}. {m.hint}")
    diff = (act64 - exp64).abs().nan_to_num(nan=math.inf)
    flat = int(diff.argmax()) if diff.numel() else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), exp64.shape)) if exp64.dim() else ()
    fail(
        f"{what} is wrong{' for ' + inputs if inputs else ''}: at index {index} expected "
        f"{exp64[index].item():.10g}, got {act64[index].item():.10g} (largest difference "
        f"{diff.max().item():.3g}; tolerance {rtol:g} relative + {atol_scaled:.3g})."
    )


def number(value: Any, what: str, *, kind: type = float) -> float:
    """A Python number, as the contract asks; a tensor is called out with the fix."""
    if isinstance(value, torch.Tensor):
        fail(
            f"{what}: expected a Python {kind.__name__}, got {describe(value)}. "
            "Call .item() (or float(...)) on a one-element tensor."
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"{what}: expected a Python {kind.__name__}, got {describe(value)}.")
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
            fail(f"{what}: expected {expected!r}, got {actual!r}: this is {m.name}. {m.hint}")
    fail(f"{what}: expected {expected!r}, got {actual!r}.")


def unchanged(before: torch.Tensor, after: Any, what: str) -> None:
    """The contract says stubs never change their inputs unless the line says so."""
    t = tensor(after, what)
    if tuple(t.shape) != tuple(before.shape) or not torch.equal(t.to(before.dtype), before):
        fail(
            f"{what} was changed in place. The contract says stubs never change their "
            "inputs; compute a new tensor instead of using an in-place operation "
            "(-=, +=, .sub_(), X[...] = ...)."
        )


def that(condition: bool, message: str | Callable[[], str]) -> None:
    if not condition:
        fail(message() if callable(message) else message)
