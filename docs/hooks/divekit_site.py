"""mkdocs hooks for divekit's site (named in mkdocs.yml; the logic is autograder/docs_pages.py).

- on_config: the "Modules" section of the navigation, one entry per curriculum module;
- on_files: those pages, generated from the curriculum and the exercises' docstrings;
- on_post_build: MathJax copied from its installed package (jupyter-server-mathjax) into
  the site, so that the maths renders offline: no CDN, and no vendored copy in git.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The repository this mkdocs.yml belongs to, ahead of any other installed copy of divekit.
sys.path.insert(0, str(ROOT))

from autograder import docs_pages  # noqa: E402

MATHJAX_TARGET = "assets/mathjax"


def _pages():
    return docs_pages.pages()


def on_config(config, **kwargs):
    modules = [{"Overview": f"{docs_pages.FOLDER}/index.md"}]
    modules += [{p.title: p.path} for p in _pages()]
    nav = config["nav"]
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and "Modules" in entry:
            nav[i] = {"Modules": modules}
            break
    else:
        nav.append({"Modules": modules})
    return config


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    made = _pages()
    files.append(File.generated(config, f"{docs_pages.FOLDER}/index.md", content=docs_pages.index_page(made)))
    for page in made:
        files.append(File.generated(config, page.path, content=page.text))
    return files


def mathjax_source() -> Path:
    try:
        import jupyter_server_mathjax
    except ImportError as exc:
        raise SystemExit(
            "divekit docs: the maths needs MathJax from jupyter-server-mathjax: pip install 'divekit[docs]'"
        ) from exc
    return Path(jupyter_server_mathjax.__file__).resolve().parent / "static"


def on_post_build(config, **kwargs):
    target = Path(config["site_dir"]) / MATHJAX_TARGET
    shutil.copytree(mathjax_source(), target, dirs_exist_ok=True)
