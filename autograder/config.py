"""One frozen grading configuration: everything a grade depends on, built once.

The command line, ``grade-all``'s judge processes and the tests all describe a grading
run with a :class:`GradingConfig`. :meth:`GradingConfig.build` fills in every resolved
value once (the sandbox mode and why, the device, the data folder, the rubric in force),
so that nothing downstream reads the environment or decides again; nothing changes a
config afterwards. The progress callback is not configuration and travels beside it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .curriculum import Rubric, load_rubric
from .sandbox import Limits, choose_mode

SANDBOX_MODES = ("auto", "bwrap", "process")


def _doc(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


# torch sees a GPU only through its driver's device nodes (NVIDIA's, WSL's, ROCm's).
DRIVER_NODES = ("/dev/nvidiactl", "/proc/driver/nvidia/version", "/dev/dxg", "/dev/kfd")


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` or ``cpu``; asking for CUDA where there is none is an error.

    On a machine with no GPU driver at all ``auto`` is ``cpu`` without importing torch (2 s
    that the command line spends meanwhile starting the fork server, see cli.grade)."""
    if device == "auto" and not any(os.path.exists(node) for node in DRIVER_NODES):
        return "cpu"
    if device not in ("auto",) and not device.startswith("cuda"):
        return device  # cpu: nothing to ask torch
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA device here")
    return device


