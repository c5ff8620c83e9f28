"""The wire format between the judge and a worker.

A message is a JSON header plus an optional safetensors payload, each prefixed with its
length.  Nothing here is pickle: the judge rebuilds every value it receives from JSON
(numbers, strings, lists, dicts) and from safetensors bytes (plain dense tensors), so no
object the student built ever reaches the judge, whatever it claims to be.

This file is shared by both sides and imports nothing from the judge: a worker runs it
from a private copy inside its sandbox.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .records import RECORDS

HEADER = struct.Struct(">IQ")  # JSON length, payload length
MAX_JSON = 16 * 1024 * 1024
MAX_PAYLOAD = 1024 * 1024 * 1024


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


class Handle:
    """A reference to an object that stays inside the worker (a module, a generator)."""

    def __init__(self, ident: int, type_name: str):
        self.ident = ident
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} #{self.ident} in the worker>"


class Param:
    """A leaf tensor that should arrive with ``requires_grad`` and, optionally, a ``.grad``."""

    def __init__(self, data: torch.Tensor, grad: torch.Tensor | None = None):
        self.data = data
        self.grad = grad


class Seeded:
    """A ``torch.Generator`` seeded with ``seed``, built on arrival (generators are not data)."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"torch.Generator().manual_seed({self.seed})"


@dataclasses.dataclass(frozen=True)
class TensorMeta:
    """What a tensor was in the worker, beyond its numbers (which arrive as a plain CPU tensor)."""

    requires_grad: bool
    grad_fn: bool  # it had autograd history
    device: str


class Unencodable:
    """What a value the wire cannot carry turns into: its type and a short repr."""

    def __init__(self, type_name: str, text: str):
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<unencodable {self.type_name}: {self.text}>"


def _plain(t: torch.Tensor) -> torch.Tensor:
    # A tensor subclass is flattened to its data: only numbers cross the wire.
    t = t.detach()
    if type(t) is not torch.Tensor:
        t = torch.Tensor._make_subclass(torch.Tensor, t) if not t.is_sparse else t.to_dense()
    return t.cpu().contiguous().clone()


def tree_map(fn: Callable[[Any], Any], value: Any) -> Any:
    """Apply ``fn`` to every leaf of nested lists, tuples and dicts (the shapes a request's
    arguments and a stub's results take), keeping the containers' types."""
    if isinstance(value, list):
        return [tree_map(fn, v) for v in value]
    if isinstance(value, tuple):
        return tuple(tree_map(fn, v) for v in value)
    if isinstance(value, dict):
        return {k: tree_map(fn, v) for k, v in value.items()}
    return fn(value)


