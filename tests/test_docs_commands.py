"""Every shell command the docs site shows: each `divekit` command line is parsed by the real
command line (an unknown command or option, a missing argument fails), and every block not
marked otherwise is run, line by line, in a folder laid out like a student's.

A block that cannot run here says why on the line before its fence, which the site does not
show: ``<!-- not run: REASON -->`` (it installs from the package index, or grades every
module with training, which other tests do). Each such block is printed by
``test_the_blocks_not_run_are_listed`` so a reader of the log sees what was only parsed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from autograder import cli

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted((REPO / "docs").glob("*.md"))
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->")
# Commands that other branches add. Re-enable each (delete it here) once its branch is merged:
# the block showing it is marked "not run" for now and is only parsed after that.
PENDING = {}
# Folders the docs' commands name as the reader's own (a submission, a class, a key):
# the run creates them, empty or as a copy of exercises/.
PLACEHOLDERS = {"submission": "exercises", "submissions": None, "answer-key": None}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    commands: tuple[str, ...]
    not_run: str | None  # the reason, for a block only parsed


def blocks(pages=PAGES) -> list[Block]:
    found = []
    for page in pages:
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            if lines[i].strip() in ("```bash", "```sh", "```shell", "```console"):
                marker = NOT_RUN.search(lines[i - 1]) if i else None
                start, body = i + 1, []
                i += 1
                while not lines[i].startswith("```"):
                    body.append(lines[i])
                    i += 1
                found.append(Block(page.name, start, tuple(commands(body)), marker.group(1) if marker else None))
            i += 1
    return found


def commands(body: list[str]) -> list[str]:
    """Command lines as written (bash reads their comments), continuations joined,
    blank and comment-only lines left out."""
    out, pending = [], ""
    for raw in body:
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if shlex.split(line, comments=True):
            out.append(line.strip())
    return out


def divekit_args(command: str) -> list[str] | None:
    """The arguments of a `divekit` command (after VAR=value assignments), else None."""
    words = shlex.split(command, comments=True)
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        words = words[1:]
    for sep in (">>", ">", "|"):
        if sep in words:
            words = words[: words.index(sep)]
    return words[1:] if words and words[0] == "divekit" else None


def parse(args: list[str]) -> None:
    """Parse ``args`` as the real command line would, down to the leaf command, running nothing."""
    command: click.Command = cli.main
    ctx = command.make_context("divekit", list(args))
    while isinstance(command, click.Group):
        with warnings.catch_warnings():  # click 8.2 deprecates protected_args; 9.0 keeps all in args
            warnings.simplefilter("ignore", DeprecationWarning)
            rest = [*ctx.protected_args, *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)


def _stage(tmp: Path) -> Path:
    work = tmp / "work"
    shutil.copytree(REPO / "exercises", work / "exercises")
    for name, source in PLACEHOLDERS.items():
        if source:
            shutil.copytree(REPO / source, work / name)
        else:
            (work / name).mkdir()
    return work


def test_the_docs_show_commands_and_mark_what_they_do_not_run():
    found = blocks()
    assert {b.page for b in found} >= {"students.md", "instructors.md"}
    assert any(b.not_run is None for b in found), "no block of the docs is run"
    assert all(b.commands for b in found), [b for b in found if not b.commands]


def test_every_divekit_command_shown_parses(tmp_path, monkeypatch):
    monkeypatch.chdir(_stage(tmp_path))
    for b in blocks():
        for command in b.commands:
            args = divekit_args(command)
            if args is None:
                assert b.not_run, f"{b.page}:{b.line}: `{command}` is not a divekit command; mark its block not run"
                continue
            if args and args[0] in PENDING:
                assert b.not_run, f"{b.page}:{b.line}: `{command}` is pending ({PENDING[args[0]]}); mark it not run"
                continue
            try:
                parse(args)
            except click.ClickException as exc:
                pytest.fail(f"{b.page}:{b.line}: `{command}` does not parse: {exc.format_message()}")


def test_the_blocks_not_run_are_listed(capsys):
    skipped = [b for b in blocks() if b.not_run]
    with capsys.disabled():
        print("\ndocs blocks parsed but not run:")
        for b in skipped:
            print(f"  {b.page}:{b.line} ({b.not_run}): " + "; ".join(b.commands))
    assert all(len(b.not_run) > 10 for b in skipped), "say why a block is not run"


@pytest.mark.slow
def test_every_command_not_marked_runs(tmp_path):
    """Each line of every unmarked block, in bash, in a student's folder: it must exit 0."""
    work = _stage(tmp_path)
    shim = tmp_path / "bin" / "divekit"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m autograder.cli "$@"\n')
    shim.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "LANG": "C.UTF-8",
        "LC_ALL": "",
    }
    ran = 0
    for b in blocks():
        if b.not_run:
            continue
        for command in b.commands:
            done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True)
            assert done.returncode == 0, (
                f"{b.page}:{b.line}: `{command}` exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
            ran += 1
    assert ran >= 3
