"""One self-contained HTML page per graded submission: summary, results, hints, pictures.

The page needs nothing but itself: inline CSS, pictures as data: URIs, no script, no
network. Every string that could come from a student (test output, submission name, notes,
attachment names) goes through :func:`html.escape`, so a hostile submission's output
shows as text and never becomes markup. Scores are the ones the text report prints
(:meth:`Report.shown`, rounded with :func:`points.show`), so the page adds up as shown.
"""

from __future__ import annotations

import base64
from html import escape

from . import i18n
from .points import show
from .report import Attachment, Report

# A runaway submission can print megabytes (a loop printing every step): the page shows
# the start of each result's output and stops showing output once the page holds
# MAX_PAGE_OUTPUT characters of it, and says where and how much it cut.
MAX_OUTPUT = 20_000  # characters of one result's output (or one note)
MAX_PAGE_OUTPUT = 200_000  # characters of output on the whole page

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:60em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse} td,th{padding:.2em .7em;text-align:left}
.passed{color:#17692b} .failed{color:#b00020}
pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap;margin:.2em 0 .6em 1.5em}
.cut{color:#8a5a00;font-style:italic}
.hint{background:#eef6ff;padding:.4em .6em;margin:.2em 0 .6em 1.5em}
figure{display:inline-block;margin:.4em} figcaption{font-size:.8em;color:#555}
"""


def _points(pair: tuple[float, float]) -> str:
    return f"{show(pair[0])}/{show(pair[1])}"


def _image(name: str, data: bytes) -> str:
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    label = escape(name)
    return f'<figure><img src="{uri}" alt="{label}"><figcaption>{label}</figcaption></figure>'


class _Budget:
    """What is left of the page's room for output; cuts each text to fit."""

    def __init__(self, per_text: int, per_page: int):
        self.per_text, self.per_page, self.left = per_text, per_page, per_page

    def show(self, text: str) -> str:
        keep = max(min(self.per_text, self.left), 0)
        self.left -= min(len(text), keep)
        if len(text) <= keep:
            return escape(text)
        limit = (
            f"one result shows at most {self.per_text:,}"
            if keep == self.per_text
            else f"the page shows at most {self.per_page:,} in all"
        )
        return escape(text[:keep]) + (
            f'\n<span class="cut">[cut: {len(text) - keep:,} of {len(text):,} characters not shown; {limit}]</span>'
        )


def render(
    report: Report,
    *,
    hints: dict[str, str] | None = None,
    max_output: int = MAX_OUTPUT,
    max_page_output: int = MAX_PAGE_OUTPUT,
) -> str:
    """The page for ``report``; ``hints`` maps a stub id to its hint (placed by
    :meth:`Report.rows`, as in the text report). Output longer than ``max_output``
    characters, or past ``max_page_output`` on the page, is cut with a note saying so."""
    budget = _Budget(max_output, max_page_output)
    shown = report.shown()
    groups = report.grouped()
    pictures: dict[str, list] = {}
    drawn, problems = Attachment.drawn(report.attachments)
    for a in drawn:
        pictures.setdefault(a.stub, []).append(a)
    title = escape(i18n.t("report.header", submission=report.submission))
    got, most = shown["total"]
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{i18n.current()}"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        f'<p id="total"><strong>{escape(i18n.t("report.total", got=show(got), total=show(most)))}</strong></p>',
    ]
    note_prefix = escape(i18n.t("report.note", note=""))
    out += [f'<p class="note">{note_prefix}{budget.show(n)}</p>' for n in report.notes + problems]
    headers = "".join(f"<th>{escape(i18n.t(k))}</th>" for k in ("report.stub", "report.points", "report.tests_passed"))
    out.append(f'<table id="summary"><tr>{headers}</tr>')
    for stub, tests in groups:
        passed = sum(t.status == "passed" for t in tests)
        out.append(
            f'<tr><td><a href="#{escape(stub)}">{escape(stub)}</a></td>'
            f"<td>{_points(shown['stubs'][stub])}</td><td>{passed}/{len(tests)}</td></tr>"
        )
    out.append(
        f"<tr><th>{escape(i18n.t('report.total_row'))}</th><th>{_points(shown['total'])}</th><th></th></tr></table>"
    )
    for stub, points, tests in report.rows(hints):
        out.append(f'<h2 id="{escape(stub)}">{escape(stub)} <small>{_points(points)}</small></h2>')
        for t, test_points, hint in tests:
            name = escape(t.title)
            mark = i18n.t("report.passed" if t.status == "passed" else "report.failed")
            out.append(
                f'<div class="test {t.status}"><span class="{t.status}">[{mark}]</span> {name} '
                f"({_points(test_points)})</div>"
            )
            if t.output:
                out.append(f"<pre>{budget.show(t.output)}</pre>")
            if hint:
                out += [
                    f'<div class="hint">{escape(i18n.t("report.hint", hint=line))}</div>' for line in hint.splitlines()
                ]
        out += [_image(a.name, a.png()) for a in pictures.pop(stub, [])]
    for stub, attached in pictures.items():  # pictures of a stub with no test row (should not happen)
        out.append(f"<h2>{escape(stub)}</h2>")
        out += [_image(a.name, a.png()) for a in attached]
    out.append("</body></html>")
    return "\n".join(out)
