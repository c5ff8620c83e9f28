"""What torch a stub calls while it runs, recorded inside the worker for the from-scratch
checks (a stub that must not use ``torch.softmax`` is caught however it reaches it), and
caught when the submission switches the recording off."""

from __future__ import annotations

import sys
import types

import torch
from torch.overrides import TorchFunctionMode

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
