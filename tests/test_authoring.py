"""docs/authoring.md's walkthrough, performed: a throw-away module added to a copy of the
repository with exactly the files the page shows, then released, inventoried and graded.

The files come from the page itself, so the walkthrough cannot drift from what works.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "authoring.md"


def _walkthrough() -> dict[str, str]:
    """The files of the 'Adding a module' section, by path: each fenced block belongs to
    a path named in backticks in the paragraph before it (two blocks after one sentence
    that names two paths go to them in order)."""
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Adding a module, step by step") :]
    section = section[: section.index("\n## ", 1)]
    files: dict[str, str] = {}
    pending: list[str] = []
    for part in re.split(r"(```\w*\n.*?```)", section, flags=re.S):
        if part.startswith("```"):
            body = part.split("\n", 1)[1].rsplit("```", 1)[0]
            files[pending.pop(0)] = body
        else:
            paragraph = part.strip().split("\n\n")[-1]  # the sentence that introduces the block
            named = re.findall(r"`((?:solutions|autograder|tests)/[\w/]+\.(?:py|toml))`", paragraph)
            pending = named or pending
    return files


def _run(copy: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIVEKIT_COURSE")}
    # The copy's own package is imported (the working directory comes first on sys.path).
    return subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_walkthrough_names_the_four_places():
    assert sorted(_walkthrough()) == [
        "autograder/course/curriculum.toml",
        "autograder/course/warmup/__init__.py",
        "autograder/course/warmup/checks.py",
        "solutions/warmup.py",
        "tests/variants/warmup.py",
    ]


@pytest.mark.slow
def test_a_module_added_as_the_walkthrough_says_is_released_inventoried_and_graded(tmp_path):
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("autograder", "solutions", "exercises", "tests/variants"):
        shutil.copytree(REPO / part, copy / part, ignore=ignore)
    (copy / "tests" / "__init__.py").write_text("")
    for rel, body in _walkthrough().items():
        path = copy / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith("curriculum.toml"):
            path.write_text(path.read_text(encoding="utf-8") + "\n" + body, encoding="utf-8")
        else:
            path.write_text(body, encoding="utf-8")

    released = _run(copy, "-m", "autograder", "release")
    assert released.returncode == 0, released.stdout + released.stderr
    stub = (copy / "exercises" / "warmup.py").read_text(encoding="utf-8")
    assert "raise NotImplementedError()" in stub and "torch.where" not in stub

    checked = _run(copy, "-m", "autograder", "dev", "check", "--only", "warmup", "--sandbox", "process")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "solutions: 1/1" in checked.stdout and "exercises: 0/1" in checked.stdout, checked.stdout

    # The variants, graded as the variant tests grade them.
    graded = _run(
        copy,
        "-c",
        "import json\n"
        "from pathlib import Path\n"
        "from tempfile import mkdtemp\n"
        "from tests.variants import warmup\n"
        "from tests.variants.harness import grade_variant\n"
        "print(json.dumps([[v.name, grade_variant(Path(mkdtemp()), 'warmup', v, sandbox='process').score]\n"
        "                  for v in warmup.WRONG + warmup.RIGHT]))\n",
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    scores = dict(json.loads(graded.stdout.strip().splitlines()[-1]))
    assert scores == {"plain ReLU": 0, "max of X and slope X": 1}, scores
