"""Checks for the Task 6 concept questions: one check per question, so each answer earns its
own share. The key is the reference solution (solutions/quiz.py, loaded in the judge as
``ctx.ref``); it never reaches the worker or the released exercise."""

from __future__ import annotations

from ...framework import checks_for
from ...framework import expect as E
from ...session import StudentError

check = checks_for("quiz")

QUESTIONS = {
    "q1": "what nn.BatchNorm2d(6) creates",
    "q2": "which statement about batch normalisation is wrong",
    "q3": "which statement about ResNet is wrong",
    "q4": "what the 1x1 convolution of a DenseNet transition layer is for",
    "q5": "the channels out of a dense block of 3 convolutions with 8 channels each on a 3-channel input",
}
CHOICES = "ABCD"


def _answer(ctx, qid):
    try:
        return ctx.run("ANSWERS", qid, attr="get").value
    except StudentError as err:
        E.fail(
            f"ANSWERS should be a dict from question id to answer, like "
            f"{{'q1': 'B', ...}}; reading ANSWERS[{qid!r}] raised {err.type_name}: "
            f"{err.message[:200]}."
        )


def _grade(ctx, qid):
    key = ctx.ref.ANSWERS[qid]
    what = f"{qid} ({QUESTIONS[qid]})"
    given = _answer(ctx, qid)
    if given is None:
        E.fail(f"{what}: not answered yet (ANSWERS[{qid!r}] is None or missing).")
    if isinstance(key, str):
        E.that(
            isinstance(given, str),
            f"{what}: answer with one of the letters {', '.join(CHOICES)} as a string, got {E.describe(given)}.",
        )
        letter = given.strip().upper()
        E.that(
            letter in CHOICES and len(letter) == 1, f"{what}: {given!r} is not one of the choices {', '.join(CHOICES)}."
        )
        E.that(
            letter == key, f"{what}: {letter} is not the right answer. Reread the section and each choice carefully."
        )
        return
    E.that(
        isinstance(given, int | float) and not isinstance(given, bool),
        f"{what}: answer with a number (an int or a float), got {E.describe(given)}.",
    )
    E.that(
        abs(float(given) - float(key)) < 1e-9,
        f"{what}: {given!r} is not the right number. Count the channels the block concatenates.",
    )


for _qid, _text in QUESTIONS.items():
    check("ANSWERS", f"{_qid}: {_text}")(lambda ctx, _qid=_qid: _grade(ctx, _qid))
