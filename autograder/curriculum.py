"""The curriculum (modules and stubs, in order) and the rubric (points per stub)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Stub:
    module: str
    name: str
    signature: str | None
    kind: str = "callable"  # "callable" (function or class) or "value"
    hint: str = ""
    forbidden: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class Module:
    name: str
    task: str
    title: str
    book: str
    stubs: tuple[Stub, ...] = field(default=())

    @property
    def filename(self) -> str:
        return f"{self.name}.py"


@cache
def modules() -> tuple[Module, ...]:
    data = tomllib.loads((HERE / "curriculum.toml").read_text(encoding="utf-8"))
    result = []
    for m in data["module"]:
        stubs = tuple(
            Stub(
                module=m["name"],
                name=s["name"],
                signature=s.get("signature"),
                kind=s.get("kind", "callable"),
                hint=s.get("hint", ""),
                forbidden=tuple(s.get("forbidden", ())),
            )
            for s in m.get("stub", ())
        )
        result.append(Module(m["name"], m["task"], m["title"], m.get("book", ""), stubs))
    return tuple(result)


def module(name: str) -> Module:
    for m in modules():
        if m.name == name:
            return m
    raise KeyError(name)


def all_stubs() -> list[Stub]:
    return [s for m in modules() for s in m.stubs]


def select(names: list[str] | tuple[str, ...] | None) -> dict[str, list[Stub]]:
    """Resolve ``--only`` names (modules, stub ids, or task names) to stubs per module.

    Raises ``KeyError`` naming what matched nothing.
    """
    chosen: dict[str, list[Stub]] = {}
    if not names:
        return {m.name: list(m.stubs) for m in modules()}
    for name in names:
        hits = [
            s
            for s in all_stubs()
            if name in (s.module, s.id)
            or name.lower().replace(" ", "") == module(s.module).task.lower().replace(" ", "")
        ]
        if not hits:
            raise KeyError(name)
        for s in hits:
            bucket = chosen.setdefault(s.module, [])
            if s not in bucket:
                bucket.append(s)
    order = [m.name for m in modules()]
    return {
        k: sorted(v, key=lambda s: list(module(k).stubs).index(s))
        for k, v in sorted(chosen.items(), key=lambda kv: order.index(kv[0]))
    }


@dataclass(frozen=True)
class Rubric:
    points: dict[str, float]
    default_points: float = 1.0
    from_scratch_share: float = 0.5
    visibility: str = "visible"

    def stub_points(self, stub_id: str) -> float:
        return float(self.points.get(stub_id, self.default_points))


def load_rubric(path: str | Path | None = None) -> Rubric:
    path = Path(path) if path else HERE / "rubric.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the rubric {path}: {exc}") from None
    policy = data.get("policy", {})
    points = {str(k): float(v) for k, v in data.get("points", {}).items()}
    known = {s.id for s in all_stubs()}
    unknown = sorted(set(points) - known)
    if unknown:
        raise ValueError(f"the rubric {path} names stubs that do not exist: {', '.join(unknown)}")
    if any(v < 0 for v in points.values()):
        raise ValueError(f"the rubric {path} gives negative points")
    return Rubric(
        points=points,
        default_points=float(policy.get("default_points", 1.0)),
        from_scratch_share=float(policy.get("from_scratch_share", 0.5)),
        visibility=str(policy.get("visibility", "visible")),
    )
