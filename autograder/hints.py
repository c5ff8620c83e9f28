"""Graded hints: each stub's hints in the student's language, and which of them a student has seen.

A stub's hints (``hints = [...]`` in ``course/curriculum.toml``) go from the idea of the
book section to the shape of the code, never the answer. ``divekit hint STUB`` reveals one
more each time it is asked and remembers it in ``<exercises>/.divekit/hints.json``, so that
``divekit check`` and ``divekit watch`` show the hints revealed so far, not all at once.
The Chinese text is one table, ``course/locale/zh/hints.toml`` (stub id -> the same number
of hints, in the same order).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from . import curriculum
from .curriculum import Stub
from .tomlschema import Key, SchemaError, Table, load

LANGUAGES = ("en", "zh")
LOCALE = Path(__file__).resolve().parent / "course" / "locale"
ZH_TABLE = LOCALE / "zh" / "hints.toml"
STATE = Path(".divekit") / "hints.json"
TABLE_SCHEMA = Table(values=Key(list, "a stub's hints, translated, in the English order", items=str))


def language(asked: str | None = None) -> str:
    """``asked`` (``--lang``), else the language in force (autograder/i18n.py: --lang,
    $DIVEKIT_LANG, then the POSIX locale)."""
    from . import i18n

    return asked or i18n.current()


@cache
def translated(lang: str) -> dict[str, tuple[str, ...]]:
    """The hints table of ``lang`` (empty for English, whose hints are the curriculum's own)."""
    if lang == "en":
        return {}
    data = load(LOCALE / lang / "hints.toml", TABLE_SCHEMA)
    return {k: tuple(v) for k, v in data.items()}


def hints_for(stub: Stub, lang: str = "en") -> tuple[str, ...]:
    """``stub``'s hints in ``lang``; the English ones where the table has none for it."""
    return translated(lang).get(stub.id) or stub.hints


class Revealed:
    """How many hints of each stub a student has asked for: a small JSON file beside the
    exercises (a student pack's .gitignore keeps it out of the repository)."""

    def __init__(self, exercises: str | Path):
        folder = Path(exercises)
        self.path = (folder if folder.is_dir() else folder.parent) / STATE

    def counts(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # never asked yet, or a file mangled by hand: start again from none
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and type(v) is int and v > 0}

    def count(self, stub_id: str) -> int:
        return self.counts().get(stub_id, 0)

    def _write(self, counts: dict[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    def reveal(self, stub: Stub) -> int:
        """One more of ``stub``'s hints (up to all of them); how many are revealed now."""
        counts = self.counts()
        counts[stub.id] = min(counts.get(stub.id, 0) + 1, len(stub.hints))
        self._write(counts)
        return counts[stub.id]

    def reset(self, stub: Stub) -> None:
        counts = self.counts()
        counts.pop(stub.id, None)
        self._write(counts)


def find_stub(stub_id: str) -> Stub:
    """The stub named ``module.name`` (or a name only one module has); ``KeyError`` with a
    one-line reason otherwise."""
    stubs = curriculum.all_stubs()
    hits = [s for s in stubs if s.id == stub_id] or [s for s in stubs if s.name == stub_id]
    if len(hits) > 1:
        raise KeyError(f"{stub_id!r} is a stub of several modules: say which, " + " or ".join(s.id for s in hits))
    if not hits:
        raise KeyError(f"{stub_id!r} names no stub (see `divekit list`; ids are module.name, e.g. mlp.relu)")
    return hits[0]


def numbered(stub: Stub, lang: str, upto: int) -> list[str]:
    """The first ``upto`` hints, each as ``n/N text``."""
    shown = hints_for(stub, lang)
    return [f"{i}/{len(shown)} {text}" for i, text in enumerate(shown[:upto], 1)]


# The two lines of the hints' own that are not hints (the i18n module may take these over).
_MORE = {
    "en": (
        "(run `divekit hint {id}` for a hint)",
        "(run `divekit hint {id}` for another)",
        "(that was the last hint: the task text and the book section say the rest)",
    ),
    "zh": (
        "（运行 `divekit hint {id}` 看一条提示）",
        "（运行 `divekit hint {id}` 再看一条）",
        "（这是最后一条提示：其余的请看任务说明和书中的章节）",
    ),
}


def more(stub: Stub, revealed: int, lang: str = "en") -> str:
    """What to run for the next hint, or that there is none left."""
    first, another, last = _MORE.get(lang, _MORE["en"])
    if revealed >= len(stub.hints):
        return last
    return (another if revealed else first).format(id=stub.id)


def for_report(lang: str, exercises: str | Path | None = None) -> dict[str, str]:
    """Each stub's hint text, by stub id, as a report places it (Report.rows; one line per
    line of text). A student's own exercises (``exercises``): the hints revealed so far and
    how to get the next; a graded submission (no student state): the first hint, the idea."""
    if exercises is None:
        return {s.id: numbered(s, lang, 1)[0] for s in curriculum.all_stubs() if s.hints}
    counts = Revealed(exercises).counts()
    out = {}
    for s in curriculum.all_stubs():
        seen = min(counts.get(s.id, 0), len(s.hints))
        out[s.id] = "\n".join([*numbered(s, lang, seen), more(s, seen, lang)])
    return out


def check_table(lang: str) -> list[str]:
    """What is wrong with ``lang``'s table against the curriculum: stubs missing or unknown,
    lists of another length (an empty list: all is well)."""
    try:
        table = translated(lang)
    except SchemaError as exc:
        return [str(exc)]
    stubs = {s.id: s for s in curriculum.all_stubs()}
    problems = [f"{lang}: no hints for {sid}" for sid in stubs if sid not in table]
    problems += [f"{lang}: {sid} is not a stub of the curriculum" for sid in table if sid not in stubs]
    problems += [
        f"{lang}: {sid} has {len(table[sid])} hints, the English {len(s.hints)}"
        for sid, s in stubs.items()
        if sid in table and len(table[sid]) != len(s.hints)
    ]
    return problems
