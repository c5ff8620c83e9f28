"""The docs site: it builds with warnings as errors, every module has a page generated from
the curriculum, and the pages work offline (MathJax from the site itself, no CDN)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import curriculum, docs_pages
from autograder.points import show

REPO = Path(__file__).resolve().parent.parent
MKDOCS = Path(sys.executable).with_name("mkdocs")

pytestmark = pytest.mark.skipif(not MKDOCS.exists(), reason="mkdocs is not installed (pip install 'divekit[docs]')")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(REPO / "mkdocs.yml"), "--site-dir", str(out)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert "WARNING" not in done.stderr, done.stderr
    return out


def test_every_module_has_a_page_with_its_stubs_and_points(site):
    rubric = curriculum.load_rubric()
    for m in curriculum.modules():
        page = (site / "modules" / m.name / "index.html").read_text(encoding="utf-8")
        assert m.title in page and m.task in page
        for s in m.stubs:
            assert f'id="{s.name.lower()}"' in page, f"{s.id} has no section on its module page"
        total = sum(rubric.stub_points(s.id) for s in m.stubs)
        assert f"{show(total)} points" in page
    index = (site / "modules" / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{m.name}/"' in index for m in curriculum.modules())


def test_the_site_works_offline(site):
    # Every script and stylesheet is the site's own; MathJax is copied in by the hook.
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not remote, f"{html.relative_to(site)} loads {remote}"
    assert (site / "assets" / "mathjax" / "MathJax.js").exists()
    assert (site / "assets" / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").exists()
    students = (site / "students" / "index.html").read_text(encoding="utf-8")
    assert 'type="math/tex; mode=display"' in students and "assets/mathjax/MathJax.js" in students


def test_a_page_follows_the_curriculum_and_shows_no_solution_code(tmp_path):
    """A module's page is made from its record (points as the rubric gives them) and the
    docstrings; the body of a solution never reaches it."""
    m = curriculum.module("linear_regression")
    rubric = curriculum.load_rubric()
    page = docs_pages.module_page(m, rubric, {"linear_regression": "| a | b |\n|---|---|"})
    assert "| [`sgd`](#sgd) | `(params, lr, batch_size)` | 3 | not: `torch.optim.SGD`, `torch.optim.sgd` |" in page.text
    override = tmp_path / "rubric.toml"
    override.write_text('[points]\n"linear_regression.sgd" = 7\n')
    changed = docs_pages.module_page(m, curriculum.load_rubric(override), {})
    assert "| 7 |" in changed.text and "The contract" not in changed.text
    solution = (REPO / "solutions" / "linear_regression.py").read_text(encoding="utf-8")
    body = solution.split("### BEGIN SOLUTION", 2)[1].split("### END SOLUTION", 1)[0].strip()
    assert body and body.splitlines()[0].strip() not in page.text


def test_docstrings_read_without_running_anything(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('"""About ``m``."""\nraise SystemExit\n\ndef f():\n    """Does ``f``."""\n')
    about, stubs = docs_pages.docstrings(source)
    assert (about, stubs) == ("About ``m``.", {"f": "Does ``f``."})
    assert docs_pages.markdown_of_docstring("Does ``f``:\n* one\n* two") == "Does `f`:\n\n* one\n* two"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_the_maths_renders_offline_in_a_browser(site, tmp_path):
    """Headless Chromium, no network: MathJax typesets the student guide's formulas (its
    output elements appear, and no 'Math Processing Error')."""
    done = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--dump-dom",
            (site / "students" / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MathJax_Display" in done.stdout or "MathJax_CHTML" in done.stdout, "MathJax did not typeset the page"
    assert "Math Processing Error" not in done.stdout
