"""Reference runs for training thresholds, cached per probe, settings, device and code.

The reference is trained by the very probe the student's worker runs, in the judge's
process, with the same seed and budget. Its results are cached on disk (under the data
root's ``reference-cache/``) keyed by everything that could change them: the probe and
its arguments, the dataset fingerprint passed in those arguments, the device, the torch
version and the source of the reference module and of the probe.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import types
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from . import data
from .worker import probes
from .worker.protocol import decode, encode


def _key(probe: str, reference: types.ModuleType, args, kwargs, device: str) -> str:
    tensors: dict = {}
    spec = json.dumps([probe, encode(list(args), tensors), encode(kwargs, tensors), device,
                       torch.__version__], sort_keys=True)
    h = hashlib.sha256(spec.encode())
    for name in sorted(tensors):
        h.update(tensors[name].numpy().tobytes() if tensors[name].dtype != torch.bfloat16
                 else tensors[name].float().numpy().tobytes())
    h.update(inspect.getsource(reference).encode())
    h.update(inspect.getsource(inspect.getmodule(probes.find(probe))).encode())
    return h.hexdigest()[:24]


def cache_dir(root: str | None = None) -> Path:
    return data.data_root(root) / "reference-cache"


def reference_run(probe: str, reference: types.ModuleType, *args, device: str = "cpu",
                  cache_root: str | None = None, use_cache: bool = True, **kwargs):
    """Run ``probe`` on the reference module (cached); returns the probe's value."""
    key = _key(probe, reference, args, kwargs, device)
    folder = cache_dir(cache_root)
    meta_path, tensor_path = folder / f"{key}.json", folder / f"{key}.safetensors"
    if use_cache and meta_path.exists():
        try:
            tensors = load_file(tensor_path) if tensor_path.exists() else {}
            return decode(json.loads(meta_path.read_text()), tensors)
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
            pass
    torch.manual_seed(0)
    value = probes.find(probe)(reference, *args, **kwargs)
    tensors: dict = {}
    encoded = encode(value, tensors)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if tensors:
            save_file(tensors, tensor_path)
        meta_path.write_text(json.dumps(encoded))
    except OSError:
        pass  # a read-only data root only costs the cache
    return value
