"""The check registry: what each stub is graded on, and the decorator that says so.

Each curriculum module has a file ``course/<module>/checks.py``, whose functions are
registered with the :func:`checks_for` decorator. A check belongs to exactly one stub
(MiniTorch's task tags), gets a :class:`~autograder.framework.context.Ctx` to talk to the
student's code and to the reference, and fails by raising
:class:`~autograder.framework.expect.CheckFailed` with a message that teaches.

Checks run in the judge. They never import or call student code directly: every call
goes through ``ctx``, to a worker process.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import Ctx

_REGISTRY: dict[str, list[Check]] = {}


@dataclass(frozen=True)
class Check:
    module: str
    stub: str
    title: str
    fn: Callable[[Ctx], None] = field(repr=False)
    weight: float = 1.0
    # "unit" checks run first; "training" checks run last and may use several stubs.
    kind: str = "unit"
    # Other stubs the check runs besides its own (and besides what they call, which
    # framework/stand_ins.py reads from the solution): the student's version of each is
    # used when it passed its unit checks, a stand-in derived from the reference otherwise,
    # so one broken piece costs only itself.
    uses: tuple[str, ...] = ()
    # A property that a constant, an identity or an untouched input also has (shift
    # invariance, shapes, "no autograd history", ...): it earns its points only once at
    # least one check of the same stub without this flag passed, so a trivial answer scores 0.
    needs_correctness: bool = False

    @property
    def stub_id(self) -> str:
        return f"{self.module}.{self.stub}"

    @property
    def seed(self) -> int:
        """The check's public seed: the same submission always gets the same inputs."""
        return self.seeded(None)

    def seeded(self, course_seed: str | None) -> int:
        """The check's seed under a course's secret seed (None or "": the public one, which
        the student pack's answer key is built with). A secret seed gives every check other
        inputs, so answers looked up from the public key do not carry over."""
        text = f"{self.stub_id}:{self.title}"
        if course_seed:
            text = f"{course_seed}\x00{text}"
        digest = hashlib.sha256(text.encode()).digest()
        return int.from_bytes(digest[:4], "big")


def checks_for(module: str) -> Callable[..., Callable[[Callable[[Ctx], None]], Callable[[Ctx], None]]]:
    """Make the ``@check(stub, title)`` decorator for one module's file."""

    def check(
        stub: str,
        title: str,
        *,
        weight: float = 1.0,
        kind: str = "unit",
        uses: tuple[str, ...] = (),
        needs_correctness: bool = False,
    ) -> Callable[[Callable[[Ctx], None]], Callable[[Ctx], None]]:
        def register(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
            bucket = _REGISTRY.setdefault(module, [])
            if any(c.stub == stub and c.title == title for c in bucket):
                raise ValueError(f"duplicate check {module}.{stub}: {title}")
            bucket.append(Check(module, stub, title, fn, weight, kind, tuple(uses), needs_correctness))
            return fn

        return register

    return check


def load(module: str) -> list[Check]:
    """The checks of one curriculum module, in the order they are written."""
    if module not in _REGISTRY:
        importlib.import_module(f"autograder.course.{module}.checks")
    return list(_REGISTRY.get(module, []))
