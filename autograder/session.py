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

from .sandbox import Launch, Limits, build_launch, prepare_workdir
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


class WorkerLost(BaseException):  # noqa: N818
    """The worker can answer no more. A BaseException so hypothesis does not shrink on it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason  # "timeout", "module-timeout", "died", "protocol"
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
    def __init__(self, module_name: str, module_file: str, source: str, stubs: list[str],
                 *, limits: Limits, mode: str, seed: int = 0, device: str = "cpu",
                 extra_files: dict[str, str] | None = None):
        self.module_name = module_name
        self.module_file = module_file
        self.limits = limits
        self.mode = mode
        self.device = device
        self.started = time.monotonic()
        self.process: subprocess.Popen | None = None
        self.lost: WorkerLost | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="divekit-worker-")
        files = dict(extra_files or {})
        files[module_file] = source
        harness, submission = prepare_workdir(Path(self._tmp.name), files)
        self.launch: Launch = build_launch(Path(self._tmp.name), harness, submission, limits,
                                           mode, cuda=device.startswith("cuda"))
        self.config = {
            "module_path": f"{self.launch.submission_dir}/{module_file}",
            "module_name": module_name,
            "stubs": stubs,
            "seed": seed,
            "gpu_memory_fraction": limits.gpu_memory_fraction if device != "cpu" else None,
        }

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> dict:
        """Start the worker and import the student's module; returns the worker's hello."""
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        out_r, out_w = os.pipe()
        # The worker learns which inherited descriptors are its channels from the env.
        env = dict(self.launch.env, DIVEKIT_WORKER_FDS=f"{req_r},{ans_w}")
        self.process = subprocess.Popen(
            self.launch.argv,
            cwd=self.launch.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=out_w,
            pass_fds=(req_r, ans_w),
            preexec_fn=self.launch.preexec,
            start_new_session=True,  # its own process group: one killpg ends it all
            close_fds=True,
        )
        os.close(req_r)
        os.close(ans_w)
        os.close(out_w)
        self._requests = os.fdopen(req_w, "wb")
        self._answers = ans_r
        self._output = _Capture(out_r, self.limits.output_bytes)
        self._send(self.config, {})
        return self._receive(self.limits.call_seconds * 2)

    def close(self) -> None:
        """Stop the worker and every process it started; idempotent."""
        if self.process is not None and self.process.poll() is None:
            try:
                write_message(self._requests, {"op": "shutdown"}, {})
                self.process.wait(timeout=2)
            except Exception:  # noqa: BLE001 - a broken pipe just means it is gone
                pass
        self._kill_group()
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
        self._tmp.cleanup()

    def _kill_group(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

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
    def request(self, header: dict, tensors: dict | None = None,
                timeout: float | None = None) -> tuple[dict, dict]:
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
        tensors: dict = {}
        header = dict(header, op=header.get("op", "call"),
                      args=encode(list(args), tensors), kwargs=encode(kwargs or {}, tensors))
        return self.request(header, tensors, timeout)

    def _send(self, header: dict, tensors: dict) -> None:
        write_message(self._requests, header, tensors)

    def _receive(self, limit: float) -> tuple[dict, dict]:
        deadline = time.monotonic() + limit
        try:
            head = self._read_exact(HEADER.size, deadline, limit)
            n_json, n_payload = HEADER.unpack(head)
            if n_json > MAX_JSON or n_payload > MAX_PAYLOAD:
                raise ProtocolError(f"answer too large ({n_json} + {n_payload} bytes)")
            header, tensors = parse_message(self._read_exact(n_json, deadline, limit),
                                            self._read_exact(n_payload, deadline, limit))
        except ProtocolError as exc:
            self._lose("protocol", f"the worker sent a malformed answer ({exc})")
        if "error" in header and not header.get("ok"):
            err = header["error"]
            if not isinstance(err, dict):
                self._lose("protocol", "the worker sent a malformed error")
            raise StudentError(str(err.get("type")), str(err.get("message")),
                               str(err.get("traceback")))
        if not header.get("ok"):
            self._lose("protocol", "the worker sent an answer without status")
        return header, tensors

    def decode(self, header: dict, tensors: dict, field: str = "value"):
        try:
            return decode(header.get(field), tensors)
        except ProtocolError as exc:
            self._lose("protocol", f"the worker sent a malformed value ({exc})")

    def _read_exact(self, n: int, deadline: float, limit: float) -> bytes:
        chunks = []
        while n:
            left = deadline - time.monotonic()
            if left <= 0:
                self._lose("timeout", f"no answer within the {limit:.0f} s time limit "
                           "(an infinite loop, a very slow implementation, or waiting on input)")
            ready, _, _ = select.select([self._answers], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._answers, min(n, 1 << 20))
            if not chunk:
                self._lose("died", self._death_detail())
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _death_detail(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the worker closed its answer channel but kept running"
        if code < 0:
            sig = signal.Signals(-code).name
            why = {
                "SIGKILL": "killed (often the memory limit, or the process killed itself)",
                "SIGXCPU": f"the CPU time limit of {self.limits.cpu_seconds} s was exceeded",
                "SIGXFSZ": f"it wrote a file larger than {self.limits.file_bytes} bytes",
                "SIGSEGV": "a segmentation fault",
            }.get(sig, "killed by a signal")
            return f"the worker process died with {sig}: {why}"
        return (f"the worker process exited with code {code} in the middle of grading "
                "(sys.exit() or os._exit() in the submission?)")

    def _lose(self, reason: str, detail: str):
        self.lost = WorkerLost(reason, detail)
        self._kill_group()
        raise self.lost
