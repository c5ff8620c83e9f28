"""The HTML report's renderer: student strings escaped, pictures inline, totals as shown."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import html_report, plots
from autograder.cli import main
from autograder.points import show
from autograder.report import Attachment, Report, TestResult

from . import headless_chromium
from .variants import batch_norm as batch_norm_variants
from .variants import optimizers as optimizer_variants
from .variants.harness import REPO, replace_stub

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _report() -> Report:
    png = plots.trace_2d([(-5.0, -2.0), (-3.0, -1.0)], [(-5.0, -2.0), (-4.0, -1.2)], "gd_2d, eta=0.1")
    thirds = [TestResult(f"m.a: check {i}", "m.a", 1 / 3, 1 / 3, "passed") for i in range(3)]
    wrong = TestResult("m.b: " + HOSTILE, "m.b", 0.0, 2.0, "failed", output="expected 1, got " + HOSTILE)
    return Report(HOSTILE, tests=[*thirds, wrong], notes=[HOSTILE], attachments=[Attachment("m.b.png", png, "m.b")])


def test_student_strings_are_escaped_and_pictures_inline():
    page = html_report.render(_report(), hints={"m.b": "look at " + HOSTILE})
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "hint: look at &lt;script&gt;" in page
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 1 and base64.b64decode(uris[0]).startswith(b"\x89PNG")
    assert "http://" not in page and "https://" not in page


def test_pictures_are_drawn_only_when_shown_and_a_failed_drawing_is_a_note():
    drawn: list[str] = []

    def picture() -> bytes:
        drawn.append("m.b.png")
        return plots.trace_1d(lambda x: x * x, [1.0, 0.5], [1.0, 0.4], "gd")

    def broken() -> bytes:
        raise ValueError("no finite values")

    report = _report()
    report.attachments = [Attachment("m.b.png", picture, "m.b"), Attachment("m.c.png", broken, "m.b")]
    assert "Total:" in report.to_text() and drawn == []  # the text report shows no pictures
    data = report.to_gradescope(include_attachments=True)
    assert [a["name"] for a in data["extra_data"]["attachments"]] == ["m.b.png"]
    assert "a picture (m.c.png) could not be drawn: ValueError: no finite values" in data["output"]
    assert data["score"] == report.score  # a picture never costs points
    page = html_report.render(report)
    assert drawn == ["m.b.png"]  # drawn once, for both reports
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 1
    assert "a picture (m.c.png) could not be drawn" in page


def test_totals_add_up_as_shown():
    report = _report()
    page = html_report.render(report)
    shown = report.shown()
    assert f"Total: {show(shown['total'][0])}/{show(shown['total'][1])}" in page
    assert "Total: 1/3" in page  # three thirds shown as 0.33, 0.33, 0.34 add up to the 1 shown
    assert page.count("(0.33/0.33)") == 2 and page.count("(0.34/0.34)") == 1


def test_identical_results_each_show_their_own_share():
    # Three results equal field for field (the same check met three times): each is placed
    # by its position, so the shown shares still add up to the stub (0.33 + 0.33 + 0.34).
    same = [TestResult("m.a: check", "m.a", 1 / 3, 1 / 3, "passed") for _ in range(3)]
    report = Report("three", tests=same)
    assert report.to_text().count("(0.34/0.34)") == 1
    assert html_report.render(report).count("(0.34/0.34)") == 1


def test_the_hint_sits_under_the_first_failure_of_a_started_stub_only():
    failing = [TestResult(f"m.a: check {i}", "m.a", 0.0, 1.0, "failed", output="expected 1, got 2") for i in range(2)]
    unstarted = TestResult("m.b: check", "m.b", 0.0, 1.0, "failed", output="Not implemented: m.b")
    page = html_report.render(Report("s", tests=[*failing, unstarted]), hints={"m.a": "HA", "m.b": "HB"})
    assert page.count("hint: HA") == 1 and "hint: HB" not in page


def test_long_output_is_cut_and_says_so():
    # A submission printing in a loop: three results of 50,000 characters each, under a
    # 20,000-per-result and 30,000-per-page cap (the defaults scaled down).
    loud = [TestResult(f"m.a: check {i}", "m.a", 0.0, 1.0, "failed", output=f"<{i}>" + "x" * 49_997) for i in range(3)]
    page = html_report.render(Report("loud", tests=loud), max_output=20_000, max_page_output=30_000)
    shown = [m.group(1) for m in re.finditer(r"<pre>(.*?)</pre>", page, re.S)]
    assert [len(p.split("\n<span", 1)[0]) for p in shown] == [len("&lt;0&gt;") + 20_000 - 3, 10_000 + 6, 0]
    assert "[cut: 30,000 of 50,000 characters not shown; one result shows at most 20,000]" in shown[0]
    assert "[cut: 40,000 of 50,000 characters not shown; the page shows at most 30,000 in all]" in shown[1]
    assert "[cut: 50,000 of 50,000 characters not shown; the page shows at most 30,000 in all]" in shown[2]
    assert len(page) < 40_000
    # Under the cap nothing is cut, and the default cap keeps a whole page under 250 KB.
    assert "[cut:" not in html_report.render(_report())
    huge = [TestResult(f"m.a: c{i}", "m.a", 0.0, 1.0, "failed", output="y" * 1_000_000) for i in range(20)]
    assert len(html_report.render(Report("huge", tests=huge))) < 250_000


# -- the page in a real browser -------------------------------------------------------------


def _browser() -> str:
    """Debian's chromium; a skip where it is absent, except in CI (which installs it)."""
    binary = headless_chromium.find()
    if binary is None:
        if os.environ.get("DIVEKIT_REQUIRE_SANDBOX") or os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must have it (.ci/run apt-installs it)")
        pytest.skip("chromium is not installed here (apt install chromium); CI runs this test")
    return binary


