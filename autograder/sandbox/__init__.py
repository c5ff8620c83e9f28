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
student's code (``worker/confinement.py``), and a ``Supervisor`` thread in the judge
watches what the rlimits cannot see: the memory and the number of processes of all the
worker's processes together (a CUDA worker has no address-space limit), their total CPU
time and the disk they fill. When a limit is hit the supervisor kills every process the
worker made, including ones that left its process group with ``setsid()``, and says
which limit was hit and by how much.

Fork server (``zygote``): one sandbox per submission whose zygote imports torch once and
forks a fresh worker per session; each child is watched on its own tree, the rest of the
sandbox is swept (see docs/design.md, "The fork server").

One module per concern: ``host`` (what this machine offers, and the mode), ``uids`` (a
uid of its own per worker), ``workdir`` (the worker's private folder), ``bwrap`` and
``launch`` (the command line, environment and confinement of each mode), ``proc`` (the
one walk over /proc), ``supervisor`` (limits across the process tree, and the kill),
``limits``.
"""

# What the rest of the judge uses; the session and the tests import the parts they drive
# from the modules themselves.
from .host import bubblewrap_works, choose_mode, describe_isolation, host
from .limits import GiB, Limits, MiB
from .workdir import WORKER_PACKAGE

__all__ = ["WORKER_PACKAGE", "GiB", "Limits", "MiB", "bubblewrap_works", "choose_mode", "describe_isolation", "host"]
