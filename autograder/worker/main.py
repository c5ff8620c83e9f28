"""The worker's request loop.

Requests come on one inherited pipe and answers go out on another (their descriptor
numbers are in ``DIVEKIT_WORKER_FDS``, removed from the environment on arrival); the
student's prints go to stdout/stderr, which the judge captures separately, so nothing a
student prints can be mistaken for an answer. Every answer is data (see ``protocol``):
the judge validates it and never runs code from here.

Start-up, before any student code: read the configuration, :func:`confine` (drop to the
worker's own uid where the judge gave one, resource limits, no new privileges, parent
death signal, child subreaper, Landlock in plain process mode), answer ``booted``, then
import the student's module and answer with the stubs found.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import signal
import sys
import time
import traceback
import types

import torch
from torch.overrides import TorchFunctionMode

from . import probes
from .protocol import Handle, Param, decode, encode, read_message, write_message

# Namespaces whose public names a recorded call is also reported under, so that
# ``getattr(torch, "soft" + "max")`` and ``sm = torch.softmax`` read like ``torch.softmax``.
PUBLIC_NAMESPACES = (
    "torch",
    "torch.nn.functional",
    "torch.special",
    "torch.linalg",
    "torch.fft",
    "torch.optim",
    "torch.nn",
    "torch.nn.init",
    "torch.autograd",
)


class TamperingDetected(Exception):
    """The submission switched off the grader's call recording while it ran."""


def _is_torch(module_name) -> bool:
    """Torch's own code, or the harness's: calls made from there are not the student's."""
    own = __package__ or "divekit_worker"
    return isinstance(module_name, str) and (
        module_name == "torch" or module_name.startswith(("torch.", own, "importlib"))
    )


class CallRecorder(TorchFunctionMode):
    """Records the torch functions and tensor methods a stub calls (for from-scratch checks).

    Two independent recorders: a ``TorchFunctionMode`` sees every torch operation on
    tensors, and a profile hook (``sys.setprofile``) sees every call the student's code
    makes into torch, builtin or Python (optimizers, ``torch.nn.functional``), however the
    function was reached. Only calls made from outside torch are recorded, so torch's own
    internals do not count against the student. A stub that switches either recorder off
    raises :class:`TamperingDetected`.
    """

    _by_id: dict[int, set[str]] | None = None
    _by_code: dict[object, set[str]] | None = None

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", None) or repr(func)
        module = getattr(func, "__module__", None) or ""
        qual = getattr(func, "__qualname__", name)
        if qual.startswith("TensorBase.") or qual.startswith("Tensor."):
            self.names.add("Tensor." + name)
        elif module:
            self.names.add(f"{module}.{name}")
        else:
            self.names.add(name)
        return func(*args, **(kwargs or {}))

    # -- the profile hook ------------------------------------------------------------------
    @classmethod
    def _index(cls) -> None:
        by_id: dict[int, set[str]] = {}
        by_code: dict[object, set[str]] = {}
        for ns in PUBLIC_NAMESPACES:
            module = sys.modules.get(ns)
            if module is None:
                continue
            for attr, obj in list(vars(module).items()):
                if attr.startswith("__"):
                    continue
                public = f"{ns}.{attr}"
                if isinstance(obj, types.BuiltinFunctionType):
                    by_id.setdefault(id(obj), set()).add(public)
                elif isinstance(obj, types.FunctionType):
                    by_code.setdefault(obj.__code__, set()).add(public)
                elif isinstance(obj, type):
                    for meth in ("__init__", "__new__", "__call__", "forward", "step"):
                        fn = vars(obj).get(meth)
                        if isinstance(fn, types.FunctionType):
                            by_code.setdefault(fn.__code__, set()).add(public)
        cls._by_id, cls._by_code = by_id, by_code

    def _profile(self, frame, event, arg):
        if event == "c_call":
            if _is_torch(frame.f_globals.get("__name__")):
                return
            owner = getattr(arg, "__self__", None)
            if isinstance(owner, torch.Tensor):
                self.names.add("Tensor." + arg.__name__)
                return
            module = getattr(arg, "__module__", None)
            if not _is_torch(module):
                return
            self.names.add(f"{module}.{arg.__name__}")
            self.names.update(self._by_id.get(id(arg), ()))
        elif event == "call":
            if not _is_torch(frame.f_globals.get("__name__")):
                return
            back = frame.f_back
            if back is not None and _is_torch(back.f_globals.get("__name__")):
                return
            code = frame.f_code
            self.names.add(f"{frame.f_globals.get('__name__')}.{code.co_qualname}")
            self.names.update(self._by_code.get(code, ()))

    def __enter__(self):
        if CallRecorder._by_id is None:
            CallRecorder._index()
        out = super().__enter__()
        self._depth = torch._C._len_torch_function_stack()
        sys.setprofile(self._profile)
        return out

    def check_intact(self) -> None:
        """Raise :class:`TamperingDetected` unless both recorders are still in place."""
        if sys.getprofile() != self._profile:
            raise TamperingDetected("the submission replaced the grader's call recorder (sys.setprofile) while it ran")
        depth = torch._C._len_torch_function_stack()
        if depth < self._depth or torch._C._get_function_stack_at(self._depth - 1) is not self:
            raise TamperingDetected("the submission removed the grader's torch function mode while it ran")

    def __exit__(self, *exc):
        sys.setprofile(None)
        stack = torch._C._len_torch_function_stack
        if stack() >= self._depth and torch._C._get_function_stack_at(self._depth - 1) is self:
            while stack() >= self._depth:  # modes the student left on top, then ours
                torch._C._pop_torch_function_stack()
        return None


