"""The worker's request loop.

Requests come on one inherited pipe and answers go out on another (their descriptor
numbers are in ``DIVEKIT_WORKER_FDS``, removed from the environment on arrival); the
student's prints go to stdout/stderr, which the judge captures separately, so nothing a
student prints can be mistaken for an answer. Every answer is data (see ``protocol``):
the judge validates it and never runs code from here.

Start-up, before any student code: read the configuration, confine the process (see
``confinement``), answer ``booted``, then import the student's module and answer with the
stubs found. Calls into the student's code run under the ``recorder``.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import time
import traceback
import types

import torch

from . import probes
from .confinement import confine
from .protocol import Handle, Param, decode, encode, read_message, tree_map, write_message
from .recorder import CallRecorder


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
        return tree_map(_leaf_from_param, value)

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
        if "probe" not in target:
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


def _leaf_from_param(value):
    if not isinstance(value, Param):
        return value
    leaf = value.data.clone().requires_grad_(True)
    if value.grad is not None:
        leaf.grad = value.grad.clone()
    return leaf


def _param_from_leaf(value):
    """A tensor that requires grad goes back as a Param, so the judge sees its gradient."""
    if isinstance(value, torch.Tensor) and value.requires_grad:
        return Param(value.detach(), value.grad)
    return value


def _with_grad(value):
    return tree_map(_param_from_leaf, value)


def _to_device(value, device):
    def move(t):
        if not isinstance(t, torch.Tensor):
            return t
        leaf = t.is_leaf and t.requires_grad  # a leaf the student differentiates stays a leaf there
        return t.detach().to(device).requires_grad_(True) if leaf else t.to(device)

    return tree_map(move, value)


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


def _write_fresh(name: str, text: str) -> None:
    """Replace ``name`` in the working folder by ``text``: unlinked first, so that a link
    left in its place leads nowhere, and created anew."""
    if os.path.isabs(name) or ".." in name.split("/"):
        raise LookupError(f"bad file name {name!r}")
    folder = os.path.dirname(name)
    if folder:
        os.makedirs(folder, exist_ok=True)
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def main() -> None:
    """A fresh worker: its channels come from the environment, and it confines itself."""
    request_fd, answer_fd = (int(x) for x in os.environ.pop("DIVEKIT_WORKER_FDS").split(","))
    serve(request_fd, answer_fd)


def serve(request_fd: int, answer_fd: int, confined_before: list[str] | None = None) -> None:
    """Answer the judge on these two descriptors until it says stop. A child of the fork
    server (``zygote``) arrives here already confined; it only names what was done."""
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
    confined = list(confined_before or []) + confine(config.get("confine") or {})
    # A forked child writes its own files: the fork server serves every module of the
    # submission, and a file a sibling's code changed on disk is replaced by the judge's copy.
    for name, text in (config.get("files") or {}).items():
        _write_fresh(name, text)
    torch.manual_seed(int(config.get("seed", 0)))
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
