"""What the answer key of the optimisers and the quiz may hold, and what their pack needs.

``test_answer_key.py`` proves every variant is graded alike from the key and from the
solutions. These pin what that conversion promised besides: the quiz's key holds salted
hashes, never an answer; a pack grades the optimisers without the instructor-only
``solutions/mistakes/`` (known mistakes still named, from recorded values); and the probes' own
zero states, written from the contract, are the reference's initial states.
"""

from __future__ import annotations

import pytest
import torch

from autograder import reference
from autograder.config import GradingConfig
from autograder.course.optimizers import probes as P
from autograder.course.quiz import checks as Q
from autograder.framework import load
from autograder.framework.answer_key import AnswerKey
from autograder.sandbox.zygote import fork_server

from .variants import optimizers as optimizer_variants
from .variants.harness import feedback, grade_variant

pytestmark = pytest.mark.task6


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_the_quiz_key_holds_salted_hashes_not_answers(public_key):
    key = AnswerKey.load(public_key)
    answers = reference.load("quiz").ANSWERS
    checks = {f"{c.stub_id}: {c.title}": c for c in load("quiz")}
    seen = {}
    for name in key.entries:
        check = checks.get(name.split(" | ")[0])
        if check is None:  # another module's entry
            continue
        value = key.get(name)
        assert set(value) == {"kind", "digest"}
        qid = check.title.split(":")[0]
        right = answers[qid]
        kind = "letter" if isinstance(right, str) else "number"
        assert value["kind"] == kind
        # The hash is the right answer's, under this question's salt...
        assert value["digest"] == Q._digest(check.seed, Q._canonical(kind, right))
        # ...and nothing in the entry is the answer in any form a grader would accept.
        forms = {right, str(right), Q._canonical(kind, right)}
        assert not forms & set(_leaves(value)), (qid, value)
        seen[qid] = value["digest"]
    assert sorted(seen) == sorted(Q.QUESTIONS)
    # The salt: the same letter answering two questions gives two different hashes.
    first, second = list(checks.values())[:2]
    assert Q._digest(first.seed, "B") != Q._digest(second.seed, "B")


def test_numeric_answers_compare_to_nine_decimals():
    canon = lambda x: Q._canonical("number", x)  # noqa: E731
    assert canon(27) == canon(27.0) == canon(27.0000000001) == canon(26.9999999999)
    assert canon(27) != canon(27.00000001) and canon(27) != canon(8)
    assert canon(-0.0) == canon(0)


@pytest.mark.parametrize("name", sorted(P.INIT))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_probes_zero_states_are_the_references_initial_states(name, dtype):
    ref = reference.load("optimizers")
    shapes = [(3,), (2, 4), (1, 1, 5)]
    made = lambda: [torch.randn(s, dtype=dtype).requires_grad_(True) for s in shapes]  # noqa: E731
    params = made()
    theirs, ours = getattr(ref, P.INIT[name])(params), P.fresh_states(name, params)
    assert [type(s) for s in ours] == [type(s) for s in theirs]
    flat_theirs, flat_ours = P._state_tensors(theirs), P._state_tensors(ours)
    assert len(flat_ours) == len(flat_theirs) == len(shapes) * (1 if P.STATE_KIND[name] == "one" else 2)
    for a, b in zip(flat_ours, flat_theirs):
        assert torch.equal(a, b) and a.dtype == b.dtype and a.stride() == b.stride()
        assert not a.requires_grad
    # Each state its own memory, none a parameter's: updated in place, it must change nothing else.
    pointers = [t.untyped_storage().data_ptr() for t in flat_ours + params]
    assert len(set(pointers)) == len(pointers)


def test_a_pack_names_the_optimisers_mistakes_without_mistakes_py(public_key, tmp_path, monkeypatch):
    """Grading from the key with solutions/mistakes/ unreadable (as in a pack, which does not
    ship it) still names the known mistakes (these two only a mistake's value can name):
    their values come from the key."""
    chosen = [v for v in optimizer_variants.WRONG if v.name in ("beta on the wrong term", "no bias correction")]
    assert len(chosen) == 2

    def gone(path):
        raise reference.ReferenceMissing(f"{path} is not in a pack")

    monkeypatch.setattr(reference, "_mistakes_at", gone)
    with pytest.raises(reference.ReferenceMissing):
        reference.mistakes(reference.load("optimizers"))
    config = GradingConfig(training=False).built()
    with fork_server(config.limits, config.mode or "process", config.device):
        for variant in chosen:
            report = grade_variant(tmp_path / str(variant), "optimizers", variant, training=False, key=str(public_key))
            assert report.meta["references"].startswith("answer key")
            assert variant.expect.lower() in feedback(report).lower(), feedback(report)
