"""Messages in English or Chinese: one table per language, chosen per run.

The tables are TOML files, ``course/locale/<lang>/<table>.toml``:

- ``messages.toml`` (``en`` and ``zh``): the framework's own strings (the report's headers
  and verdicts, the expectation helpers' "expected ..., got ..." messages, the grading
  pipeline's verdicts), by key, as ``str.format`` templates. Both languages hold every key
  with the same placeholders (``tests/test_i18n.py``).
- ``titles.toml``, ``mistakes.toml``, ``course.toml`` (``zh`` only): English stays at its
  source (each check's title in its ``checks.py``, each known mistake's name and hint where
  the check builds it, module titles and task names in ``curriculum.toml``), and the
  Chinese table is keyed by that English text. The test enumerates every title, every
  literal mistake and every module and fails on one left out, or on an entry whose English
  no longer exists.
- ``hints.toml`` (``zh``, optional): each stub's hints, ``"module.stub" = [...]``, as long
  as the curriculum's list.
- ``tasks.toml`` (``zh``): the task texts, i.e. each module's docstring (key: the module's
  name) and each stub's (key: ``"module.stub"``). English stays in the exercise file; the
  test reads every docstring of ``exercises/`` and fails on one left out or a stale key.

A table of another language drops in by adding its folder. The language is ``--lang``
(``use``), else ``$DIVEKIT_LANG``, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``
starting with ``zh``: Chinese), else English. A string missing from a table shows in
English: a run never fails for a translation.
"""

from __future__ import annotations

import os
import string
import tomllib
from functools import cache
from pathlib import Path

LOCALE = Path(__file__).resolve().parent / "course" / "locale"
LANGUAGES = ("en", "zh")
DEFAULT = "en"
ENV = "DIVEKIT_LANG"

_chosen: str | None = None


def from_locale(environ: os._Environ | dict[str, str] | None = None) -> str:
    """The language the environment asks for: $DIVEKIT_LANG, else the POSIX locale."""
    env = os.environ if environ is None else environ
    asked = env.get(ENV, "").strip().lower()
    if asked in LANGUAGES:
        return asked
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "").strip().lower()
        if value:  # the first one set decides, as in POSIX
            return "zh" if value.startswith("zh") else DEFAULT
    return DEFAULT


def use(lang: str | None) -> str:
    """Choose the language of this process (``None``: from the environment again)."""
    global _chosen
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _chosen = lang
    return current()


def current() -> str:
    return _chosen or from_locale()


def _flatten(data: dict, prefix: str = "") -> dict:
    out: dict = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@cache
def table(lang: str, name: str, *, flat: bool = True) -> dict:
    """``course/locale/<lang>/<name>.toml``, nested tables flattened to dotted keys
    (``{}`` where the file is absent)."""
    path = LOCALE / lang / f"{name}.toml"
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return _flatten(data) if flat else data


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def t(key: str, lang: str | None = None, **fields) -> str:
    """The framework message ``key`` in the language in force, filled in."""
    lang = lang or current()
    template = table(lang, "messages").get(key)
    if template is None:
        template = table(DEFAULT, "messages")[key]  # an unknown key is the grader's bug
    return template.format(**fields)


def in_every_language(key: str) -> tuple[str, ...]:
    """Message ``key`` (one without placeholders) in every language, to recognise it in
    output made in any of them."""
    return tuple(table(lang, "messages")[key] for lang in LANGUAGES if key in table(lang, "messages"))


def _translated(name: str, english: str, lang: str | None) -> str:
    lang = lang or current()
    if lang == DEFAULT or not english:
        return english
    return table(lang, name).get(english, english)


def title(english: str, lang: str | None = None) -> str:
    """A check's title (as its checks.py writes it) in the language in force."""
    return _translated("titles", english, lang)


def mistake_name(english: str, lang: str | None = None) -> str:
    return _translated_in("mistakes", "names", english, lang)


def mistake_hint(english: str, lang: str | None = None) -> str:
    return _translated_in("mistakes", "hints", english, lang)


def _translated_in(name: str, section: str, english: str, lang: str | None) -> str:
    lang = lang or current()
    if lang == DEFAULT or not english:
        return english
    return table(lang, name, flat=False).get(section, {}).get(english, english)


def course_text(section: str, english: str, lang: str | None = None) -> str:
    """A module title (``section="modules"``) or task name (``"tasks"``) of the curriculum."""
    return _translated_in("course", section, english, lang)


def task_text(key: str, english: str, lang: str | None = None) -> str:
    """A task text: the docstring of module ``key`` (``"mlp"``) or of stub ``key``
    (``"mlp.relu"``), whose English (as the exercise file has it) is ``english``."""
    lang = lang or current()
    if lang == DEFAULT or not english:
        return english
    return table(lang, "tasks").get(key, english).strip() or english


def first_paragraph(text: str) -> str:
    """A task text's first paragraph on one line: what a list or a loop shows of it."""
    paragraph = text.strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines())
