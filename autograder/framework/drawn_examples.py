"""The inputs a property meets, drawn by hypothesis once and replayed after.

A grading run asks hypothesis for about 1,400 examples over 45 properties. Its engine
costs about 2.5 ms of the judge's time for each, before the property's body runs (spans,
its choice tree, mutations of earlier examples, the strategies' own drawing): about 3.4 s
of a submission's unit checks, all of it holding Python's lock (docs/grading-time.md).
Yet the examples do not depend on the submission. Grading runs have a fixed seed, no
shrinking and no example database, and the checks neither ``assume`` nor draw inside a
body. So the examples hypothesis generates are fixed by the seed, the strategies and the
example count, until the first failure ends the run.

So a property's examples are recorded the first time it runs to the end (grading the
reference, or any passing submission), in memory and in the reference cache
(``reference_runs.cache_dir()``), and later runs call the body on the same examples, in the
same order, stopping at the first failure, as hypothesis without shrinking does.
``tests/test_drawn_examples.py`` grades with and without them and compares the reports.

The cache key names everything that decides the draws: the check, the property's place
among the check's properties, the strategies' repr, the example count, the seed (the
course's secret seed included), the source of the check's module and of ``framework/``,
and the versions of hypothesis and torch. Strategies must therefore be built from the
check's own constants (its source), never from a value a worker returned.

The stored form is JSON plus safetensors, never pickle: a cache folder someone else could
write must not run code in the judge. A value that does not round-trip exactly (a tensor
with autograd history, an object of a type not listed below) is not stored, and that
property is drawn by hypothesis again next time.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib
import inspect
import json
import os
import re
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import hypothesis
import torch
from hypothesis.internal.entropy import deterministic_PRNG
from safetensors.torch import load_file

from .reference_runs import cache_dir, write_entry

# Set to "0" to have hypothesis draw every time (the tests compare both ways).
ENV_VAR = "DIVEKIT_REPLAY_EXAMPLES"

Example = tuple[tuple, dict]  # the positional and keyword arguments of one call of the body

_MEMORY: dict[str, list[Example]] = {}
_LOCK = threading.Lock()


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "1").strip() != "0"


@cache
def _framework_digest() -> bytes:
    """The strategies and helpers every check draws with (this folder), read once."""
    folder = Path(__file__).resolve().parent
    return hashlib.sha256("".join(p.read_text() for p in sorted(folder.glob("*.py"))).encode()).digest()


def key(check, place: int, fn: Callable, strategies: tuple, kw_strategies: dict, examples: int, seed: int) -> str:
    """The cache key of one property: see the module's docstring for what it names."""
    # A repr names a lambda by its source text, but some carry an address: not part of it.
    shown = re.sub(r" at 0x[0-9a-f]+", "", repr((strategies, sorted(kw_strategies.items()))))
    h = hashlib.sha256(
        json.dumps(
            [
                check.module,
                check.stub,
                check.title,
                place,
                fn.__qualname__,
                shown,
                examples,
                seed,
                hypothesis.__version__,
                torch.__version__,
            ]
        ).encode()
    )
    module = inspect.getmodule(fn)
    h.update((inspect.getsource(module) if module is not None else "").encode())
    h.update(_framework_digest())
    return h.hexdigest()[:24]


def recorded(key_: str) -> list[Example] | None:
    """The examples recorded under ``key_`` (in this process, else in the cache), or None."""
    with _LOCK:
        if key_ in _MEMORY:
            return _MEMORY[key_]
    folder = cache_dir()
    meta, tensor_file = folder / f"drawn-{key_}.json", folder / f"drawn-{key_}.safetensors"
    if not meta.exists():
        return None
    try:
        tensors = load_file(tensor_file) if tensor_file.exists() else {}
        examples = [(tuple(a), k) for a, k in _decode(json.loads(meta.read_text()), tensors)]
    except Exception:  # noqa: BLE001 - a damaged or foreign entry is drawn again
        return None
    with _LOCK:
        _MEMORY[key_] = examples
    return examples


