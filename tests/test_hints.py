"""Graded hints: every stub has them in English and Chinese, none gives the answer away,
`divekit hint` reveals one more each time and remembers it, and reports show what was revealed."""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import curriculum, hints
from autograder.cli import main
from autograder.report import Report
from autograder.report import TestResult as Result

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
# A code token as a hint's prose can hold it: names, numbers, operators and brackets
# (quotes are left out, so hyperparams['lr'] and hyperparams["lr"] read alike).
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?(?:e-?\d+)?|\*\*|//|[-+*/@%<>=!]=|[-+*/@%<>=()\[\]{},.:~]")
RUN = 6  # this many consecutive tokens of the solution in a hint give an expression away
LINE = 4  # a whole solution statement of at least this many tokens does too


def solution_blocks() -> dict[str, list[str]]:
    """Each stub's solution blocks (``### BEGIN/END SOLUTION``), by stub id."""
    out: dict[str, list[str]] = {}
    for path in sorted((REPO / "solutions").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        after = 0  # where the previous definition ended: a value's markers sit around it
        for node in ast.parse(text).body:
            name = node.targets[0].id if isinstance(node, ast.Assign) else getattr(node, "name", None)
            seg = "\n".join(lines[after : node.end_lineno + 1])
            after = node.end_lineno
            if name is not None:
                out.setdefault(f"{path.stem}.{name}", []).extend(BLOCK.findall(seg))
    return out


def code_tokens(source: str) -> list[list[str]]:
    """The solution's statements as token lists (comments dropped, strings opened up)."""
    statements, current = [], []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if current:
                statements.append(current)
            current = []
        elif tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
            continue
        else:
            current += TOKEN.findall(tok.string)
    return statements


def leaks(stub_id: str, hint: str, blocks: dict[str, list[str]]) -> list[str]:
    """The pieces of ``stub_id``'s solution that ``hint`` spells out: any run of RUN solution
    tokens, or a whole statement (less a leading ``return``) of at least LINE tokens."""
    said = " " + " ".join(TOKEN.findall(hint)) + " "
    found = []
    for block in blocks[stub_id]:
        statements = code_tokens(textwrap_dedent(block))
        flat = [t for s in statements for t in s]
        for i in range(len(flat) - RUN + 1):
            run = " ".join(flat[i : i + RUN])
            if f" {run} " in said:
                found.append(run)
        for s in statements:
            s = s[1:] if s[:1] == ["return"] else s
            if len(s) >= LINE and f" {' '.join(s)} " in said:
                found.append(" ".join(s))
    return found


def textwrap_dedent(block: str) -> str:
    import textwrap

    return textwrap.dedent(block)


BLOCKS = solution_blocks()
STUBS = curriculum.all_stubs()


def test_every_stub_has_two_to_four_hints_and_a_solution_block_to_compare_with():
    assert len(STUBS) == 49
    assert [s.id for s in STUBS if not 2 <= len(s.hints) <= 4] == []
    assert [s.id for s in STUBS if not BLOCKS.get(s.id)] == []


def test_the_chinese_table_has_every_stub_and_as_many_hints_each():
    assert hints.check_table("zh") == []
    for s in STUBS:
        zh = hints.hints_for(s, "zh")
        assert zh != s.hints and all(re.search(r"[\u4e00-\u9fff]", h) for h in zh), s.id


def test_a_table_that_misses_a_stub_or_a_hint_is_named(tmp_path, monkeypatch):
    table = (hints.LOCALE / "zh" / "hints.toml").read_text(encoding="utf-8")
    start = table.index('"mlp.relu" = [')
    shorter = table[:start] + table[table.index("\n]\n", start) + 3 :]
    end = shorter.index("\n]\n", shorter.index('"mlp.tanh" = ['))
    shorter = shorter[: shorter.rindex("\n", 0, end)] + shorter[end:]  # mlp.tanh loses its last hint
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx" / "hints.toml").write_text(shorter, encoding="utf-8")
    monkeypatch.setattr(hints, "LOCALE", tmp_path)
    hints.translated.cache_clear()
    try:
        assert hints.check_table("xx") == ["xx: no hints for mlp.relu", "xx: mlp.tanh has 2 hints, the English 3"]
    finally:
        hints.translated.cache_clear()


@pytest.mark.parametrize("lang", hints.LANGUAGES)
def test_no_hint_gives_the_answer(lang):
    found = {
        f"{s.id} hint {i}": piece
        for s in STUBS
        for i, h in enumerate(hints.hints_for(s, lang), 1)
        for piece in leaks(s.id, h, BLOCKS)
    }
    assert found == {}, f"hints that spell out the solution ({lang}): {found}"


def test_no_quiz_hint_names_an_answer():
    # A value stub's answers are too short for a token run: look for the answers themselves.
    answers = ast.literal_eval(BLOCKS["quiz.ANSWERS"][0].split("=", 1)[1])
    quiz = curriculum.module("quiz").stubs[0]
    for lang in hints.LANGUAGES:
        for h in hints.hints_for(quiz, lang):
            named = set(TOKEN.findall(h)) & {str(a) for a in answers.values()}
            assert not named, f"a quiz hint ({lang}) names an answer: {h}"


def test_the_leak_finder_catches_the_old_hints_that_were_the_answer():
    # Two of the single hints the curriculum had before graded hints: each was the solution's code.
    linreg = "One matrix product and one broadcast addition: torch.matmul(X, w) + b."
    found = leaks("linear_regression.linreg", linreg, BLOCKS)
    assert "torch . matmul ( X , w ) + b" in found, found  # the whole statement, less its return
    squared = "(y_hat - y.reshape(y_hat.shape)) ** 2 / 2, per example, no mean or sum."
    assert "( y_hat - y . reshape ( y_hat . shape ) ) ** 2 / 2" in leaks(
        "linear_regression.squared_loss", squared, BLOCKS
    )
    # A statement written out inside prose is caught too ...
    loop = "Call the trainer steps times, each time as x1, x2 = trainer(x1, x2), and record every point."
    assert "x1 , x2 = trainer ( x1 , x2 )" in leaks("gradient_descent.train_2d", loop, BLOCKS)
    # ... and a hint that names the tools without writing the expression passes.
    fair = "torch.matmul or the @ operator does the product; the bias broadcasts over the rows (X @ w)."
    assert leaks("linear_regression.linreg", fair, BLOCKS) == []


def test_the_hints_follow_the_language_in_force(monkeypatch):
    # The locale rules themselves are i18n's (tests/test_i18n.py); hints only defer to them.
    from autograder import i18n

    monkeypatch.setenv("DIVEKIT_LANG", "zh")
    assert hints.language() == "zh" == i18n.current()
    assert hints.language("en") == "en"
    monkeypatch.setenv("DIVEKIT_LANG", "en")
    assert hints.language() == "en"


def _hint(args, path):
    result = CliRunner().invoke(main, ["hint", *args, "--path", str(path)], catch_exceptions=False)
    return result.exit_code, result.output


def test_divekit_hint_reveals_one_more_each_time_and_remembers(tmp_path):
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    linreg = curriculum.module("linear_regression").stubs[2]
    code, out = _hint(["linear_regression.linreg", "--lang", "en"], exercises)
    assert code == 0 and out.splitlines() == [
        "linear_regression.linreg: The linear regression model: X @ w + b.",  # what to write, then how
        f"1/3 {linreg.hints[0]}",
        "(run `divekit hint linear_regression.linreg` for another)",
    ]
    assert json.loads((exercises / ".divekit" / "hints.json").read_text()) == {"linear_regression.linreg": 1}
    code, out = _hint(["linreg", "--lang", "zh"], exercises)  # a name only one module has is enough
    zh = hints.hints_for(linreg, "zh")
    assert out.splitlines() == [
        "linear_regression.linreg: 线性回归模型：X @ w + b。",
        f"1/3 {zh[0]}",
        f"2/3 {zh[1]}",
        "（运行 `divekit hint linear_regression.linreg` 再看一条）",
    ]
    _hint(["linear_regression.linreg", "--lang", "en"], exercises)
    code, out = _hint(["linear_regression.linreg", "--lang", "en"], exercises)  # past the last: stays at 3
    assert out.splitlines()[-2:] == [
        f"3/3 {linreg.hints[2]}",
        "(that was the last hint: the task text and the book section say the rest)",
    ]
    assert hints.Revealed(exercises).count("linear_regression.linreg") == 3
    code, out = _hint(["linear_regression.linreg", "--reset"], exercises)
    assert code == 0 and hints.Revealed(exercises).count("linear_regression.linreg") == 0


def test_divekit_hint_names_a_bad_stub_in_one_line(tmp_path):
    assert _hint(["linreg2"], tmp_path)[0] == 2
    result = CliRunner().invoke(main, ["hint", "net", "--path", str(tmp_path)])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "divekit: 'net' is a stub of several modules: say which, softmax_regression.net or mlp.net"
    )