@dataclass(frozen=True)
class GradingConfig:
    """How one grading run goes. Construct with what is asked for; :meth:`build` resolves the rest."""

    solutions: str | None = _doc(None, "folder of reference solutions; None: the repository's solutions/")
    sandbox: str = _doc("auto", "worker isolation asked for: auto, bwrap or process")
    mode: str | None = _doc(None, "isolation chosen (bwrap or process); set by build()")
    mode_reason: str = _doc("", "why that isolation was chosen, as the report states it; set by build()")
    device: str = _doc("cpu", "where stubs and training run: cpu, cuda or auto (build() resolves auto)")
    training: bool = _doc(True, "run the training thresholds")
    examples: int = _doc(25, "hypothesis examples per property check")
    lanes: int = _doc(
        0,
        "modules graded at the same time (threads of the judge, each module with its own forked "
        "workers; the grades do not depend on it); 0: two on a machine with two cores or more",
    )
    reference_values: bool = _doc(
        True,
        "look up the values the checks take from the reference where its calibration run kept "
        "them (the reference cache) instead of computing them again; the grades do not depend on it",
    )
    limits: Limits = field(default_factory=Limits, metadata={"doc": "resource limits of every worker"})
    data: str | None = _doc(None, "dataset folder: --data, else $DIVEKIT_DATA, else the default cache (build())")
    fashion_mnist: str | None = _doc(
        None,
        "folder holding a Fashion-MNIST copy, read when the data folder has none: $DIVEKIT_FASHION_MNIST (build())",
    )
    rubric_file: str | None = _doc(None, "instructor's override of points and policy (--rubric); None: none")
    rubric: Rubric | None = _doc(
        None, "points and policy in force: the curriculum's with rubric_file applied (build())"
    )
    seed: str | None = _doc(
        None,
        "course secret seed (--seed, else $DIVEKIT_SEED; build()): every check draws other inputs "
        "than the public ones the student pack's answer key holds; '': the public seed",
    )
    key: str | None = _doc(
        None,
        "answer key folder to grade from instead of the solutions (--key); build() picks the key "
        "installed with the grader when there are no solutions (a student pack); '': none",
    )

    def __post_init__(self) -> None:
        if self.sandbox not in SANDBOX_MODES:
            raise ValueError(f"sandbox must be one of {', '.join(SANDBOX_MODES)}, not {self.sandbox!r}")
        if self.examples < 1:
            raise ValueError(f"examples must be at least 1, not {self.examples}")
        if self.lanes < 0:
            raise ValueError(f"lanes must be 0 (automatic) or more, not {self.lanes}")

    def module_lanes(self, cores: int | None = None) -> int:
        """How many modules are graded at once, by a judge that has ``cores`` (default: this
        machine's): while one lane waits on a worker that computes (a training run above all),
        the other keeps the judge busy; more add little, since the lanes share the judge's one
        Python lock, which its own work (hypothesis above all) nearly fills."""
        cores = cores if cores is not None else os.cpu_count() or 1
        return self.lanes or (2 if cores >= 2 else 1)

    @classmethod
    def build(cls, *, timeout: float | None = None, rubric: str | None = None, **asked: Any) -> GradingConfig:
        """A built config from what the command line asks for (``timeout``: seconds per call into student code).

        Raises ``ValueError`` for a bad rubric file or device, ``RuntimeError`` for a sandbox that cannot be had.
        """
        limits = asked.pop("limits", None) or Limits()
        if timeout is not None:
            limits = replace(limits, call_seconds=timeout)
        return cls(limits=limits, rubric_file=rubric, **asked).built()

    @property
    def is_built(self) -> bool:
        return (
            self.mode is not None
            and self.data is not None
            and self.fashion_mnist is not None
            and self.rubric is not None
            and self.seed is not None
            and self.key is not None
        )

    @property
    def from_key(self) -> bool:
        """Whether reference values come from an answer key (no solutions here)."""
        return bool(self.key)

    @property
    def seed_fingerprint(self) -> str:
        """What a report says of the seed: "public", or a fingerprint of the secret (never the secret)."""
        import hashlib

        return "public" if not self.seed else "sha256:" + hashlib.sha256(self.seed.encode()).hexdigest()[:12]

    def built(self) -> GradingConfig:
        """This config with every resolved value filled in; a built one is returned as it is."""
        from . import data

        if self.is_built:
            return self
        changes: dict[str, Any] = {}
        if self.mode is None:
            changes["mode"], changes["mode_reason"] = choose_mode(self.sandbox)
        if self.device != (device := resolve_device(self.device)):
            changes["device"] = device
        if self.data is None:
            changes["data"] = str(data.data_root())  # reads $DIVEKIT_DATA, here and only here
        if self.fashion_mnist is None:
            changes["fashion_mnist"] = os.environ.get(data.FASHION_ENV_VAR, "").strip()  # "": none
        if self.rubric is None:
            changes["rubric"] = load_rubric(self.rubric_file)
        seed = self.seed if self.seed is not None else os.environ.get("DIVEKIT_SEED", "").strip()
        changes["seed"] = seed
        if self.key is None:
            changes["key"] = self._default_key()
        if (changes.get("key", self.key)) and seed:
            raise ValueError(
                "a course secret seed needs the solutions: the answer key holds only the public "
                "seed's values (grade with the instructor's checkout, or without --seed/DIVEKIT_SEED)"
            )
        return replace(self, **changes)

    def _default_key(self) -> str:
        """The key installed with the grader, where there are no solutions to grade with."""
        from .reference import DEFAULT_SOLUTIONS

        solutions = Path(self.solutions) if self.solutions else DEFAULT_SOLUTIONS
        if solutions.is_dir():
            return ""
        from .framework import answer_key  # imports torch: only where there are no solutions

        found = answer_key.default_location()
        return str(found) if found else ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON) for a judge process; the rubric travels as its file and is read again there."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rubric"}
        out["limits"] = asdict(self.limits)
        return out

    @classmethod
    def from_dict(cls, plain: dict[str, Any]) -> GradingConfig:
        """The config :meth:`to_dict` describes, built (the sandbox mode it names is not probed again)."""
        return cls(**dict(plain, limits=Limits(**plain["limits"]))).built()

    @classmethod
    def describe(cls) -> dict[str, str]:
        """Every field with its one-line description (for documentation and ``--help`` texts)."""
        return {f.name: f.metadata["doc"] for f in fields(cls)}
