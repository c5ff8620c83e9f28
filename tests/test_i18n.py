"""English and Chinese: every message exists in both languages, and a wrong submission graded
with ``--lang zh`` gets its feedback in Chinese (title, verdict, the named mistake, its hint)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import awards, curriculum, framework, i18n, task_texts
from autograder.cli import main

from .variants.harness import replace_stub

REPO = Path(__file__).resolve().parent.parent
COURSE = REPO / "autograder" / "course"


@pytest.fixture(autouse=True)
def _language_from_the_environment():
    yield
    i18n.use(None)  # --lang chooses for the process: leave the next test the default


def mismatched(english: dict, other: dict) -> list[str]:
    """Keys in one table only, and templates whose placeholders differ."""
    problems = [f"{k}: only in en" for k in english.keys() - other.keys()]
    problems += [f"{k}: only in the translation" for k in other.keys() - english.keys()]
    problems += [
        f"{k}: placeholders {sorted(i18n.placeholders(english[k]))} vs {sorted(i18n.placeholders(other[k]))}"
        for k in english.keys() & other.keys()
        if i18n.placeholders(english[k]) != i18n.placeholders(other[k])
    ]
    return sorted(problems)


def keyed_by_english(sources: set[str], table: dict) -> list[str]:
    """A table keyed by English text: every source string translated, nothing stale."""
    problems = [f"not translated: {s!r}" for s in sorted(sources - table.keys())]
    problems += [f"no longer in the code: {s!r}" for s in sorted(table.keys() - sources)]
    problems += [f"empty translation: {s!r}" for s in sorted(table) if not str(table[s]).strip()]
    return problems


def code_spans(text: str) -> set[str]:
    """The ``code`` of a task text, whitespace normalised: names and formulas a translation
    keeps as they are."""
    return {" ".join(span.split()) for span in re.findall(r"``(.+?)``", text, re.S)}


def task_problems(english: dict[str, str], table: dict[str, str]) -> list[str]:
    """Task texts (keyed by module or stub id): every one translated, no stale key, and each
    translation keeps the English's code spans (one that differs was translated from an
    older English, or lost a name)."""
    problems = keyed_by_english(set(english), table)
    problems += [
        f"{k}: code spans differ: {sorted(code_spans(english[k]) ^ code_spans(table[k]))}"
        for k in sorted(english.keys() & table.keys())
        if code_spans(english[k]) != code_spans(table[k])
    ]
    return problems


def check_titles() -> set[str]:
    titles = {awards.API_TITLE, awards.SCRATCH_TITLE}
    for m in curriculum.modules():
        titles |= {c.title for c in framework.load(m.name)}
    return titles


def _strings(node) -> list[str] | None:
    """The literal strings an argument can be: a constant, or both branches of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body), _strings(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def _triples(value):
    """``(key, name, hint)`` records in a module-level table (a list, tuple or dict of them)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from _triples(v)
    elif isinstance(value, tuple) and len(value) == 3 and all(isinstance(x, str) for x in value):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _triples(v)


def literal_mistakes() -> tuple[set[str], set[str], list[str]]:
    """The names and hints of the known mistakes, as far as they can be read without grading:
    ``Mistake(name, hint, ...)`` with literal strings (or a literal ``a if c else b``);
    ``(name, hint, <function>)`` tuples handed to a helper that builds the Mistakes; the
    module-level tables of ``(key, name, hint)`` records. Returns also the Mistake calls
    whose name or hint is computed (a variable or an f-string), which cannot be listed."""
    names, hints, computed = set(), set(), []
    for path in sorted((REPO / "autograder").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = getattr(node, "func", None)
            if isinstance(node, ast.Call) and getattr(func, "id", getattr(func, "attr", None)) == "Mistake":
                for arg, found in zip(node.args[:2], (names, hints)):
                    strings = _strings(arg)
                    if strings is None:
                        computed.append(f"{path.relative_to(REPO)}:{node.lineno} {ast.unparse(arg)}")
                    else:
                        found.update(strings)
            elif isinstance(node, ast.Tuple) and len(node.elts) == 3 and "course" in path.parts:
                first, second = (_strings(e) for e in node.elts[:2])
                function = isinstance(node.elts[2], ast.Lambda | ast.Attribute)  # torch.abs, lambda X: ...
                if first and second and function and len(first) == len(second) == 1:
                    names.update(first)
                    hints.update(second)
    for m in curriculum.modules():
        framework.load(m.name)
        checks = importlib.import_module(f"autograder.course.{m.name}.checks")
        for key, value in vars(checks).items():
            if key.isupper():
                for _, name, hint in _triples(value):
                    names.add(name)
                    hints.add(hint)
    return names, hints, computed


def test_every_framework_message_is_in_both_languages_with_the_same_placeholders():
    english = i18n.table("en", "messages")
    assert len(english) > 50
    for lang in i18n.LANGUAGES:
        assert mismatched(english, i18n.table(lang, "messages")) == [], lang


def test_the_completeness_check_catches_a_missing_key_and_a_changed_placeholder():
    english = {"a": "{what}: expected {expected}", "b": "hint: {hint}"}
    assert mismatched(english, {"a": "{what}：应为 {expected}", "b": "提示：{hint}"}) == []
    assert mismatched(english, {"a": "{what}：应为 {wanted}"}) == [
        "a: placeholders ['expected', 'what'] vs ['wanted', 'what']",
        "b: only in en",
    ]
    assert keyed_by_english({"one", "two"}, {"one": "一", "three": "三"}) == [
        "not translated: 'two'",
        "no longer in the code: 'three'",
    ]


def test_every_check_title_has_its_chinese():
    assert keyed_by_english(check_titles(), i18n.table("zh", "titles")) == []


def test_every_known_mistake_has_its_chinese_name_and_hint():
    names, hints, _ = literal_mistakes()
    table = i18n.table("zh", "mistakes", flat=False)
    assert len(names) > 40 and len(hints) > 40
    assert keyed_by_english(names, table["names"]) == []
    assert keyed_by_english(hints, table["hints"]) == []


def test_every_module_title_and_task_has_its_chinese():
    table = i18n.table("zh", "course", flat=False)
    assert keyed_by_english({m.title for m in curriculum.modules()}, table["modules"]) == []
    assert keyed_by_english({m.task for m in curriculum.modules()}, table["tasks"]) == []


def test_every_stub_has_its_hints_in_chinese_where_a_hints_table_exists():
    table = i18n.table("zh", "hints", flat=False)
    assert table, "no locale/zh/hints.toml"
    problems = []
    for s in curriculum.all_stubs():
        english = list(s.hints)
        if len(table.get(s.id, [])) != len(english):
            problems.append(f"{s.id}: {len(english)} hint(s) in English, {len(table.get(s.id, []))} in Chinese")
    problems += [f"{k}: no such stub" for k in table.keys() - {s.id for s in curriculum.all_stubs()}]
    assert problems == []


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_GB.UTF-8", "LC_ALL": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),  # LC_ALL decides when set
        ({"LANG": "zh_CN.UTF-8", "DIVEKIT_LANG": "en"}, "en"),
        ({"DIVEKIT_LANG": "zh"}, "zh"),
    ],
)
def test_the_language_comes_from_divekit_lang_then_the_locale(environ, lang):
    assert i18n.from_locale(environ) == lang


def test_a_wrong_submission_graded_with_lang_zh_gets_chinese_feedback(tmp_path):
    """A squared loss averaged over the batch (a known mistake), graded in Chinese."""
    source = (REPO / "exercises" / "linear_regression.py").read_text(encoding="utf-8")
    wrong = "def squared_loss(y_hat, y):\n    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()\n"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "linear_regression.py").write_text(replace_stub(source, "squared_loss", wrong))
    args = ["grade", str(tmp_path / "sub"), "--only", "linear_regression.squared_loss", "--no-training"]
    done = CliRunner().invoke(main, [*args, "--lang", "zh"])
    assert done.exit_code == 0, done.output
    out = done.output
    zh = i18n.table("zh", "titles")
    assert zh["per-example (y_hat - y)^2 / 2, shaped like y_hat"] in out  # the check's title
    assert "[未通过]" in out and "总分：" in out and out.startswith("divekit 评分报告")  # verdict, total, header
    assert "这看起来是对批量取了平均" in out  # the named mistake, in Chinese
    assert "每个样本返回一个损失；训练循环会把它们加起来。" in out  # and its hint
    assert "形状应为 (" in out  # the expectation's own words
    assert "a mean over the batch" not in out and "expected shape" not in out


def test_a_stub_not_started_is_recognised_in_every_language():
    """The report hides a stub's hint while the stub is not written yet: it recognises that
    message by its start, which must be the same in both of its templates."""
    for lang in i18n.LANGUAGES:
        said = i18n.t("grading.not_implemented", lang, stub="relu")
        assert said.startswith(i18n.t("grading.not_started", lang)), lang


def test_the_html_page_and_divekit_list_speak_chinese(tmp_path):
    from autograder import html_report
    from autograder.report import Report, TestResult

    title = "per-example (y_hat - y)^2 / 2, shaped like y_hat"
    failed = TestResult(f"linear_regression.squared_loss: {title}", "linear_regression.squared_loss", 0, 1, "failed")
    i18n.use("zh")
    page = html_report.render(Report("s", tests=[failed]), hints={"linear_regression.squared_loss": "提示内容"})
    assert '<html lang="zh">' in page and "divekit 评分报告：s" in page and "[未通过]" in page
    assert i18n.table("zh", "titles")[title] in page and "提示：提示内容" in page
    i18n.use(None)
    listed = CliRunner().invoke(main, ["list", "--path", str(REPO / "exercises"), "--lang", "zh"])
    assert listed.exit_code == 0, listed.output
    assert "任务 1" in listed.output and "待完成" in listed.output and "Task 1" not in listed.output


def test_every_task_text_has_its_chinese():
    """Each module's and each stub's docstring in exercises/ (what divekit release ships)."""
    english = task_texts.english()
    assert {m.name for m in curriculum.modules()} <= english.keys() and len(english) > 50
    assert task_problems(english, i18n.table("zh", "tasks")) == []


def test_the_task_text_check_catches_a_missing_a_stale_and_an_outdated_entry():
    english = {"mlp": "Task 1.3 - ``relu``.", "mlp.relu": "``max(X, 0)``, elementwise."}
    assert task_problems(english, {"mlp": "任务 1.3 - ``relu``。", "mlp.relu": "逐元素 ``max(X, 0)``。"}) == []
    assert task_problems(english, {"mlp": "任务 1.3 - ``relu``。", "mlp.gone": "旧的"}) == [
        "not translated: 'mlp.relu'",
        "no longer in the code: 'mlp.gone'",
    ]
    assert task_problems(english, {"mlp": "任务 1.3 - ``relu``。", "mlp.relu": "逐元素 ``max(X, 1)``。"}) == [
        "mlp.relu: code spans differ: ['max(X, 0)', 'max(X, 1)']"
    ]


def test_a_task_text_falls_back_to_english_without_a_translation():
    assert i18n.task_text("no_such.stub", "The English.", "zh") == "The English."
    assert i18n.task_text("mlp.relu", "The English.", "en") == "The English."
    assert task_texts.of("mlp.relu", lang="zh").startswith("修正线性单元")


def test_divekit_hint_and_list_verbose_show_the_task_text_in_chinese(tmp_path):
    """What the stub is to do comes before the first hint, in the language chosen."""
    (tmp_path / "mlp.py").write_text((REPO / "exercises" / "mlp.py").read_text(encoding="utf-8"))
    done = CliRunner().invoke(main, ["hint", "mlp.relu", "--path", str(tmp_path), "--lang", "zh"])
    assert done.exit_code == 0, done.output
    first = done.output.splitlines()[0]
    assert first == "mlp.relu: 修正线性单元，逐元素计算：max(X, 0)。", done.output
    assert "1/" in done.output.splitlines()[1]  # then the first hint
    done = CliRunner().invoke(main, ["hint", "mlp.relu", "--path", str(tmp_path), "--lang", "en"])
    assert done.output.startswith("mlp.relu: The rectified linear unit, elementwise: max(X, 0)."), done.output
    listed = CliRunner().invoke(main, ["list", "--path", str(REPO / "exercises"), "--lang", "zh", "--verbose"])
    assert listed.exit_code == 0, listed.output
    assert "要写什么" in listed.output and "双曲正切" in listed.output and "hyperbolic" not in listed.output


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_notebook_feedback_gives_no_hint_to_an_unstarted_stub_in_any_language(lang):
    # An unstarted stub needs its task text first; a started, wrong one gets the hint.
    from autograder.notebooks.stub_results import feedback

    def results(output):
        test = {"name": "mlp.relu: check", "score": 0.0, "max_score": 1.0, "status": "failed", "output": output}
        return {"tests": [{**test, "extra_data": {"stub": "mlp.relu"}}]}

    i18n.use(lang)
    unstarted = i18n.t("grading.not_started")
    assert "hint:" not in feedback(results(unstarted), "mlp.relu", "look at the negative inputs")
    assert "hint: look at" in feedback(results("expected 0.0, got -1.0"), "mlp.relu", "look at the negative inputs")