def encode(value: Any, tensors: dict[str, torch.Tensor], keep=None) -> Any:
    """Turn ``value`` into JSON-able data, moving tensors into ``tensors``.

    ``keep`` is called with objects the wire cannot carry; it returns a Handle or None.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"__float__": repr(float(value))}
    if isinstance(value, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = _plain(value)
        return {
            "__tensor__": key,
            "requires_grad": bool(value.requires_grad),
            "grad_fn": value.grad_fn is not None,
            "device": str(value.device),
        }
    if isinstance(value, Param):
        return {"__param__": encode(value.data, tensors), "grad": encode(value.grad, tensors)}
    if isinstance(value, Handle):
        return {"__handle__": value.ident, "type": value.type_name}
    if isinstance(value, Seeded):
        return {"__generator__": value.seed}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, tensors, keep) for v in value]}
    if isinstance(value, list):
        return [encode(v, tensors, keep) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, tensors, keep) for k, v in value.items()}}
    if dataclasses.is_dataclass(value) and RECORDS.get(type(value).__name__) is type(value):
        fields = {f.name: encode(getattr(value, f.name), tensors, keep) for f in dataclasses.fields(value)}
        return {"__record__": type(value).__name__, "fields": fields}
    # numpy scalars and 0-d arrays behave like numbers for the student; say what they were.
    type_name = f"{type(value).__module__}.{type(value).__qualname__}"
    if keep is not None:
        handle = keep(value)
        if handle is not None:
            return encode(handle, tensors)
    try:
        text = repr(value)[:200]
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not break the worker
        text = "<repr failed>"
    return {"__unencodable__": type_name, "repr": text}


MAX_DEPTH = 64  # nesting of lists/tuples/dicts in one value


def decode(data: Any, tensors: dict[str, torch.Tensor], resolve=None, meta: dict | None = None) -> Any:
    """Inverse of :func:`encode`; ``resolve`` maps a handle id back to its object, and
    ``meta``, when given, receives the :class:`TensorMeta` of every tensor in the value
    (nested ones too), keyed by ``id()`` of the decoded tensor.

    Builds only plain values: None, bools, ints, floats, strings, lists, tuples, dicts
    with string keys, plain dense ``torch.Tensor`` objects from the safetensors payload,
    and the wire markers of this module. Anything else, or anything malformed, raises
    :class:`ProtocolError`.
    """
    try:
        return _decode(data, tensors, resolve, 0, meta)
    except ProtocolError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
        raise ProtocolError(f"malformed value on the wire ({type(exc).__name__})") from None


def _decode(data: Any, tensors: dict[str, torch.Tensor], resolve, depth: int, meta: dict | None = None) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError(f"value nested deeper than {MAX_DEPTH} levels")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [_decode(v, tensors, resolve, depth + 1, meta) for v in data]
    if type(data) is not dict or len(data) == 0:
        raise ProtocolError(f"unexpected value on the wire: {type(data).__name__}")
    if "__tensor__" in data:
        key = data["__tensor__"]
        t = tensors.get(key) if isinstance(key, str) else None
        if type(t) is not torch.Tensor:
            raise ProtocolError(f"missing tensor {key!r} in payload")
        if meta is not None:
            meta[id(t)] = TensorMeta(
                bool(data.get("requires_grad")), bool(data.get("grad_fn")), str(data.get("device"))
            )
        return t
    if "__float__" in data:
        text = data["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise ProtocolError(f"bad float {text!r}")
        return float(text)
    if "__param__" in data:
        return Param(
            _decode(data["__param__"], tensors, None, depth + 1), _decode(data.get("grad"), tensors, None, depth + 1)
        )
    if "__handle__" in data:
        ident = data["__handle__"]
        if type(ident) is not int:
            raise ProtocolError("bad handle")
        if resolve is not None:
            return resolve(ident)
        return Handle(ident, str(data.get("type", "object"))[:200])
    if "__generator__" in data:
        if type(data["__generator__"]) is not int:
            raise ProtocolError("bad generator seed")
        return torch.Generator().manual_seed(data["__generator__"])
    if "__tuple__" in data:
        items = data["__tuple__"]
        if type(items) is not list:
            raise ProtocolError("bad tuple")
        return tuple(_decode(v, tensors, resolve, depth + 1, meta) for v in items)
    if "__dict__" in data:
        items = data["__dict__"]
        if type(items) is not dict:
            raise ProtocolError("bad dict")
        return {str(k): _decode(v, tensors, resolve, depth + 1, meta) for k, v in items.items()}
    if "__record__" in data:
        cls = RECORDS.get(data["__record__"]) if isinstance(data["__record__"], str) else None
        fields = data.get("fields")
        if cls is None or type(fields) is not dict:
            raise ProtocolError("bad record")
        if set(fields) != {f.name for f in dataclasses.fields(cls)}:
            raise ProtocolError(f"bad fields for a {cls.__name__}")
        return cls(**{k: _decode(v, tensors, resolve, depth + 1, meta) for k, v in fields.items()})
    if "__unencodable__" in data:
        return Unencodable(str(data["__unencodable__"])[:200], str(data.get("repr", ""))[:200])
    raise ProtocolError(f"unknown tagged value {sorted(data)[:3]}")


def write_message(stream: BinaryIO, header: dict, tensors: dict[str, torch.Tensor]) -> None:
    body = json.dumps(header, allow_nan=False).encode()
    payload = st_save(tensors) if tensors else b""
    stream.write(HEADER.pack(len(body), len(payload)))
    stream.write(body)
    stream.write(payload)
    stream.flush()


def parse_message(body: bytes, payload: bytes) -> tuple[dict, dict[str, torch.Tensor]]:
    try:
        header = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"header is not JSON: {type(exc).__name__}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    tensors: dict[str, torch.Tensor] = {}
    if payload:
        try:
            tensors = st_load(payload)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the sender's fault
            raise ProtocolError(f"payload is not safetensors: {exc}") from None
        if not all(type(t) is torch.Tensor and t.layout == torch.strided for t in tensors.values()):
            raise ProtocolError("payload holds something other than plain dense tensors")
    return header, tensors


def read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> tuple[dict, dict[str, torch.Tensor]]:
    n_json, n_payload = HEADER.unpack(read_exact(stream, HEADER.size))
    if n_json > MAX_JSON or n_payload > MAX_PAYLOAD:
        raise ProtocolError(f"message too large ({n_json} + {n_payload} bytes)")
    return parse_message(read_exact(stream, n_json), read_exact(stream, n_payload))
