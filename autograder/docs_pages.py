"""The docs site's per-module pages, generated from the curriculum at build time.

Each module gets one page: its title, task and book section and points from
``course/curriculum.toml``, the module's contract section copied from
``../shared/CURRICULUM.md`` (when that file is beside the repository), and the task text:
the module's and each stub's docstring. Docstrings are read from ``exercises/`` (the
files ``divekit release`` writes from ``solutions/``, docstrings unchanged), with ``ast``,
so no code of a solution can reach a page. Nothing here is hand-copied: edit the
curriculum or a docstring and the page follows on the next ``mkdocs build``.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import curriculum
from .points import show
from .reference import REPO
from .static import syntax_tree

# The contract beside the repository (a worktree elsewhere names it with $DIVEKIT_CONTRACT).
CONTRACT = Path(os.environ.get("DIVEKIT_CONTRACT") or REPO.parent / "shared" / "CURRICULUM.md")
EXERCISES = REPO / "exercises"
FOLDER = "modules"  # the pages' folder inside the site


@dataclass(frozen=True)
class ModulePage:
    module: str
    title: str
    path: str  # relative to the docs folder, e.g. "modules/mlp.md"
    text: str


def docstrings(source: Path) -> tuple[str, dict[str, str]]:
    """The module's docstring and each top-level function's or class's, by name."""
    try:
        tree = syntax_tree(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return "", {}
    found = {
        node.name: ast.get_docstring(node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    return ast.get_docstring(tree) or "", found


def contract_sections(path: Path = CONTRACT) -> dict[str, str]:
    """``## <module> ...`` sections of the contract, by module name, heading left out."""
    if not path.exists():
        return {}
    sections: dict[str, str] = {}
    name, lines = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            if name:
                sections[name] = "\n".join(lines).strip()
            name, lines = line[3:].split()[0], []
        elif name:
            lines.append(line)
    if name:
        sections[name] = "\n".join(lines).strip()
    return sections


def markdown_of_docstring(text: str) -> str:
    """reStructuredText's ``literal`` becomes Markdown's `literal`; a table or list keeps
    its blank line before it, as Markdown needs."""
    text = re.sub(r"``(.+?)``", r"`\1`", text)
    out: list[str] = []
    for line in text.splitlines():
        starts_list = line.lstrip().startswith(("* ", "- ")) and not line.startswith(" ")
        if starts_list and out and out[-1].strip() and not out[-1].lstrip().startswith(("* ", "- ")):
            out.append("")
        out.append(line)
    return "\n".join(out)


def _contract_block(section: str) -> str:
    # The contract's tables follow a line of prose directly; Markdown wants a blank line.
    return re.sub(r"([^\n|])\n\|", r"\1\n\n|", section)


def module_page(m: curriculum.Module, rubric: curriculum.Rubric, contract: dict[str, str]) -> ModulePage:
    about, stub_docs = docstrings(EXERCISES / m.filename)
    total = sum(rubric.stub_points(s.id) for s in m.stubs)
    lines = [
        f"# {m.title}",
        "",
        f"`exercises/{m.filename}` · {m.task} · book section {m.book or '-'} · {show(total)} points",
        "",
        f"Grade it with `divekit check {m.name}`; each stub alone with `divekit check {m.name}.STUB`.",
        "",
        "## The task",
        "",
        markdown_of_docstring(about) or "(no module docstring)",
        "",
        "## Stubs",
        "",
        "| stub | signature | points | from scratch |",
        "|---|---|---|---|",
    ]
    for s in m.stubs:
        signature = f"`{s.signature}`" if s.signature else "(a module-level value)"
        scratch = "not: " + ", ".join(f"`{f}`" for f in s.forbidden) if s.forbidden else ""
        lines.append(
            f"| [`{s.name}`](#{s.name.lower()}) | {signature} | {show(rubric.stub_points(s.id))} | {scratch} |"
        )
    if m.name in contract:
        lines += ["", "## The contract", "", "As `CURRICULUM.md` states it:", "", _contract_block(contract[m.name])]
    for s in m.stubs:
        lines += ["", f"## `{s.name}` {{#{s.name.lower()}}}", ""]
        if s.signature:
            lines += ["```python", f"{'class' if s.name[:1].isupper() else 'def'} {s.name}{s.signature}", "```", ""]
        lines.append(markdown_of_docstring(stub_docs.get(s.name, "")) or "(see the task above)")
    return ModulePage(m.name, m.title, f"{FOLDER}/{m.name}.md", "\n".join(lines).rstrip() + "\n")


def index_page(pages: list[ModulePage]) -> str:
    lines = [
        "# Modules",
        "",
        "One page per module of the curriculum, in the order students meet them.",
        "",
        "| module | task | book | stubs | points |",
        "|---|---|---|---|---|",
    ]
    rubric = curriculum.load_rubric()
    for m in curriculum.modules():
        total = sum(rubric.stub_points(s.id) for s in m.stubs)
        lines.append(f"| [{m.title}]({m.name}.md) | {m.task} | {m.book or '-'} | {len(m.stubs)} | {show(total)} |")
    return "\n".join(lines) + "\n"


def pages() -> list[ModulePage]:
    """Every module's page, in curriculum order."""
    rubric = curriculum.load_rubric()
    contract = contract_sections()
    return [module_page(m, rubric, contract) for m in curriculum.modules()]
