"""Grading lanes: the modules of one submission graded at the same time, each in a thread
of the judge (``GradingConfig.lanes``).

While one lane waits on a forked worker that computes (a training threshold above all), the
other keeps the judge busy: with training, two lanes grade the solutions about 1.45x faster
than one. The unit checks gain little: the lanes share the judge's one Python lock, and its
own work (hypothesis drawing inputs, above all) nearly fills it (docs/grading-time.md). Each
module keeps its own forked workers, so nothing
a stub does reaches another module; what the lanes share in the judge is here:

- ``shared_once``: what is loaded once per process (a reference solution, a probe module,
  a data set), loaded by one lane at a time, so that no module is executed twice at once;
- ``REFERENCE_TURN``: the judge's own computations on the reference take turns, because
  some seed torch's global generator and then draw from it;
- ``in_lanes``: the modules graded, the results in the curriculum's order whichever lane
  finished first, and the first fault (or Ctrl-C) stopping every lane at once.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from functools import cache, wraps
from typing import Any, TypeVar

T = TypeVar("T")

# Reentrant: a reference run may ask for another; one lock for every one-time load, so
# that two loads waiting on each other cannot happen.
_LOADING = threading.RLock()

# Reference computations in the judge take turns across lanes (framework.context.Ctx.expected):
# some seed torch's global generator and then draw from it (a network built before its
# drawn weights are loaded, a reference training run), which another lane drawing at the
# same moment would disturb. Reentrant: a reference computation may ask for another.
REFERENCE_TURN = threading.RLock()


def shared_once(load: Callable[..., T]) -> Callable[..., T]:
    """``load`` cached for the process, and run by one lane at a time: a module executed
    twice at once would leave two copies, one of them in ``sys.modules``."""
    cached = cache(load)

    @wraps(load)
    def loaded(*args: Any, **kwargs: Any) -> T:
        with _LOADING:
            return cached(*args, **kwargs)

    return loaded


class GradingStopped(Exception):
    """A lane's module was left unfinished: the grading stopped in another lane."""


def in_lanes(work: list[Callable[[], T]], lanes: int, stop: threading.Event) -> list[T]:
    """Each of ``work`` (a module's grading), ``lanes`` at a time; the results in the order
    of ``work``.

    Each lane runs in a copy of this context (the fork server and the audit's recorder are
    context variables). The first fault (or Ctrl-C) stops the rest at once, rather than
    after the modules under way (a ResNet's training, 15 s): ``stop`` is set, so a running
    module starts no further check (it raises ``GradingStopped``); lanes not yet started
    are cancelled; the fault is raised without waiting, and the caller's leaving the fork
    server then ends the workers of the calls still under way."""
    if lanes <= 1 or len(work) <= 1:
        return [do() for do in work]
    pool = ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="divekit-lane")
    futures = [pool.submit(contextvars.copy_context().run, do) for do in work]
    try:
        # The first fault is seen when it happens, not when the modules before it are done.
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            if future in done and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [f.result() for f in futures]
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=not stop.is_set(), cancel_futures=True)
