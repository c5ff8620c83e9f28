"""Typed results of the worker's generic operations, shared by both sides.

A worker operation returns one of these dataclasses; the protocol carries it tagged with
its class name and the judge rebuilds the same class, so a check reads ``info.parameters``
rather than ``info["parameters"]``. Only the classes in :data:`RECORDS` cross the wire, and
the judge builds them from plain decoded values: nothing the student built ever arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Named:
    """A submodule: its dotted name and its type's name."""

    name: str
    type: str


@dataclass
class ParameterInfo:
    name: str
    shape: list[int]
    dtype: str
    requires_grad: bool


@dataclass
class BufferInfo:
    name: str
    shape: list[int]
    dtype: str


@dataclass
class ModuleInfo:
    """The structure of a module the student built (``describe``)."""

    type: str
    training: bool
    parameters: list[ParameterInfo]
    buffers: list[BufferInfo]
    children: list[Named]
    modules: list[Named]  # every submodule, nested ones with dotted names
    repr: str


@dataclass
class Loaded:
    """How the reference's state_dict went into a student's module (``networks.load``)."""

    how: str  # "names", "order" or "failed"
    problems: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    shapes: list[list[int]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


@dataclass
class LayerShape:
    """One module's input and output shapes during a forward pass (``networks.shapes``)."""

    name: str
    type: str
    input: list[int] | None
    output: list[int] | None


@dataclass
class Shapes:
    layers: list[LayerShape]
    output: list[int] | None


@dataclass
class TrainingRun:
    """Test accuracy and mean training loss after each epoch (``networks.train``)."""

    acc: list[float]
    loss: list[float]


RECORDS: dict[str, type] = {
    cls.__name__: cls for cls in (Named, ParameterInfo, BufferInfo, ModuleInfo, Loaded, LayerShape, Shapes, TrainingRun)
}
