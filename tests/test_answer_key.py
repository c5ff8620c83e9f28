"""The answer key (framework/answer_key.py): values in and out, fingerprints, stamps, the
secret seed. That every variant gets the same verdicts from the key as from the solutions
is proven where the variants are graded (tests/test_variants.py)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from autograder.config import GradingConfig
from autograder.framework import answer_key
from autograder.framework.answer_key import AnswerKey, KeyMismatch, NotInKey


# -- the key itself -----------------------------------------------------------------------
def test_fingerprints_follow_the_data_not_the_objects():
    X = torch.arange(6.0).reshape(2, 3)
    assert answer_key.fingerprint(X) == answer_key.fingerprint(X.clone())
    assert answer_key.fingerprint(X) != answer_key.fingerprint(X.double())
    assert answer_key.fingerprint(X) != answer_key.fingerprint(X.reshape(3, 2))
    assert answer_key.fingerprint([1, 2.0]) != answer_key.fingerprint([1.0, 2])
    f = lambda ref: ref.f(X)  # noqa: E731 - the shape every check uses
    g = lambda ref: ref.f(X + 1)  # noqa: E731
    assert answer_key.entry_name("c", f, (), {}) != answer_key.entry_name("c", g, (), {})
    assert answer_key.entry_name("c", f, (), {}) == answer_key.entry_name("c", f, (), {})
    seven, eight = (lambda ref: ref.conv_block(3, 7)), (lambda ref: ref.conv_block(3, 8))  # one line, one constant
    assert answer_key.fingerprint(seven) != answer_key.fingerprint(eight)


def test_values_come_back_as_they_went_in_and_unknown_ones_are_refused(tmp_path):
    key = AnswerKey()
    value = {"w": torch.randn(3, dtype=torch.float64), "n": 3, "parts": (1.5, [torch.ones(2, dtype=torch.int64)])}
    key.put("a", value)
    key.put("b", torch.zeros(1))
    again = AnswerKey.load(key.save(tmp_path / "k"))
    got = again.get("a")
    assert torch.equal(got["w"], value["w"]) and got["w"].dtype == torch.float64
    assert got["n"] == 3 and got["parts"][0] == 1.5 and torch.equal(got["parts"][1][0], value["parts"][1][0])
    assert torch.equal(again.get("b"), torch.zeros(1))
    with pytest.raises(NotInKey):
        again.get("never recorded")


def test_a_value_changed_in_place_leaves_the_key_as_it_was():
    """One key serves every grading of a process (a batch judge, the reference's kept values):
    a check that changes the value it was given must not change the next grading's."""
    key = AnswerKey()
    key.put("a", {"w": torch.arange(3.0)})
    key.get("a")["w"].mul_(0).requires_grad_()
    again = key.get("a")["w"]
    assert torch.equal(again, torch.arange(3.0)) and not again.requires_grad


def test_a_key_for_other_checks_is_refused_with_a_message(tmp_path):
    key = AnswerKey()
    key.stamp = dict(key.stamp, checks="0" * 16)
    folder = key.save(tmp_path / "k")
    with pytest.raises(KeyMismatch, match="built for another grader.*checks"):
        AnswerKey.load(folder)
    with pytest.raises(KeyMismatch, match="no answer key"):
        AnswerKey.load(tmp_path / "nowhere")


def test_a_key_holds_values_only(public_key):
    """Loading a key runs nothing: JSON and safetensors, no pickle anywhere."""
    folder = public_key
    assert sorted(p.name for p in folder.iterdir()) == [answer_key.KEY_JSON, answer_key.KEY_TENSORS]
    assert not (folder / answer_key.KEY_JSON).read_bytes().startswith(b"\x80")  # not a pickle
    key = AnswerKey.load(folder)
    assert key.meta["passed"]["linear_regression"] and key.meta["call_times"]["linear_regression"]
    assert dataclasses.is_dataclass(key)


def test_a_secret_seed_cannot_be_used_with_a_key(public_key):
    folder = public_key
    with pytest.raises(ValueError, match="secret seed needs the solutions"):
        GradingConfig(key=str(folder), seed="s3cret").built()


def test_the_secret_seed_gives_other_inputs_and_is_never_reported():
    config = GradingConfig(seed="s3cret", training=False).built()
    assert config.seed_fingerprint.startswith("sha256:") and "s3cret" not in config.seed_fingerprint
    check = next(iter(__import__("autograder.framework", fromlist=["load"]).load("linear_regression")))
    assert check.seeded("s3cret") != check.seeded(None) == check.seed == check.seeded("")


def test_the_inputs_a_check_meets_do_not_depend_on_what_else_is_imported(tmp_path, monkeypatch):
    """Hypothesis would draw some values from constants of the local modules loaded at the
    time; the framework keeps that pool empty, so a key built in one process answers the
    same questions a pack asks in another (tests/test_variants.py grades across processes)."""
    import importlib
    import sys

    from hypothesis import given, seed, settings
    from hypothesis import strategies as st

    import autograder.framework.context  # noqa: F401 - what empties the pool

    def draws() -> list:
        seen = []

        @seed(1234)
        @settings(max_examples=200, database=None, derandomize=False)
        @given(st.floats(-1e6, 1e6), st.integers(-(10**9), 10**9))
        def prop(x, n):
            seen.append((x, n))

        prop()
        return seen

    before = draws()
    constants = (
        ", ".join(f"{987654.25 + i}" for i in range(50)) + ", " + ", ".join(str(123456789 + i) for i in range(50))
    )
    (tmp_path / "lots_of_constants.py").write_text(f"VALUES = [{constants}]\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("lots_of_constants")
    try:
        assert draws() == before
    finally:
        sys.modules.pop("lots_of_constants", None)
