"""The task texts a student reads (each module's and each stub's docstring) in the language
in force: English from the exercise file, Chinese from ``course/locale/zh/tasks.toml``
(autograder/i18n.py). ``divekit hint``, ``divekit watch`` and ``divekit list --verbose``
show them."""

from __future__ import annotations

from pathlib import Path

from . import curriculum, i18n
from .docs_pages import EXERCISES, docstrings


def english(exercises: str | Path = EXERCISES) -> dict[str, str]:
    """Every task text of the course in English, keyed as tasks.toml is: the module's name
    for its docstring, ``"module.stub"`` for a stub's (stubs without a docstring left out)."""
    texts: dict[str, str] = {}
    for m in curriculum.modules():
        about, stubs = docstrings(Path(exercises) / m.filename)
        if about:
            texts[m.name] = about
        texts.update({s.id: stubs[s.name] for s in m.stubs if stubs.get(s.name)})
    return texts


def of(key: str, exercises: str | Path | None = None, lang: str | None = None) -> str:
    """Task text ``key`` (a module or a stub id) in ``lang`` (default: the language in
    force); ``""`` where the exercise file has none. The student's own file gives the
    English where it still has the docstring, else the course's exercises."""
    module, _, name = key.partition(".")
    m = curriculum.module(module)
    text = ""
    for folder in (exercises, EXERCISES) if exercises else (EXERCISES,):
        about, stubs = docstrings(Path(folder) / m.filename)
        text = stubs.get(name, "") if name else about
        if text:
            break
    return i18n.task_text(key, text, lang)


def summary(key: str, exercises: str | Path | None = None, lang: str | None = None) -> str:
    """The first paragraph of task text ``key``, on one line, for a terminal (the
    docstring's double backquotes dropped)."""
    return i18n.first_paragraph(of(key, exercises, lang)).replace("``", "")