def test_a_mangled_state_file_starts_again_from_none(tmp_path):
    (tmp_path / ".divekit").mkdir()
    (tmp_path / ".divekit" / "hints.json").write_text("{not json", encoding="utf-8")
    assert hints.Revealed(tmp_path).counts() == {}
    assert _hint(["mlp.relu", "--lang", "en"], tmp_path)[1].splitlines()[1].startswith("1/3 ")  # after the task text


def test_a_report_shows_the_hints_revealed_so_far_and_how_to_get_another(tmp_path):
    relu = curriculum.module("mlp").stubs[0]
    hints.Revealed(tmp_path).reveal(relu)
    hints.Revealed(tmp_path).reveal(relu)
    failed = Result("mlp.relu: matches max(X, 0)", "mlp.relu", 0.0, 1.0, "failed", "mlp.relu is wrong")
    started = Report("s", tests=[failed]).to_text(hints=hints.for_report("en", tmp_path))
    assert [ln.strip() for ln in started.splitlines() if "hint:" in ln] == [
        f"hint: 1/3 {relu.hints[0]}",
        f"hint: 2/3 {relu.hints[1]}",
        "hint: (run `divekit hint mlp.relu` for another)",
    ]
    # A graded submission (no student state): the idea only.
    graded = Report("s", tests=[failed]).to_text(hints=hints.for_report("en"))
    assert [ln.strip() for ln in graded.splitlines() if "hint:" in ln] == [f"hint: 1/3 {relu.hints[0]}"]
