"""The resource limits of one worker, in one place: the judge's supervisor, the worker's
rlimits and the messages that name a limit all read them from here."""

from __future__ import annotations

from dataclasses import dataclass

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker (one module of one submission)."""

    call_seconds: float = 60.0  # wall clock for one request
    module_seconds: float = 300.0  # wall clock for every request of the module together
    cpu_seconds: int = 600  # CPU time: per process (RLIMIT_CPU) and all processes together
    memory_bytes: int = 8 * GiB  # resident memory of all the worker's processes together
    processes: int = 256  # processes (and, under the worker's own uid, threads)
    file_bytes: int = 64 * MiB  # largest file the worker may write (RLIMIT_FSIZE)
    output_bytes: int = 64 * 1024  # stdout+stderr kept for the report; the rest is cut
    gpu_memory_fraction: float = 0.5  # CUDA workers: share of the card's memory
    # Address space of each process on CPU workers (RLIMIT_AS; torch alone maps ~3 GiB).
    # None: memory_bytes. CUDA workers get none (it breaks CUDA's allocator).
    address_space_bytes: int | None = None
    disk_bytes: int = 512 * MiB  # everything the worker writes in its folders, together
    # A call's own limit, calibrated to the work: max(floor, multiple x the reference's
    # time for that call in that check), never above call_seconds (or the check's own
    # timeout). Generous: a correct loop-based implementation may be 100x slower than
    # the vectorised reference on small inputs, and the floor covers those.
    call_floor_seconds: float = 5.0
    call_multiple: float = 20.0

    def calibrated(self, reference_seconds: float | None, ceiling: float | None = None) -> float:
        top = ceiling if ceiling is not None else self.call_seconds
        if reference_seconds is None:
            return top
        return min(top, max(self.call_floor_seconds, self.call_multiple * reference_seconds))


def fmt_bytes(n: float) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB else f"{n / MiB:.0f} MiB"
