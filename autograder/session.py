"""Talking to one worker: requests with time limits, output capture, clean kills.

The judge owns a :class:`WorkerSession` per module of a submission. A request either
comes back as data, or the session raises :class:`WorkerLost` (the worker hung, died,
hit a limit or sent garbage) or :class:`StudentError` (the student's code raised). After
``WorkerLost`` the session is dead; the grader starts a fresh one for the stubs left.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .framework import probe_sources
from .sandbox.host import release_uid
from .sandbox.launch import Launch, build_launch
from .sandbox.limits import Limits
from .sandbox.supervisor import Supervisor
from .sandbox.workdir import HARNESS_PROBES, prepare_workdir
from .sandbox.zygote import ForkServer, ForkServerLost, current
from .worker.protocol import (
    HEADER,
    MAX_JSON,
    MAX_PAYLOAD,
    ProtocolError,
    decode,
    encode,
    parse_message,
    write_message,
)

BOOT_SECONDS = 180.0  # the worker's own start-up (Python and torch), before student code


class WorkerLost(BaseException):
    """The worker can answer no more. A BaseException so hypothesis does not shrink on it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        # "timeout", "module-timeout", "died", "protocol", or "limit" (memory, processes,
        # CPU or disk of all the worker's processes, as the judge's supervisor measured)
        self.reason = reason
        self.detail = detail


class StudentError(Exception):
    """The student's code raised; carries the type, message and the student's traceback."""

    def __init__(self, type_name: str, message: str, traceback: str):
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback = traceback


