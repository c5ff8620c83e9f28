"""Worker-side harness code: the few interactions a plain stub call cannot express.

A probe is a function ``probe(student_module, *args)`` that drives the student's code
(trains with it, feeds it an iterator, inspects a module) and returns plain data. Probes
are our code but run in the untrusted worker, so the judge treats what they return like
any other answer from the worker: data to validate, never a verdict. The judge can also
run a probe on the reference module in its own process, which is how reference results
for training thresholds are made with exactly the same loop.

Probes for module ``m`` live in ``probes/m.py`` and are named ``"m.function"``.
"""

from __future__ import annotations

import importlib

import torch

from ..records import BufferInfo, ModuleInfo, Named, ParameterInfo


def find(name: str):
    """Look up ``"module.function"`` among the probe modules."""
    module_name, _, function = name.partition(".")
    if not module_name.isidentifier() or not function.isidentifier() or function[0] == "_":
        raise LookupError(f"bad probe name {name!r}")
    module = importlib.import_module(f"{__name__}.{module_name}")
    fn = getattr(module, function, None)
    if fn is None:
        raise LookupError(f"unknown probe {name!r}")
    return fn


def describe_module(module: torch.nn.Module) -> ModuleInfo:
    """Names, shapes and types of a module's parameters, buffers and children."""
    return ModuleInfo(
        type=type(module).__name__,
        training=bool(module.training),
        parameters=[
            ParameterInfo(name, list(p.shape), str(p.dtype), bool(p.requires_grad))
            for name, p in module.named_parameters()
        ],
        buffers=[BufferInfo(name, list(b.shape), str(b.dtype)) for name, b in module.named_buffers()],
        children=[Named(name, type(m).__name__) for name, m in module.named_children()],
        modules=[Named(name, type(m).__name__) for name, m in module.named_modules() if name],
        repr=repr(module)[:4000],
    )
