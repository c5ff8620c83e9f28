"""The answer key (framework/answer_key.py): a student pack grades from recorded values
exactly as the instructor's grader grades from the solutions.

The main proof: every variant of ``tests/variants`` graded both ways, with the public
seed, gets the same per-test scores, statuses and messages from the key as from the
solutions. The comparison runs the unit checks (training off on both sides): a training
threshold reads the reference's run from a recorded value in both modes (the reference
cache is itself such a value), and the pack's training is proven on the solutions in
``tests/test_student_pack.py``.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest
import torch

from autograder import curriculum, key_build
from autograder.config import GradingConfig
from autograder.framework import answer_key
from autograder.framework.answer_key import AnswerKey, KeyMismatch, NotInKey
from autograder.sandbox.zygote import fork_server

from . import variants
from .variants.harness import grade_variant

_KEYS: dict[str, Path] = {}


def module_key(module: str, tmp_root: Path) -> Path:
    """This module's answer key (unit checks), built once per test process."""
    if module not in _KEYS:
        key = key_build.build(GradingConfig(training=False), only=[module])
        _KEYS[module] = key.save(tmp_root / f"key-{module}")
    return _KEYS[module]


def _cases():
    for module in curriculum.modules():
        marker = getattr(pytest.mark, module.task.lower().replace(" ", ""))
        chosen = importlib.import_module(f"{variants.__name__}.{module.name}")
        for kind in ("WRONG", "RIGHT"):
            for v in getattr(chosen, kind):
                yield pytest.param(module.name, v, id=f"{module.name}-{kind.lower()}-{v}", marks=[marker])


def _verdicts(report) -> list[tuple]:
    return [(t.name, round(t.score, 9), t.status, t.output) for t in report.tests]


@pytest.mark.parametrize(("module", "variant"), list(_cases()))
def test_the_key_gives_the_solutions_verdicts(tmp_path_factory, tmp_path, module, variant):
    key = module_key(module, tmp_path_factory.getbasetemp())
    config = GradingConfig(training=False).built()
    with fork_server(config.limits, config.mode or "process", config.device):
        live = grade_variant(tmp_path / "live", module, variant, **{"training": False})
        packed = grade_variant(tmp_path / "key", module, variant, training=False, key=str(key))
    assert packed.meta["references"].startswith("answer key")
    assert _verdicts(packed) == _verdicts(live), "\n".join(
        f"solutions: {a}\nkey:       {b}" for a, b in zip(_verdicts(live), _verdicts(packed)) if a != b
    )


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


def test_a_key_for_other_checks_is_refused_with_a_message(tmp_path):
    key = AnswerKey()
    key.stamp = dict(key.stamp, checks="0" * 16)
    folder = key.save(tmp_path / "k")
    with pytest.raises(KeyMismatch, match="built for another grader.*checks"):
        AnswerKey.load(folder)
    with pytest.raises(KeyMismatch, match="no answer key"):
        AnswerKey.load(tmp_path / "nowhere")


def test_a_key_holds_values_only(tmp_path):
    """Loading a key runs nothing: JSON and safetensors, no pickle anywhere."""
    folder = module_key("linear_regression", tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [answer_key.KEY_JSON, answer_key.KEY_TENSORS]
    assert not (folder / answer_key.KEY_JSON).read_bytes().startswith(b"\x80")  # not a pickle
    key = AnswerKey.load(folder)
    assert key.meta["passed"]["linear_regression"] and key.meta["call_times"]["linear_regression"]
    assert dataclasses.is_dataclass(key)


def test_a_secret_seed_cannot_be_used_with_a_key(tmp_path):
    folder = module_key("linear_regression", tmp_path)
    with pytest.raises(ValueError, match="secret seed needs the solutions"):
        GradingConfig(key=str(folder), seed="s3cret").built()


def test_the_secret_seed_gives_other_inputs_and_is_never_reported():
    config = GradingConfig(seed="s3cret", training=False).built()
    assert config.seed_fingerprint.startswith("sha256:") and "s3cret" not in config.seed_fingerprint
    check = next(iter(__import__("autograder.framework", fromlist=["load"]).load("linear_regression")))
    assert check.seeded("s3cret") != check.seeded(None) == check.seed == check.seeded("")
