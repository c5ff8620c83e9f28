"""Checks for the Task 6 concept questions: one check per question, so each answer earns its
own share. The right answers are the reference solution's (solutions/quiz.py); they never
reach the worker or the released exercise, and the answer key holds them only as salted
hashes (``_reference_answer``), so a student pack does not hand them out in clear.

The salt is the check's seed (one per question), so equal answers to two questions do not
show as equal hashes. It hides nothing from brute force, and cannot: a multiple-choice
question has four options and a numeric one a handful of plausible numbers, and an
offline grader that says right or wrong can be asked about each in turn. What the hash
keeps is that the key, copied or read, answers no question by itself; what the feedback
tells is what it always told (right, or wrong with where to reread), never the answer."""

from __future__ import annotations

import hashlib

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


def _canonical(kind: str, answer) -> str:
    """The form an answer is compared in: the letter, or the number to 9 decimals (the
    tolerance the numeric answers had; + 0.0 folds -0.0 into 0.0)."""
    if kind == "letter":
        return answer.strip().upper()
    return f"{round(float(answer), 9) + 0.0:.9f}"


def _digest(salt: int, canonical: str) -> str:
    return hashlib.sha256(f"divekit quiz\x00{salt}\x00{canonical}".encode()).hexdigest()


def _reference_answer(ref, qid: str, salt: int) -> dict:
    """What kind of answer ``qid`` takes and the salted hash of the right one (not the answer)."""
    key = ref.ANSWERS[qid]
    kind = "letter" if isinstance(key, str) else "number"
    return {"kind": kind, "digest": _digest(salt, _canonical(kind, key))}


def _grade(ctx, qid):
    key = ctx.expected(_reference_answer, qid, ctx.seed)
    what = f"{qid} ({QUESTIONS[qid]})"
    given = _answer(ctx, qid)
    if given is None:
        E.fail(f"{what}: not answered yet (ANSWERS[{qid!r}] is None or missing).")
    if key["kind"] == "letter":
        E.that(
            isinstance(given, str),
            f"{what}: answer with one of the letters {', '.join(CHOICES)} as a string, got {E.describe(given)}.",
        )
        letter = _canonical("letter", given)
        E.that(
            letter in CHOICES and len(letter) == 1, f"{what}: {given!r} is not one of the choices {', '.join(CHOICES)}."
        )
        E.that(
            _digest(ctx.seed, letter) == key["digest"],
            f"{what}: {letter} is not the right answer. Reread the section and each choice carefully.",
        )
        return
    E.that(
        isinstance(given, int | float) and not isinstance(given, bool),
        f"{what}: answer with a number (an int or a float), got {E.describe(given)}.",
    )
    try:
        mine = _digest(ctx.seed, _canonical("number", given))
    except OverflowError:  # an int beyond any float: not the number asked for
        mine = None
    E.that(
        mine == key["digest"],
        f"{what}: {given!r} is not the right number. Count the channels the block concatenates.",
    )


for _qid, _text in QUESTIONS.items():
    check("ANSWERS", f"{_qid}: {_text}")(lambda ctx, _qid=_qid: _grade(ctx, _qid))
