"""The answer key: what the checks need from the reference solution, recorded as values.

A student pack grades without ``solutions/``: every value a check takes from the
reference goes through :meth:`Ctx.expected <autograder.framework.context.Ctx.expected>`,
which in the instructor's grading computes it from the reference, while building the key
also stores it, and in a pack looks it up. Values only, never code: tensors go to one
safetensors file, everything else to JSON (the wire format of ``worker/protocol.py``), so
loading a key runs nothing and pickles nothing.

An entry is named by the check, the place in the checks' code that asked (the function's
qualified name and line) and a fingerprint of the data it was asked about (its arguments
and the data its closure holds). Checks draw their inputs from the check's seed, so with
the public seed the pack meets exactly the inputs the key was built on; hypothesis does not
shrink (see Ctx.given), so a failing student meets no input the reference never saw.

A key is stamped with what its values depend on: the source of the checks, probes and
framework that ship with it, the curriculum, and torch's version (major.minor: patch
releases move float32 results by rounding only, which the tolerances allow). A key whose
stamp differs from the code it is used with is refused with a message, never half-used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import types
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..worker.protocol import decode, encode

KEY_JSON = "key.json"
KEY_TENSORS = "key.safetensors"
FORMAT = 1


class NotInKey(Exception):
    """A check asked the key for a value it was never built with."""


class KeyMismatch(Exception):
    """The key was built for other checks, another curriculum or another torch."""


# -- fingerprints -------------------------------------------------------------------------
def _feed(h, obj: Any, depth: int = 0) -> None:
    """Feed the data of ``obj`` into ``h``: tensors by dtype, shape and bytes, numbers and
    strings by value, containers item by item, functions by name and the data they close
    over. Objects with no data meaning (the check's context, modules) count by type only."""
    if depth > 16:
        h.update(b"<deep>")
        return
    put = h.update
    if obj is None or isinstance(obj, bool | int | float | str | bytes):
        put(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        put(f"T{t.dtype}{tuple(t.shape)};".encode())
        if t.dtype == torch.bfloat16:
            t = t.float()
        put(t.numpy().tobytes() if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes())
    elif isinstance(obj, torch.Generator):
        put(b"G")
        put(obj.get_state().numpy().tobytes())
    elif isinstance(obj, torch.dtype | torch.device):
        put(f"{obj};".encode())
    elif isinstance(obj, list | tuple):
        put(f"{type(obj).__name__}[{len(obj)}](".encode())
        for item in obj:
            _feed(h, item, depth + 1)
        put(b")")
    elif isinstance(obj, dict):
        put(f"dict[{len(obj)}](".encode())
        for k in sorted(obj, key=repr):
            _feed(h, k, depth + 1)
            _feed(h, obj[k], depth + 1)
        put(b")")
    elif isinstance(obj, frozenset | set):
        put(f"set[{len(obj)}](".encode())
        for item in sorted(obj, key=repr):
            _feed(h, item, depth + 1)
        put(b")")
    elif isinstance(obj, types.FunctionType):
        put(f"fn:{obj.__module__}.{obj.__qualname__};".encode())
        # Its code too: two lambdas of one line that differ only in a constant
        # (``ref.conv_block(3, 7)`` and ``(3, 8)``) ask different questions.
        _feed_code(h, obj.__code__)
        for cell in obj.__closure__ or ():
            try:
                _feed(h, cell.cell_contents, depth + 1)
            except ValueError:  # an empty cell
                put(b"<empty>")
        _feed(h, obj.__defaults__, depth + 1)
    elif isinstance(obj, types.BuiltinFunctionType | types.MethodType):
        put(f"fn:{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj)};".encode())
    elif isinstance(obj, types.ModuleType):
        put(b"module;")
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        put(f"dc:{type(obj).__qualname__}(".encode())
        for f in dataclasses.fields(obj):
            if f.repr:  # a field left out of repr is machinery (a session factory), not data
                put(f"{f.name}=".encode())
                _feed(h, getattr(obj, f.name), depth + 1)
        put(b")")
    elif hasattr(obj, "__array__") and not isinstance(obj, type):
        _feed(h, torch.as_tensor(obj), depth + 1)
    else:
        put(f"obj:{type(obj).__qualname__};".encode())


def _feed_code(h, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(h, const)
        else:
            h.update(repr(const).encode())


def fingerprint(*objs: Any) -> str:
    h = hashlib.sha256()
    for obj in objs:
        _feed(h, obj)
    return h.hexdigest()[:32]


def entry_name(check_key: str, fn: Any, args: tuple, kwargs: dict) -> str:
    """The key entry for ``fn(reference, *args, **kwargs)`` asked by the check ``check_key``."""
    code = getattr(fn, "__code__", None)
    site = f"{code.co_qualname}:{code.co_firstlineno}" if code is not None else repr(fn)
    return f"{check_key} | {site} | {fingerprint(fn, args, kwargs)}"


# -- the stamp ----------------------------------------------------------------------------
def _grader_root() -> Path:
    return Path(__file__).resolve().parents[1]


def stamp() -> dict[str, str]:
    """What this grader's key must have been built with (see the module docstring)."""
    root = _grader_root()
    h = hashlib.sha256()
    for folder in ("framework", "course"):
        for path in sorted((root / folder).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    # The curriculum as read (signatures derived from the solutions included), not its
    # file: a pack's copy spells out the signatures its missing solutions cannot give.
    from .. import curriculum as course

    modules = [dataclasses.asdict(m) for m in course.modules(root / "course" / "curriculum.toml")]
    curriculum = hashlib.sha256(json.dumps(modules, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "format": str(FORMAT),
        "checks": h.hexdigest()[:16],
        "curriculum": curriculum,
        "torch": ".".join(torch.__version__.split("+")[0].split(".")[:2]),
    }


# -- the key ------------------------------------------------------------------------------
@dataclasses.dataclass
class AnswerKey:
    """Recorded values by entry name, plus per-module facts (``meta``) the grader needs
    from the solutions besides values: calibrated call times, which piece calls which."""

    stamp: dict[str, str] = dataclasses.field(default_factory=stamp)
    entries: dict[str, Any] = dataclasses.field(default_factory=dict)  # name -> [encoded, n tensors, first]
    tensors: dict[str, torch.Tensor] = dataclasses.field(default_factory=dict)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    origin: str = ""  # where it was loaded from, for messages

    def put(self, name: str, value: Any) -> None:
        if name in self.entries:
            return  # the same question asked again (a rerun): the first answer stands
        local: dict[str, torch.Tensor] = {}
        data = encode(value, local)
        first = len(self.tensors)
        for i in range(len(local)):
            self.tensors[f"v{first + i}"] = local[f"t{i}"]
        self.entries[name] = [data, len(local), first]

    def has(self, name: str) -> bool:
        return name in self.entries

    def get(self, name: str) -> Any:
        try:
            data, count, first = self.entries[name]
        except KeyError:
            raise NotInKey(name) from None
        # Copies: a check may change the value it was given in place, and the key serves
        # every grading of this process (a batch judge, the kept values: reference_runs).
        local = {f"t{i}": self.tensors[f"v{first + i}"].clone() for i in range(count)}
        return decode(data, local)

    # -- files ---------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = f".{os.getpid()}.tmp"
        save_file(self.tensors, str(folder / KEY_TENSORS) + tmp)
        body = {"stamp": self.stamp, "entries": self.entries, "meta": self.meta}
        (folder / (KEY_JSON + tmp)).write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
        os.chmod(str(folder / KEY_TENSORS) + tmp, 0o644)  # safetensors writes 0600; a key is read by all
        os.replace(str(folder / KEY_TENSORS) + tmp, folder / KEY_TENSORS)
        os.replace(folder / (KEY_JSON + tmp), folder / KEY_JSON)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, check_stamp: bool = True) -> AnswerKey:
        folder = Path(folder)
        path = folder / KEY_JSON
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            tensors = load_file(str(folder / KEY_TENSORS))
        except FileNotFoundError as exc:
            raise KeyMismatch(f"no answer key at {folder} ({Path(exc.filename).name} is missing)") from None
        except (OSError, ValueError, struct.error) as exc:
            raise KeyMismatch(f"the answer key at {folder} cannot be read ({type(exc).__name__}: {exc})") from None
        key = cls(
            stamp=body.get("stamp", {}),
            entries=body.get("entries", {}),
            tensors=tensors,
            meta=body.get("meta", {}),
            origin=str(folder),
        )
        if check_stamp:
            key.check()
        return key

    def check(self) -> None:
        """Refuse a key built for other code (see the module docstring)."""
        here = stamp()
        differ = [k for k in sorted(set(here) | set(self.stamp)) if here.get(k) != self.stamp.get(k)]
        if differ:
            said = "; ".join(f"{k}: key {self.stamp.get(k)!r}, grader {here.get(k)!r}" for k in differ)
            raise KeyMismatch(
                f"the answer key at {self.origin or '?'} was built for another grader ({said}). "
                "Rebuild it with `divekit key build` from the same checkout (instructors), or "
                "install the grader that came with it (students: reinstall the pack)."
            )


def default_location() -> Path | None:
    """The key a grader finds by itself: ``$DIVEKIT_KEY``, else one installed beside the
    package (a student pack's grader carries its key as package data)."""
    env = os.environ.get("DIVEKIT_KEY", "").strip()
    if env:
        return Path(env).expanduser().absolute()
    bundled = _grader_root() / "answer_key"
    return bundled if (bundled / KEY_JSON).exists() else None
