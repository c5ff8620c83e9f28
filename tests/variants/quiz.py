"""Variants of the Task 6 concept-question answers."""

from .harness import Variant

WRONG = [
    Variant(
        "ANSWERS",
        "gamma and beta taken for hyperparameters",
        """
ANSWERS = {"q1": "B", "q2": "A", "q3": "A", "q4": "D", "q5": 27}
""",
        expect="q2 (which statement about batch normalisation is wrong): A is not the right answer",
    ),
    Variant(
        "ANSWERS",
        "only the last block's channels counted",
        """
ANSWERS = {"q1": "B", "q2": "C", "q3": "A", "q4": "D", "q5": 8}
""",
        expect="q5 (the channels out",
    ),
    Variant(
        "ANSWERS",
        "a number given as a string",
        """
ANSWERS = {"q1": "B", "q2": "C", "q3": "A", "q4": "D", "q5": "27"}
""",
        expect="answer with a number",
    ),
    Variant(
        "ANSWERS",
        "a letter that is no choice",
        """
ANSWERS = {"q1": "E", "q2": "C", "q3": "A", "q4": "D", "q5": 27}
""",
        expect="is not one of the choices",
    ),
    Variant(
        "ANSWERS",
        "the released starting point",
        """
ANSWERS = {"q1": None, "q2": None, "q3": None, "q4": None, "q5": None}
""",
        expect="not answered yet",
    ),
    Variant(
        "ANSWERS",
        "not a dict",
        """
ANSWERS = ["B", "C", "A", "D", 27]
""",
        expect="should be a dict",
    ),
]

RIGHT = [
    Variant(
        "ANSWERS",
        "lower case, spaces and a float",
        """
ANSWERS = {
    "q1": " b",
    "q2": "c ",
    "q3": "A",
    "q4": "d",
    "q5": 27.0,
}
""",
    ),
]