class Worker:
    def __init__(self, config: dict):
        self.config = config
        self.module: types.ModuleType | None = None
        self.objects: dict[int, object] = {}
        self.next_handle = 1

    # -- handles ---------------------------------------------------------------------
    def keep(self, obj) -> Handle:
        ident = self.next_handle
        self.next_handle += 1
        self.objects[ident] = obj
        return Handle(ident, type(obj).__name__)

    def resolve(self, ident: int):
        if ident not in self.objects:
            raise KeyError(f"no object #{ident} in this worker")
        return self.objects[ident]

    # -- loading ---------------------------------------------------------------------
    def load(self) -> dict:
        path = self.config["module_path"]
        name = self.config["module_name"]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        self.module = module
        return {"stubs": self.describe_stubs(self.config.get("stubs", []))}

    def describe_stubs(self, names: list[str]) -> dict:
        found = {}
        for name in names:
            if not hasattr(self.module, name):
                found[name] = {"kind": "missing"}
                continue
            obj = getattr(self.module, name)
            kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "value"
            try:
                signature = str(inspect.signature(obj)) if kind != "value" else None
            except (TypeError, ValueError):
                signature = None
            found[name] = {"kind": kind, "signature": signature}
        return found

    # -- requests --------------------------------------------------------------------
    def target(self, spec: dict):
        if "stub" in spec:
            obj = getattr(self.module, spec["stub"])
        elif "handle" in spec:
            obj = self.resolve(int(spec["handle"]))
        elif "probe" in spec:
            fn = probes.find(spec["probe"])
            return lambda *a, **k: fn(self.module, *a, **k)
        else:
            raise LookupError("request names no target")
        if spec.get("attr"):
            obj = getattr(obj, spec["attr"])
        return obj

    def materialise(self, value):
        """Turn wire ``Param`` markers into leaf tensors that require grad."""
        if isinstance(value, Param):
            leaf = value.data.clone().requires_grad_(True)
            if value.grad is not None:
                leaf.grad = value.grad.clone()
            return leaf
        if isinstance(value, list):
            return [self.materialise(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.materialise(v) for v in value)
        if isinstance(value, dict):
            return {k: self.materialise(v) for k, v in value.items()}
        return value

    def call(self, request: dict, tensors: dict) -> tuple[dict, dict]:
        args = self.materialise(decode(request.get("args", []), tensors, self.resolve))
        kwargs = self.materialise(decode(request.get("kwargs", {}), tensors, self.resolve))
        device = request.get("device")
        if device:
            args = _to_device(args, device)
            kwargs = _to_device(kwargs, device)
        grad_spec = request.get("grad")
        grad_inputs = []
        if grad_spec:
            for index in grad_spec.get("inputs", []):
                args[index] = args[index].detach().clone().requires_grad_(True)
                grad_inputs.append(args[index])
        fn = self.target(request["target"])
        recorder = CallRecorder()
        start = time.perf_counter()
        # Probes are the harness's code: what they call is not the student's doing (and
        # recording a whole training loop would only slow it down).
        target = request.get("target") or {}
        if request.get("record", True) and "probe" not in target:
            with recorder:
                result = fn(*args, **kwargs)
                if request.get("collect") == "list":
                    result = list(result)
                recorder.check_intact()
        else:
            result = fn(*args, **kwargs)
            if request.get("collect") == "list":
                result = list(result)
        elapsed = time.perf_counter() - start
        answer: dict = {"calls": sorted(recorder.names), "seconds": elapsed}
        out: dict = {}
        if grad_spec:
            answer["grads"] = encode(self.gradients(result, grad_inputs, grad_spec), out)
        keep = self.keep if request.get("keep") else None
        answer["value"] = encode(result, out, keep)
        if request.get("return_args"):
            answer["args"] = encode([_with_grad(a) for a in args], out)
        return answer, out

    def gradients(self, result, grad_inputs, grad_spec):
        output = result[0] if isinstance(result, tuple) else result
        if not isinstance(output, torch.Tensor):
            return {"error": f"the output is a {type(output).__name__}, not a tensor"}
        if not output.requires_grad:
            return {
                "error": "the output does not depend on the inputs through autograd "
                "(it has no grad_fn: look for .detach(), .data, .item(), numpy or "
                "torch.no_grad() on the way)"
            }
        wrt = list(grad_inputs)
        names = []
        module = self.resolve(int(grad_spec["module"])) if grad_spec.get("module") else None
        if module is not None:
            for name, p in module.named_parameters():
                names.append(name)
                wrt.append(p)
        grad_output = grad_spec.get("output_grad_seed")
        gen = torch.Generator().manual_seed(int(grad_output or 0))
        g = torch.randn(output.shape, generator=gen, dtype=output.dtype).to(output.device)
        grads = torch.autograd.grad(output, wrt, g, allow_unused=True)
        return {
            "output_grad": g,
            "inputs": [gr for gr in grads[: len(grad_inputs)]],
            "params": dict(zip(names, grads[len(grad_inputs) :])),
        }

    def handle(self, request: dict, tensors: dict) -> tuple[dict, dict]:
        op = request.get("op")
        if op == "call":
            return self.call(request, tensors)
        if op == "describe":
            described = probes.describe_module(self.resolve(request["handle"]))
            return {"value": encode(described, {})}, {}
        if op == "drop":
            self.objects.pop(int(request["handle"]), None)
            return {"value": None}, {}
        raise LookupError(f"unknown request {op!r}")


def _with_grad(value):
    if isinstance(value, torch.Tensor) and value.requires_grad:
        return Param(value.detach(), value.grad)
    if isinstance(value, list):
        return [_with_grad(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_with_grad(v) for v in value)
    return value


def _to_device(value, device):
    if isinstance(value, torch.Tensor):
        moved = value.to(device)
        if value.is_leaf and value.requires_grad:
            moved = moved.detach().requires_grad_(True)
        return moved
    if isinstance(value, list):
        return [_to_device(v, device) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def student_traceback(exc: BaseException, module_path: str) -> str:
    """The traceback frames that are in the student's file, or the last few if none are."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if f.filename == module_path]
    shown = mine or frames[-3:]
    lines = traceback.format_list(shown)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-4000:]


def error_answer(exc: BaseException, module_path: str) -> dict:
    return {
        "error": {
            "type": type(exc).__name__,
            "message": str(exc)[:2000],
            "traceback": student_traceback(exc, module_path),
        }
    }


# -- confinement: applied before the student's code is imported -------------------------------

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1, 2, 4, 8
LL_TRUNCATE, LL_IOCTL_DEV = 1 << 14, 1 << 15


def _libc():
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def _landlock(spec: dict) -> str:
    """Confine this process (and its children) to the given folders; returns what it did."""
    ctypes, libc = _libc()
    abi = libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return "no Landlock"
    fs_all = (1 << 13) - 1
    if abi >= 2:
        fs_all |= 1 << 13  # REFER
    if abi >= 3:
        fs_all |= LL_TRUNCATE
    if abi >= 5:
        fs_all |= LL_IOCTL_DEV

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    attr = RulesetAttr(fs_all, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"Landlock failed ({os.strerror(ctypes.get_errno())})"
    extra = fs_all & (LL_TRUNCATE | LL_IOCTL_DEV)
    file_rights = LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | extra
    read = LL_EXECUTE | LL_READ_FILE | LL_READ_DIR
    dev = LL_READ_FILE | LL_WRITE_FILE | LL_READ_DIR | extra
    rules = [(p, read) for p in spec.get("read", [])] + [(p, fs_all) for p in spec.get("write", [])]
    if spec.get("dev"):
        rules.append((spec["dev"], dev))
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    rights &= file_rights
                rule = PathBeneath(rights & fs_all, fd)
                libc.syscall(
                    LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)
                )
            finally:
                os.close(fd)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return f"Landlock failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return f"Landlock ABI {abi}"


def confine(spec: dict) -> list[str]:
    """Drop to the worker's uid, set resource limits, and confine; returns what was done."""
    import resource

    done = []
    uid = spec.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))  # from root: every capability goes too
        done.append(f"uid {uid}")
    for name, value in (spec.get("rlimits") or {}).items():
        if value is None:
            continue
        which = getattr(resource, f"RLIMIT_{name}")
        hard = value + 5 if name == "CPU" else value
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            soft_now, hard_now = resource.getrlimit(which)
            if hard_now != resource.RLIM_INFINITY and value > hard_now:
                resource.setrlimit(which, (hard_now, hard_now))
            else:
                raise
        done.append(f"RLIMIT_{name}={value}")
    if sys.platform.startswith("linux"):
        ctypes, libc = _libc()
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        # Orphans of the student's processes (a setsid() daemon) are re-parented to this
        # process rather than to init, so the judge still finds them among its descendants.
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        if spec.get("pdeathsig"):
            parent = os.getppid()
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the judge died before we asked
                os._exit(1)
        if spec.get("landlock"):
            done.append(_landlock(spec["landlock"]))
    return done


def _load_probe(module: str, source: str) -> None:
    """Install the probes of ``module``, sent by the judge when a check first needs them."""
    if not module.isidentifier():
        raise LookupError(f"bad probe module {module!r}")
    name = f"{probes.__name__}.{module}"
    mod = types.ModuleType(name)
    mod.__package__ = probes.__name__
    mod.__file__ = f"<divekit probe {module}>"
    exec(compile(source, mod.__file__, "exec"), mod.__dict__)  # the judge's code, not the student's
    sys.modules[name] = mod
    setattr(probes, module, mod)


def main() -> None:
    request_fd, answer_fd = (int(x) for x in os.environ.pop("DIVEKIT_WORKER_FDS").split(","))
    for fd in (request_fd, answer_fd):
        os.set_inheritable(fd, False)  # no program the student starts gets the channels
    requests = os.fdopen(request_fd, "rb", buffering=0)
    answers = os.fdopen(answer_fd, "wb")
    # Bound here, before any student code runs: patching the modules changes nothing below.
    read, write, fail = read_message, write_message, error_answer
    # -I ignores PYTHONUNBUFFERED: make prints reach the judge's capture as they happen.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    config, _ = read(requests)
    confined = confine(config.get("confine") or {})
    torch.manual_seed(int(config.get("seed", 0)))
    if config.get("threads"):
        torch.set_num_threads(int(config["threads"]))
    fraction = config.get("gpu_memory_fraction")
    if fraction and torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(float(fraction))
    worker = Worker(config)
    write(answers, {"ok": True, "booted": True, "confined": confined}, {})
    try:
        hello = worker.load()
        hello["torch"] = torch.__version__
        hello["cuda"] = torch.cuda.is_available()
        write(answers, {"ok": True, "value": encode(hello, {})}, {})
    except BaseException as exc:  # noqa: BLE001 - the import of student code may raise anything
        write(answers, fail(exc, config["module_path"]), {})
        return
    while True:
        try:
            request, tensors = read(requests)
        except EOFError:
            return
        op = request.get("op")
        if op == "shutdown":
            return
        if "seed" in request:
            torch.manual_seed(int(request["seed"]))
        try:
            if op == "load_probe":
                _load_probe(str(request["module"]), str(request["source"]))
                answer, out = {"value": None}, {}
            else:
                answer, out = worker.handle(request, tensors)
            answer["ok"] = True
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a stub is the stub's fault
            answer, out = fail(exc, config["module_path"]), {}
        try:
            write(answers, answer, out)
        except (TypeError, ValueError) as exc:  # e.g. a value JSON cannot carry
            write(answers, fail(exc, config["module_path"]), {})


if __name__ == "__main__":
    sys.exit(main())