def _variant(variants, stub: str, name: str):
    return next(v for v in variants.WRONG if v.stub == stub and v.name == name)


def _partly_wrong_submission(folder: Path) -> list[str]:
    """batch_norm with gamma and beta swapped (its channel picture shows it), momentum
    without the learning rate in the velocity (its trajectory leaves the reference's on the
    contour plot), and linear regression right (its training threshold, the course's
    cheapest, draws a training curve). The targets."""
    folder.mkdir()
    for module, variant in (
        ("batch_norm", _variant(batch_norm_variants, "batch_norm", "gamma and beta swapped")),
        ("optimizers", _variant(optimizer_variants, "sgd_momentum", "velocity without the learning rate")),
    ):
        source = (REPO / "solutions" / f"{module}.py").read_text(encoding="utf-8")
        text = replace_stub(source, variant.stub, variant.code, variant.extra_imports)
        (folder / f"{module}.py").write_text(text, encoding="utf-8")
    (folder / "linear_regression.py").write_text(
        (REPO / "solutions" / "linear_regression.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return ["batch_norm.batch_norm", "optimizers.sgd_momentum", "linear_regression.sgd"]


def _broken_copy(page: str) -> str:
    """The page as a faulty renderer could write it: one picture's data cut short and a
    script that throws. The browser check must catch both."""
    start = page.index("base64,") + len("base64,")
    return page[: start + 40] + page[page.index('"', start) :].replace(
        "</body>", "<script>notDefinedAnywhere()</script></body>", 1
    )


@pytest.mark.slow
def test_a_partly_wrong_submissions_report_shows_its_pictures_in_headless_chromium(tmp_path):
    from PIL import Image

    binary = _browser()
    targets = _partly_wrong_submission(tmp_path / "submission")
    out = tmp_path / "report.html"
    only = [arg for t in targets for arg in ("--only", t)]
    result = CliRunner().invoke(
        main, ["grade", str(tmp_path / "submission"), *only, "--examples", "5", "--format", "html", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    figures = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="([^"]+)"', page)
    assert sorted(figures) == [
        "batch_norm.channels.png",
        "linear_regression.sgd.training.png",
        "optimizers.sgd_momentum.contour.png",
        "optimizers.sgd_momentum.png",  # its airfoil training run's loss curves
    ]
    assert "[FAIL]" in page and "[PASS]" in page and "gamma and beta swapped" in page
    broken = tmp_path / "broken.html"
    broken.write_text(_broken_copy(page), encoding="utf-8")

    with headless_chromium.Chromium(binary) as browser:
        view = browser.view(out)
        faulty = browser.view(broken)

    shot = Image.open(io.BytesIO(view.screenshot))
    shot.load()
    assert shot.format == "PNG" and shot.width >= 300 and shot.height >= 1000, shot.size
    darkest, lightest = shot.convert("L").getextrema()
    assert darkest < 100 < lightest, f"the screenshot is blank (grey levels {darkest}..{lightest})"
    assert len(view.images) == len(figures), view.images
    unloaded = [i["alt"] for i in view.images if not (i["complete"] and i["naturalWidth"] > 0)]
    assert unloaded == [], f"pictures that did not load: {unloaded}"
    assert [i["alt"] for i in view.images] == figures
    assert view.errors == []
    # The same check on a faulty page: it does see a picture that did not load and a script error.
    assert [i["naturalWidth"] for i in faulty.images][0] == 0 and all(i["naturalWidth"] > 0 for i in faulty.images[1:])
    assert any("notDefinedAnywhere" in e for e in faulty.errors), faulty.errors


def test_the_new_figures_are_small_pngs_and_survive_nan_and_missing_runs():
    from PIL import Image

    nan, inf = float("nan"), float("inf")
    figures = [
        plots.channel_stats(([1.0, nan, 1.0], [0.0, inf, 0.0]), ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]), "swapped"),
        plots.epoch_curves({"training loss": [0.5, nan, inf]}, {"training loss": [0.4, 0.01, 1e-4]}, "diverged"),
        plots.epoch_curves({}, {"test accuracy": [0.6, 0.7], "training loss": [1.0, 0.5]}, "no run of yours"),
        plots.trace_2d(
            [(-5.0, -2.0), (1e9, 3.0)], [(-5.0, -2.0), (-2.0, -0.4)], "f_2d", f=lambda a, b: 0.1 * a * a + b * b
        ),
    ]
    for png in figures:
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.width > 200 and 5_000 < len(png) < 60_000, (image.size, len(png))
