"""Turning what a student handed in (a folder, a zip, notebooks) into one source per module.

Nothing here runs student code. Unusable input (no such path, not a zip, an unsafe zip)
raises :class:`UnusableSubmission` with a one-line reason, which the CLI turns into
exit status 2.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import curriculum

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ZIP_BYTES = 64 * 1024 * 1024


class UnusableSubmission(Exception):
    """The input cannot be graded at all (as opposed to code that fails its checks)."""


@dataclass(frozen=True)
class Source:
    module: str
    filename: str  # as the student named it
    text: str
    origin: str  # "file", "zip" or "notebook"
    note: str = ""


def is_test_cell(cell: dict) -> bool:
    """An nbgrader "autograder tests" cell (graded, not an answer): the grader's code, not
    the student's, so it is never part of the module graded (divekit's own test cells call
    the judge, see autograder/notebooks/). Leaving one out can only cost its author."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return isinstance(meta, dict) and bool(meta.get("grade")) and not meta.get("solution")


def notebook_to_source(raw: bytes, name: str) -> str:
    """The code cells of a notebook, in order, with IPython magics commented out and
    nbgrader's test cells left out."""
    try:
        nb = json.loads(raw)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{name} is not a readable notebook ({exc})") from None
    chunks = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or is_test_cell(cell):
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        lines = [("# " + ln if ln.lstrip().startswith(("%", "!")) else ln) for ln in src.splitlines()]
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


def _decode(raw: bytes, name: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"{name} is larger than {MAX_FILE_BYTES // 1024} KiB")
    return raw.decode("utf-8", errors="replace")


def _from_entries(entries: dict[str, bytes], origin: str) -> dict[str, Source]:
    """Pick each module's file among ``entries`` (relative path -> bytes)."""
    found: dict[str, Source] = {}
    for m in curriculum.modules():
        for suffix, kind in ((".py", origin), (".ipynb", "notebook")):
            candidates = sorted(
                (p for p in entries if Path(p).name == m.name + suffix), key=lambda p: (p.count("/"), p)
            )
            if not candidates:
                continue
            path = candidates[0]
            try:
                raw = entries[path]
                text = notebook_to_source(raw, path) if suffix == ".ipynb" else _decode(raw, path)
                note = "" if len(candidates) == 1 else f"several {m.name}{suffix} files; graded {path}"
            except ValueError as exc:
                text, note = "", str(exc)
            found[m.name] = Source(m.name, path, text, kind, note)
            break
    return found


def read_submission(path: str | Path) -> dict[str, Source]:
    """Sources by module name; a module with no file is simply absent."""
    path = Path(path)
    if not path.exists():
        raise UnusableSubmission(f"{path} does not exist")
    if path.is_dir():
        entries = {}
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path).as_posix()
            if (
                p.is_file()
                and p.suffix in (".py", ".ipynb")
                and "__pycache__" not in rel
                and rel.count("/") <= 2
                and p.stat().st_size <= MAX_FILE_BYTES * 2
            ):
                entries[rel] = p.read_bytes()
        return _from_entries(entries, "file")
    if zipfile.is_zipfile(path):
        return _from_entries(_zip_entries(path.read_bytes(), path.name), "zip")
    if path.suffix == ".py" and path.stem in {m.name for m in curriculum.modules()}:
        return _from_entries({path.name: path.read_bytes()}, "file")
    raise UnusableSubmission(f"{path} is neither a folder, a zip of one, nor a module file")


def _zip_entries(data: bytes, name: str) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UnusableSubmission(f"{name} is not a valid zip ({exc})") from None
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_BYTES:
        raise UnusableSubmission(f"{name} unpacks to {total} bytes, more than {MAX_ZIP_BYTES}")
    entries = {}
    for info in infos:
        p = info.filename
        # Only read what we need, and never trust paths: nothing is extracted to disk.
        if info.is_dir() or not p.endswith((".py", ".ipynb")) or "__MACOSX" in p:
            continue
        entries[p] = archive.read(info)
    return entries
