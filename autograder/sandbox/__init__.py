"""How a worker process is started, confined, watched and stopped.

Two modes:

* ``bwrap``: the worker runs under bubblewrap with its own network (no interface but
  loopback: no network at all), PID, IPC and UTS namespaces, ``--new-session`` and
  ``--die-with-parent``. It sees the Python installation read-only (remapped to
  ``/opt/divekit/...`` when it lives inside the judge's checkout), a private copy of the
  harness and of the student's files, and nothing of the judge: no checkout, no
  ``solutions/``, no checks, no rubric, no answer keys. When the judge runs as root the
  worker also drops to a uid of its own, so the kernel's process limit applies to it
  (``RLIMIT_NPROC`` does not apply to root) and every process it makes can be killed
  by uid.
* ``process``: where bubblewrap is missing or cannot create namespaces, a plain child
  process in its own session with the same resource limits. It drops to its own uid
  when the judge is root and the Python installation is readable by that uid; where
  the kernel offers Landlock, the worker confines itself to the Python installation
  and its own folder, and may not open TCP connections or signal processes outside
  itself. ``choose_mode`` says exactly which of these hold; reports say plainly that
  isolation is weaker than under bubblewrap.

In both modes the worker applies its own resource limits before it imports the
student's code (``worker/main.py``), and a :class:`Supervisor` thread in the judge
watches what the rlimits cannot see: the memory and the number of processes of all the
worker's processes together (a CUDA worker has no address-space limit), their total CPU
time and the disk they fill. When a limit is hit the supervisor kills every process the
worker made, including ones that left its process group with ``setsid()``, and says
which limit was hit and by how much.
"""

from .bwrap import _python_binds
from .host import Host, allocate_uid, bubblewrap_works, choose_mode, describe_isolation, host, release_uid
from .launch import Launch, build_launch, worker_env
from .limits import GiB, Limits, MiB
from .proc import Proc, processes_with, scan_processes
from .supervisor import Supervisor
from .workdir import HARNESS_PROBES, WORKER_PACKAGE, prepare_workdir, probe_source

__all__ = [
    "HARNESS_PROBES",
    "WORKER_PACKAGE",
    "GiB",
    "Host",
    "Launch",
    "Limits",
    "MiB",
    "Proc",
    "Supervisor",
    "_python_binds",
    "allocate_uid",
    "bubblewrap_works",
    "build_launch",
    "choose_mode",
    "describe_isolation",
    "host",
    "prepare_workdir",
    "probe_source",
    "processes_with",
    "release_uid",
    "scan_processes",
    "worker_env",
]