class _Capture:
    """Drains a pipe in a thread, keeping the first ``limit`` bytes and counting the rest."""

    def __init__(self, fd: int, limit: int):
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, args=(fd,), daemon=True)
        self.thread.start()

    def _run(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                room = self.limit - len(self.kept)
                if room > 0:
                    self.kept += chunk[:room]
                self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        out = self.kept.decode("utf-8", errors="replace")
        if self.dropped:
            out += f"\n[... {self.dropped} more bytes of output were cut]"
        return out


class WorkerSession:
    def __init__(
        self,
        module_name: str,
        module_file: str,
        source: str,
        stubs: list[str],
        *,
        limits: Limits,
        mode: str,
        seed: int = 0,
        device: str = "cpu",
        extra_files: dict[str, str] | None = None,
        fork_server: ForkServer | None = None,
    ):
        """Inside a ``sandbox.zygote.fork_server`` block (or given ``fork_server``) the
        worker is forked from that block's zygote; elsewhere it is a fresh process."""
        self.module_name = module_name
        self.module_file = module_file
        self.limits = limits
        self.mode = mode
        self.device = device
        self.started = time.monotonic()
        self.process: subprocess.Popen | None = None
        self.supervisor: Supervisor | None = None
        self.lost: WorkerLost | None = None
        self.confined: list[str] = []
        self._probes_sent: set[str] = set()
        self._closed = False
        files = dict(extra_files or {})
        files[module_file] = source
        self.server = fork_server or current(limits, mode, device)
        if self.server is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="divekit-worker-")
            harness, submission = prepare_workdir(Path(self._tmp.name), files)
            self.launch: Launch | None = build_launch(
                Path(self._tmp.name), harness, submission, limits, mode, cuda=device.startswith("cuda")
            )
            submission_dir, confine = self.launch.submission_dir, self.launch.confine
        else:
            self.launch = None  # the zygote's, once it has started
            # The zygote's folder, known once it has started (see _fork).
            submission_dir, confine = None, {"pdeathsig": True}
        self.config = {
            "module_path": f"{submission_dir}/{module_file}",
            "module_name": module_name,
            "stubs": stubs,
            "seed": seed,
            "gpu_memory_fraction": limits.gpu_memory_fraction if device != "cpu" else None,
            "confine": confine,
        }
        if self.server is not None:
            self.config["files"] = files  # the child writes them (see worker/main.py)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> tuple[dict, dict]:
        """Start the worker and import the student's module; returns the worker's hello."""
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        out_r, out_w = os.pipe()
        if self.server is not None:
            self._fork((req_r, ans_w, out_w))
        else:
            self._spawn(req_r, ans_w, out_w)
        self._requests = os.fdopen(req_w, "wb")
        self._answers = ans_r
        self._output = _Capture(out_r, self.limits.output_bytes)
        try:
            self._send(self.config, {})
        except OSError:
            self._lose("died", self._death_detail())
        # First the worker's own start-up (Python, torch, confinement: no student code yet),
        # with a budget of its own so that a busy machine is not blamed on the student.
        booted, _ = self._receive(BOOT_SECONDS, booting=True)
        if booted.get("booted") is not True:
            self._lose("protocol", "the worker sent a malformed start-up message")
        confined = booted.get("confined")
        self.confined = [str(c) for c in confined] if isinstance(confined, list) else []
        self.started = time.monotonic()
        header, tensors = self._receive(self.limits.call_seconds * 2)
        hello = self.decode(header, tensors)
        if not (
            isinstance(hello, dict)
            and isinstance(hello.get("stubs"), dict)
            and all(isinstance(v, dict) for v in hello["stubs"].values())
        ):
            self._lose("protocol", "the worker sent a malformed greeting")
        return header, tensors

    def _spawn(self, req_r: int, ans_w: int, out_w: int) -> None:
        """A fresh worker process in a sandbox of its own."""
        # The worker learns which inherited descriptors are its channels from the env.
        env = dict(self.launch.env, DIVEKIT_WORKER_FDS=f"{req_r},{ans_w}")
        user = self.launch.popen_user
        self.process = subprocess.Popen(
            self.launch.argv,
            cwd=self.launch.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=out_w,
            pass_fds=(req_r, ans_w),
            start_new_session=True,  # its own process group: one killpg ends it all
            close_fds=True,
            **({"user": user, "group": user, "extra_groups": []} if user is not None else {}),
        )
        for fd in (req_r, ans_w, out_w):
            os.close(fd)
        self.supervisor = Supervisor(
            self.launch, self.limits, self.process, extra_processes=2 if self.launch.mode == "bwrap" else 0
        )

    def _fork(self, fds: tuple[int, int, int]) -> None:
        """A fresh worker forked by the fork server, watched on its own process tree."""
        try:
            self.process = self.server.fork(fds)
        except ForkServerLost as exc:
            self.lost = WorkerLost("died", str(exc))
            raise self.lost from None
        finally:
            for fd in fds:
                os.close(fd)
        self.launch = self.server.launch
        self.config["module_path"] = f"{self.launch.submission_dir}/{self.module_file}"
        self.supervisor = Supervisor(self.launch, self.limits, self.process, whole_sandbox=False)
        self.server.watch(self.process, self.supervisor)

    def close(self) -> None:
        """Stop the worker and every process it started; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.process is not None and self.process.poll() is None and self.lost is None:
            try:
                write_message(self._requests, {"op": "shutdown"}, {})
                self.process.wait(timeout=2)
            except Exception:  # noqa: BLE001 - a broken pipe just means it is gone
                pass
        self._kill_group()
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.process is not None:
            for stream in (getattr(self, "_requests", None),):
                try:
                    stream and stream.close()
                except OSError:
                    pass
            try:
                os.close(self._answers)
            except (OSError, AttributeError):
                pass
            self._output.thread.join(timeout=2)
        if self.server is not None:
            if self.process is not None:
                self.server.release(self.process)
            return
        release_uid(self.launch.uid)
        try:
            self._tmp.cleanup()
        except OSError:
            pass

    def _kill_group(self) -> None:
        """SIGKILL the worker and every process it made (see ``sandbox.supervisor``)."""
        if self.process is None or self.supervisor is None:
            return
        self.supervisor.kill_all()

    def output(self) -> str:
        """What the worker printed so far (complete once it has exited)."""
        if self.process is None:
            return ""
        if self.process.poll() is not None:
            self._output.thread.join(timeout=2)
        return self._output.text()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- requests ------------------------------------------------------------------------
    def request(self, header: dict, tensors: dict | None = None, timeout: float | None = None) -> tuple[dict, dict]:
        if self.lost is not None:
            raise self.lost
        remaining = self.limits.module_seconds - (time.monotonic() - self.started)
        if remaining <= 0:
            self._lose("module-timeout", f"the module used up its {self.limits.module_seconds:.0f} s")
        limit = min(timeout or self.limits.call_seconds, remaining)
        try:
            self._send(header, tensors or {})
        except (BrokenPipeError, OSError):
            self._lose("died", self._death_detail())
        return self._receive(limit)

    def call(self, header: dict, args=(), kwargs=None, timeout=None):
        """Encode ``args``/``kwargs``, send, and decode the answer's fields."""
        target = header.get("target") or {}
        if isinstance(target, dict) and "probe" in target:
            self._send_probe(str(target["probe"]).partition(".")[0])
        tensors: dict = {}
        header = dict(
            header, op=header.get("op", "call"), args=encode(list(args), tensors), kwargs=encode(kwargs or {}, tensors)
        )
        return self.request(header, tensors, timeout)

    def _send_probe(self, module: str) -> None:
        """Probes reach a worker only when a check first needs them (see sandbox/workdir.py),
        after the sibling probe modules they import."""
        for name in probe_sources.closure(module):
            if name in self._probes_sent or f"{name}.py" in HARNESS_PROBES:
                continue
            self._probes_sent.add(name)
            self.request({"op": "load_probe", "module": name, "source": probe_sources.source(name)})

    def _send(self, header: dict, tensors: dict) -> None:
        write_message(self._requests, header, tensors)

    def _receive(self, limit: float, booting: bool = False) -> tuple[dict, dict]:
        deadline = time.monotonic() + limit
        try:
            head = self._read_exact(HEADER.size, deadline, limit, booting)
            n_json, n_payload = HEADER.unpack(head)
            if n_json > MAX_JSON or n_payload > MAX_PAYLOAD:
                raise ProtocolError(f"answer too large ({n_json} + {n_payload} bytes)")
            header, tensors = parse_message(
                self._read_exact(n_json, deadline, limit), self._read_exact(n_payload, deadline, limit)
            )
        except ProtocolError as exc:
            self._lose("protocol", f"the worker sent a malformed answer ({exc})")
        if "error" in header and not header.get("ok"):
            err = header["error"]
            if not isinstance(err, dict):
                self._lose("protocol", "the worker sent a malformed error")
            type_name, message = str(err.get("type")), str(err.get("message"))
            raise StudentError(type_name, message + self._limit_note(type_name, message), str(err.get("traceback")))
        if not header.get("ok"):
            self._lose("protocol", "the worker sent an answer without status")
        calls = header.get("calls", [])
        if not isinstance(calls, list) or not all(isinstance(c, str) for c in calls):
            self._lose("protocol", "the worker sent a malformed list of recorded calls")
        if not isinstance(header.get("seconds", 0.0), (int, float)):
            self._lose("protocol", "the worker sent a malformed timing")
        return header, tensors

    def _limit_note(self, type_name: str, message: str) -> str:
        """Which limit an error from the student's code ran into, if it was one."""
        lim = self.limits
        low = message.lower()
        if "cuda out of memory" in low or "outofmemoryerror" in type_name.lower():
            return f" [limit: this worker may use {lim.gpu_memory_fraction:.0%} of the GPU's memory]"
        if type_name == "MemoryError" or "can't allocate memory" in low or "cannot allocate memory" in low:
            per = lim.address_space_bytes or lim.memory_bytes
            return f" [limit: the worker's memory is limited to {per / 2**30:.1f} GiB of address space per process]"
        if (
            type_name == "BlockingIOError"
            or "resource temporarily unavailable" in low
            or "can't start new thread" in low
        ):
            return f" [limit: the worker may run at most {lim.processes} processes and threads]"
        if "file too large" in low:
            return f" [limit: a file may be at most {lim.file_bytes / 2**20:.0f} MiB]"
        return ""

    def decode(self, header: dict, tensors: dict, field: str = "value", meta: dict | None = None):
        try:
            return decode(header.get(field), tensors, meta=meta)
        except ProtocolError as exc:
            self._lose("protocol", f"the worker sent a malformed value ({exc})")

    def _read_exact(self, n: int, deadline: float, limit: float, booting: bool = False) -> bytes:
        chunks = []
        while n:
            left = deadline - time.monotonic()
            if left <= 0 and booting:
                self._lose(
                    "timeout",
                    f"the worker did not start within {limit:.0f} s, before "
                    "any of your code ran (the grading machine is overloaded: not your "
                    "fault; tell your instructor)",
                )
            if left <= 0:
                self._lose(
                    "timeout",
                    f"no answer within the {limit:.0f} s time limit "
                    "(an infinite loop, a very slow implementation, or waiting on input)",
                )
            ready, _, _ = select.select([self._answers], [], [], min(left, 0.25))
            if not ready:
                # A child the student forked may hold the answer pipe open after the
                # worker itself died: a dead worker is a dead worker.
                if self.process.poll() is not None and not select.select([self._answers], [], [], 0)[0]:
                    self._lose("died", self._death_detail())
                continue
            chunk = os.read(self._answers, min(n, 1 << 20))
            if not chunk:
                self._lose("died", self._death_detail())
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _death_detail(self) -> str:
        if self.supervisor is not None and self.supervisor.violation:
            self.supervisor.kill_all()
            return f"it hit a resource limit: {self.supervisor.violation}"
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the worker closed its answer channel but kept running"
        if self.launch.mode == "bwrap" and self.server is None and code > 128:
            code = -(code - 128)  # bubblewrap passes on its child's death by signal N as 128+N
        if code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            why = {
                "SIGKILL": "killed (often the memory limit, or the process killed itself)",
                "SIGXCPU": f"the CPU time limit of {self.limits.cpu_seconds} s was exceeded",
                "SIGXFSZ": f"it wrote a file larger than {self.limits.file_bytes} bytes",
                "SIGSEGV": "a segmentation fault",
            }.get(sig, "killed by a signal")
            return f"the worker process died with {sig}: {why}"
        return (
            f"the worker process exited with code {code} in the middle of grading "
            "(sys.exit() or os._exit() in the submission?)"
        )

    def _lose(self, reason: str, detail: str):
        if self.supervisor is not None and self.supervisor.violation and reason == "died":
            reason = "limit"
        self.lost = WorkerLost(reason, detail)
        self._kill_group()
        raise self.lost
