"""Building a submission from the reference with one stub replaced, and grading it."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from autograder.config import GradingConfig
from autograder.grading import grade
from autograder.report import Report

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Variant:
    stub: str  # name of the stub it replaces
    name: str  # what the mistake (or the alternative) is called
    code: str  # the replacement definition(s), at module level
    expect: str = ""  # for WRONG: text the failing feedback must contain (case-insensitive)
    extra_imports: str = ""
    # GradingConfig fields for this variant, e.g. {"training": False} for one that is not about
    # training (keeps the suite quick); explicit grade_variant options override these.
    options: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.stub}-{self.name}".replace(" ", "_")


def replace_stub(source: str, stub: str, code: str, extra_imports: str = "") -> str:
    """The module source with the top-level definition of ``stub`` replaced by ``code``."""
    tree = ast.parse(source)
    lines = source.splitlines()
    for node in tree.body:
        name = getattr(node, "name", None)
        if name is None and isinstance(node, ast.Assign):
            name = next((t.id for t in node.targets if isinstance(t, ast.Name)), None)
        if name == stub:
            start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
            new = lines[:start] + textwrap.dedent(code).strip("\n").splitlines() + lines[node.end_lineno :]
            text = "\n".join(new) + "\n"
            return (extra_imports.strip() + "\n" + text) if extra_imports else text
    raise KeyError(f"{stub} is not defined at the top level")


def write_submission(tmp: Path, module: str, text: str) -> Path:
    folder = tmp / "submission"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(text, encoding="utf-8")
    return folder


def grade_variant(tmp: Path, module: str, variant: Variant, **options) -> Report:
    """Grade the reference with ``variant`` in place of its stub, on that stub alone, under
    a real grade's settings (GradingConfig's defaults: example count, sandbox "auto") unless
    the variant or the caller sets options."""
    source = (REPO / "solutions" / f"{module}.py").read_text(encoding="utf-8")
    text = replace_stub(source, variant.stub, variant.code, variant.extra_imports)
    folder = write_submission(tmp, module, text)
    return grade(str(folder), [f"{module}.{variant.stub}"], GradingConfig(**{**variant.options, **options}))


def feedback(report: Report) -> str:
    """What the failing tests said, without their titles: a phrase found here shows that a
    detector fired, not merely that a test about it exists."""
    return "\n".join(t.output for t in report.tests if t.status != "passed")
