"""Does a folder hold solution code? The check ``divekit pack`` runs on what it writes.

Every solution block of ``solutions/`` (between ``### BEGIN SOLUTION`` and ``### END
SOLUTION``) is reduced to normalised tokens: names become ``N`` (keywords, builtins,
library names and attribute names stay: they say what the code calls), numbers ``0``,
strings longer than a key or an answer ``S``, so that renaming variables or changing constants hides nothing. Each
is cut into shingles of :data:`SHINGLE` tokens and looked for in every function and class
of every Python file (and notebook code cell) under the folder, and in each file's code
outside them. A block of at least :data:`MIN_TOKENS` tokens with :data:`THRESHOLD` of its
shingles inside one such unit is a finding. Short blocks (``return X @ w + b``) are left
out: any code doing tensor arithmetic contains them, so they prove nothing either way.

A unit, not a whole file: a copy of a solution is a piece of code that does its job, so it
lives in one function; a long file collects every generic six-token run (``N = N . N ( N``)
somewhere, and a file-wide count would flag a 15-token block anywhere. The shared scanner
(``../shared/tools/leakscan.py``) counts whole files; tests/test_student_pack.py runs both.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

from .static import syntax_tree

SHINGLE = 6
MIN_TOKENS = 15
THRESHOLD = 0.6
_BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


@dataclass(frozen=True)
class Finding:
    block: str  # "<module>#<n>": the n-th solution block of solutions/<module>.py
    where: str  # the file, and the function when one function holds it
    share: float  # the share of the block's shingles found there

    def __str__(self) -> str:
        return f"{self.block} is {self.share:.0%} inside {self.where}"


# Names a copy cannot rename without changing what it does: libraries and builtins. Every
# other name (variables, parameters, the solution's own functions) becomes N; attribute
# names (``torch.cat``, ``.sum``) stay, since they say which routine does the work.
KEPT_NAMES = frozenset(
    "torch nn F math np functools itertools range len zip sum max min abs float int bool list tuple dict "
    "enumerate isinstance super print round sorted reversed".split()
)


def tokens(source: str) -> list[str]:
    out: list[str] = []
    try:
        for t in tokenize.generate_tokens(io.StringIO(source).readline):
            if t.type == tokenize.NAME:
                kept = keyword.iskeyword(t.string) or t.string in KEPT_NAMES or (out and out[-1] == ".")
                out.append(t.string if kept else "N")
            elif t.type == tokenize.NUMBER:
                out.append("0")
            elif t.type == tokenize.STRING:
                # Short strings are answers and keys ("B", "lr"); long ones are messages.
                out.append(t.string if len(t.string) <= 8 else "S")
            elif t.type == tokenize.OP:
                out.append(t.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def shingles(toks: list[str]) -> set[tuple[str, ...]]:
    return {tuple(toks[i : i + SHINGLE]) for i in range(len(toks) - SHINGLE + 1)}


def solution_blocks(solutions: Path) -> dict[str, set[tuple[str, ...]]]:
    found = {}
    for path in sorted(Path(solutions).glob("*.py")):
        for i, m in enumerate(_BLOCK.finditer(path.read_text(encoding="utf-8"))):
            toks = tokens("\n".join(line.strip() for line in m.group(1).splitlines()))
            if len(toks) >= MIN_TOKENS:
                found[f"{path.stem}#{i}"] = shingles(toks)
    return found


def _units(path: Path) -> list[tuple[str, str]]:
    """(where, source) for a file whole and for each function and class in it."""
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            return []
        text = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = syntax_tree(text)
    except SyntaxError:
        return [(str(path), text)]
    lines = text.splitlines()
    outside = set(range(len(lines)))
    units = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = (node.decorator_list[0] if node.decorator_list else node).lineno - 1
            own = set(range(first, node.end_lineno or first))
            outside -= own
            if isinstance(node, ast.ClassDef):  # its methods are units of their own
                for child in node.body:
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                        start = (child.decorator_list[0] if child.decorator_list else child).lineno - 1
                        own -= set(range(start, child.end_lineno or start))
            body = "\n".join(lines[i].strip() for i in sorted(own))
            units.append((f"{path}:{node.lineno} ({node.name})", body))
    units.append((f"{path} (module level)", "\n".join(lines[i].strip() for i in sorted(outside))))
    return units


def scan(solutions: Path, folder: Path) -> list[Finding]:
    """Every solution block found in ``folder`` (see the module docstring), worst first."""
    blocks = solution_blocks(solutions)
    findings: dict[str, Finding] = {}
    files = [p for p in sorted(Path(folder).rglob("*")) if p.suffix in (".py", ".ipynb") and p.is_file()]
    for path in files:
        for where, source in _units(path):
            have = shingles(tokens(source))
            for name, block in blocks.items():
                share = len(block & have) / len(block)
                if share >= THRESHOLD and (name not in findings or share > findings[name].share):
                    findings[name] = Finding(name, where, share)
    return sorted(findings.values(), key=lambda f: -f.share)
