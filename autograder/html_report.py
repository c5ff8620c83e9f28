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
from .report import Report

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:60em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse} td,th{padding:.2em .7em;text-align:left}
.passed{color:#17692b} .failed{color:#b00020}
pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap;margin:.2em 0 .6em 1.5em}
.hint{background:#eef6ff;padding:.4em .6em;margin:.2em 0 .6em 1.5em}
figure{display:inline-block;margin:.4em} figcaption{font-size:.8em;color:#555}
"""


def _points(pair: tuple[float, float]) -> str:
    return f"{show(pair[0])}/{show(pair[1])}"


def _image(name: str, data: bytes) -> str:
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    label = escape(name)
    return f'<figure><img src="{uri}" alt="{label}"><figcaption>{label}</figcaption></figure>'


def render(report: Report, *, hints: dict[str, str] | None = None) -> str:
    """The page for ``report``; ``hints`` maps a stub id to its hint (placed by
    :meth:`Report.rows`, as in the text report)."""
    shown = report.shown()
    groups = report.grouped()
    pictures: dict[str, list] = {}
    for a in report.attachments:
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
    out += [f'<p class="note">{escape(i18n.t("report.note", note=n))}</p>' for n in report.notes]
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
                out.append(f"<pre>{escape(t.output)}</pre>")
            if hint:
                out.append(f'<div class="hint">{escape(i18n.t("report.hint", hint=hint))}</div>')
        out += [_image(a.name, a.data) for a in pictures.pop(stub, [])]
    for stub, attached in pictures.items():  # pictures of a stub with no test row (should not happen)
        out.append(f"<h2>{escape(stub)}</h2>")
        out += [_image(a.name, a.data) for a in attached]
    out.append("</body></html>")
    return "\n".join(out)
