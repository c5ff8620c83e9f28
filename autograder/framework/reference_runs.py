"""Reference runs for training thresholds, cached per probe, settings, device and code.

The reference is trained by the very probe the student's worker runs, in the judge's
process, with the same seed and budget. Its results are cached on disk (``$DIVEKIT_CACHE``,
else ``datasets/cache/reference-cache`` in a checkout, else ``~/.cache/divekit``; never
the data folder, which may be read-only) keyed by everything that could change them: the probe and
its arguments, the dataset fingerprint passed in those arguments, the device (its model on
CUDA, its vector instructions on CPU: ``device_identity``), the torch
version and the source of the reference module and of the probe.

Beside them: each module's calibrated call times (``call_times``) and the values its checks
took from the reference on that calibration run (``values_folder``), which later gradings
look up instead of computing.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import shutil
import threading
import types
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..worker.protocol import decode, encode
from . import probe_sources
from .answer_key import AnswerKey, KeyMismatch, stamp


def device_identity(device: str) -> list[str]:
    """What, besides the code, decides a run's rounding on ``device``: on CUDA the GPU's
    model (TF32 and cuDNN's kernels differ by architecture) and cuDNN's version; on CPU the
    vector instructions torch's kernels use (AVX2 and AVX-512 sum in other orders)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return [device, torch.cuda.get_device_name(torch.device(device)), str(torch.backends.cudnn.version())]
    return [device, torch.backends.cpu.get_cpu_capability()]


def _key(probe: str, reference: types.ModuleType, args, kwargs, device: str) -> str:
    tensors: dict = {}
    spec = json.dumps(
        [probe, encode(list(args), tensors), encode(kwargs, tensors), device_identity(device), torch.__version__],
        sort_keys=True,
    )
    h = hashlib.sha256(spec.encode())
    for name in sorted(tensors):
        h.update(
            tensors[name].numpy().tobytes()
            if tensors[name].dtype != torch.bfloat16
            else tensors[name].float().numpy().tobytes()
        )
    # A reference derived from the solution (another right network) is named for what
    # differs; its source file is the solution's.
    h.update(reference.__name__.encode())
    h.update(inspect.getsource(reference).encode())
    # The probe's module and every probe module it imports (the worker's helpers): an edit
    # to any of them can change the run.
    for name in probe_sources.closure(probe.partition(".")[0]):
        h.update(name.encode())
        h.update((probe_sources.source(name) or "").encode())
    return h.hexdigest()[:24]


def cache_dir() -> Path:
    env = os.environ.get("DIVEKIT_CACHE", "").strip()
    if env:
        return Path(env).expanduser().absolute()
    repo_cache = Path(__file__).resolve().parents[2] / "datasets"
    if repo_cache.is_dir():
        return repo_cache / "cache" / "reference-cache"
    home = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    return home / "divekit" / "reference-cache"


def reference_run(
    probe: str, reference: types.ModuleType, *args, device: str = "cpu", use_cache: bool = True, **kwargs
):
    """Run ``probe`` on the reference module (cached); returns the probe's value."""
    key = _key(probe, reference, args, kwargs, device)
    folder = cache_dir()
    meta_path, tensor_path = folder / f"{key}.json", folder / f"{key}.safetensors"
    if use_cache and meta_path.exists():
        try:
            tensors = load_file(tensor_path) if tensor_path.exists() else {}
            return decode(json.loads(meta_path.read_text()), tensors)
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
            pass
    torch.manual_seed(0)
    value = probe_sources.find(probe)(reference, *args, **kwargs)
    tensors: dict = {}
    write_entry(meta_path, tensor_path, encode(value, tensors), tensors)
    return value


def write_entry(meta_path: Path, tensor_path: Path, data, tensors: dict) -> None:
    """One cache entry: ``data`` as JSON, its tensors (if any) as safetensors beside it.
    Written under temporary names and renamed, because parallel graders (and two lanes of
    one) may write one key at once; an unwritable cache only costs the recomputation."""
    suffix = f".{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        if tensors:
            save_file(tensors, str(tensor_path) + suffix)
            os.replace(str(tensor_path) + suffix, tensor_path)
        Path(str(meta_path) + suffix).write_text(json.dumps(data))
        os.replace(str(meta_path) + suffix, meta_path)
    except OSError:
        pass


def _module_digest(spec: list, module: str, reference: types.ModuleType, checks: list) -> str:
    """``spec`` and the code a module's checks run: the reference, the checks' modules and
    the probes the module's worker imports."""
    h = hashlib.sha256(json.dumps(spec).encode())
    h.update(inspect.getsource(reference).encode())
    for text in sorted({inspect.getsource(inspect.getmodule(c.fn)) for c in checks}):
        h.update(text.encode())
    for name in probe_sources.closure(module):
        h.update((probe_sources.source(name) or "").encode())
    return h.hexdigest()[:24]


def call_times(
    module: str,
    reference: types.ModuleType,
    checks: list,
    device: str,
    examples: int,
    measure,
    use_cache: bool = True,
) -> dict[str, dict[str, float]]:
    """The reference's seconds per call target, for each check of ``checks`` (keyed
    ``"stub: title"``), from which each call's time limit is calibrated.

    Measured by ``measure(stubs)``, which grades the reference solution's ``stubs`` as if
    it were a submission, in the same sandbox, and returns what each check's calls took
    in the worker; cached like the reference runs, keyed by everything that could change
    the figures (the reference, the checks and probes, the device, torch, the examples).
    With ``measure=None``, only the figures already cached (to plan with, never to limit).
    """
    digest = _module_digest([module, device, examples, torch.__version__], module, reference, checks)
    path = cache_dir() / f"call-times-{module}-{digest}.json"
    known: dict[str, dict[str, float]] = {}
    if use_cache and path.exists():
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}
    missing = sorted({c.stub for c in checks if f"{c.stub}: {c.title}" not in known})
    if missing and measure is not None:
        known.update(measure(missing))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(f"{path}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known, sort_keys=True))
            os.replace(tmp, path)
        except OSError:
            pass  # an unwritable cache only costs the measurement
    return known


# -- the reference's values --------------------------------------------------------------
# The values a module's checks take from the reference (Ctx.expected), recorded while the
# reference is graded to calibrate the call limits, as an answer key (framework/answer_key.py)
# kept in the cache. A grading looks each value up there instead of computing it again (a
# third of the judge's CPU time per submission, docs/grading-time.md); one it does not find
# (another seed's input, say), it computes.
_VALUES: dict[Path, AnswerKey] = {}
_VALUES_LOCK = threading.Lock()


@functools.cache
def _grader_stamp() -> str:
    """The grader's own code and curriculum (answer_key.stamp), as this process loaded it."""
    return json.dumps(stamp(), sort_keys=True)


def values_folder(
    module: str, reference: types.ModuleType, checks: list, device: str, examples: int, settings: list, also: str
) -> Path:
    """Where the reference's values for ``module`` are kept: named by everything they depend
    on (the code of the reference, the checks, the probes and the framework, ``also``: the
    module's known mistakes, torch, and the device down to its vector instructions, which
    change float rounding) and by the grading's ``settings`` that decide which values its
    checks ask for (the seed, training)."""
    also_digest = hashlib.sha256(also.encode()).hexdigest()
    spec = [module, device_identity(device), examples, torch.__version__, _grader_stamp(), settings, also_digest]
    return cache_dir() / f"values-{module}-{_module_digest(spec, module, reference, checks)}"


def cached_values(folder: Path) -> AnswerKey | None:
    """The values kept in ``folder`` (read once per process), or None: not there or unreadable."""
    with _VALUES_LOCK:
        if folder in _VALUES:
            return _VALUES[folder]
    try:
        key = AnswerKey.load(folder, check_stamp=False)  # the folder's name is the stamp
    except KeyMismatch:
        return None
    with _VALUES_LOCK:
        return _VALUES.setdefault(folder, key)


def keep_values(folder: Path, key: AnswerKey) -> None:
    """Keep ``key`` in ``folder`` (and in this process, even where the cache is not
    writable): written beside it and renamed into place, so that a judge reading it
    meanwhile sees all of it or nothing; another judge's copy, there first, stays."""
    with _VALUES_LOCK:
        _VALUES.setdefault(folder, key)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        key.save(tmp)
        os.rename(tmp, folder)
    except OSError:
        pass  # there already, or an unwritable cache: the values are computed as before
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