def store(key_: str, examples: list[Example]) -> None:
    """Keep ``examples`` for this process, and on disk where they round-trip exactly."""
    with _LOCK:
        _MEMORY[key_] = examples
    tensors: dict[str, torch.Tensor] = {}
    try:
        data = _encode([[list(a), k] for a, k in examples], tensors)
        again = [(tuple(a), k) for a, k in _decode(json.loads(json.dumps(data)), tensors)]
    except _Unstorable:
        return
    if not _same(again, examples):
        return
    folder = cache_dir()
    write_entry(folder / f"drawn-{key_}.json", folder / f"drawn-{key_}.safetensors", data, tensors)


def replay(examples: list[Example], body: Callable) -> None:
    """``body`` on each example in order; the first failure propagates, as hypothesis's
    does without shrinking. Each call gets its own copy (a body may change its inputs) and
    the global generators hypothesis would have seeded for it (Python's and numpy's)."""
    for args, kwargs in examples:
        args, kwargs = copy.deepcopy((args, kwargs))
        with deterministic_PRNG():
            try:
                body(*args, **kwargs)
            except Exception as exc:
                exc.add_note(f"Failing test case: {body.__name__}({_shown(args, kwargs)})")
                raise


def _shown(args: tuple, kwargs: dict) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)[:1000]


class _Unstorable(Exception):
    """A drawn value the stored form cannot carry exactly."""


def _encode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return {"float": repr(value)}
    if isinstance(value, list):
        return {"list": [_encode(v, tensors) for v in value]}
    if isinstance(value, tuple) and type(value) is tuple:
        return {"tuple": [_encode(v, tensors) for v in value]}
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode(v, tensors) for k, v in value.items()}}
    if type(value) is torch.Tensor:
        if value.grad_fn is not None or value.device.type != "cpu" or value.is_sparse:
            raise _Unstorable(f"a tensor of {value.device} with history {value.grad_fn}")
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().contiguous().clone()
        return {"tensor": name, "requires_grad": value.requires_grad}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith("autograder.") or "." in cls.__qualname__:
            raise _Unstorable(f"a {cls.__module__}.{cls.__qualname__}")
        fields = {f.name: _encode(getattr(value, f.name), tensors) for f in dataclasses.fields(value)}
        return {"record": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    raise _Unstorable(f"a {type(value).__module__}.{type(value).__qualname__}")


def _decode(data: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if data is None or isinstance(data, (bool, str, int)):
        return data
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ValueError(f"not a stored value: {str(data)[:80]}")
    if "float" in data:
        return float(data["float"])
    if "list" in data:
        return [_decode(v, tensors) for v in data["list"]]
    if "tuple" in data:
        return tuple(_decode(v, tensors) for v in data["tuple"])
    if "dict" in data:
        return {str(k): _decode(v, tensors) for k, v in data["dict"].items()}
    if "tensor" in data:
        t = tensors[data["tensor"]].clone()
        return t.requires_grad_(True) if data.get("requires_grad") else t
    if "dtype" in data:
        dtype = getattr(torch, str(data["dtype"]), None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"not a dtype: {data['dtype']}")
        return dtype
    if "record" in data:
        module, _, name = str(data["record"]).partition(":")
        if not module.startswith("autograder.") or not name.isidentifier():
            raise ValueError(f"not a record of the grader: {data['record']}")
        cls = getattr(importlib.import_module(module), name, None)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"not a record of the grader: {data['record']}")
        return cls(**{k: _decode(v, tensors) for k, v in data["fields"].items()})
    raise ValueError(f"not a stored value: {sorted(data)[:2]}")


def _same(a: Any, b: Any) -> bool:
    """The same value, bit for bit (NaNs and signed zeros included), of the same types and layout."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return (
            a.dtype == b.dtype
            and a.shape == b.shape
            and a.stride() == b.stride()  # a layout some stubs meet (a .view on a transposed input)
            and a.requires_grad == b.requires_grad
            and torch.equal(a.detach().reshape(-1).view(torch.uint8), b.detach().reshape(-1).view(torch.uint8))
        )
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return a == b
