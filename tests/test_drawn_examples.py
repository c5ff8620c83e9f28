"""Replayed examples (framework/drawn_examples.py) grade exactly as hypothesis's own draws:
the same inputs in the same order, the same first failure, the same report, whether the
examples come from this process, from the cache on disk, or from hypothesis."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest
import torch
from hypothesis import strategies as st

from autograder import curriculum
from autograder import framework as check_registry
from autograder.config import GradingConfig
from autograder.framework import Check, drawn_examples
from autograder.framework.context import Ctx
from autograder.framework.strategies import TensorSpec, tensors

from . import variants
from .grading_sandbox import SANDBOX
from .variants.harness import grade_variant

pytestmark = pytest.mark.usefixtures("zygote_for_module")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty reference cache and nothing recorded in this process."""
    monkeypatch.setenv("DIVEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(drawn_examples, "_MEMORY", {})
    return tmp_path / "cache"


def _check(title: str = "a property") -> Check:
    return Check("softmax_regression", "softmax", title, fn=lambda ctx: None)


def _ctx(check: Check) -> Ctx:
    return Ctx(check, session_factory=None, reference=None, examples=20)  # type: ignore[arg-type]


def _drawn_by_hypothesis(check: Check, strategy, monkeypatch) -> list:
    monkeypatch.setenv(drawn_examples.ENV_VAR, "0")
    seen: list = []

    @_ctx(check).given(strategy)
    def prop(x):
        seen.append(x)

    prop()
    monkeypatch.delenv(drawn_examples.ENV_VAR)
    return seen


def test_a_replayed_property_meets_hypothesis_inputs_in_hypothesis_order(cache, monkeypatch):
    strategy = st.tuples(tensors(), st.sampled_from([torch.float32, torch.float64]), st.floats(-1, 1))
    want = _drawn_by_hypothesis(_check(), strategy, monkeypatch)
    assert len(want) == 20
    replays = _count_replays(monkeypatch)
    for source in ("hypothesis, recording", "this process", "the cache on disk"):
        if source == "the cache on disk":
            monkeypatch.setattr(drawn_examples, "_MEMORY", {})
        seen: list = []

        @_ctx(_check()).given(strategy)
        def prop(x):
            seen.append(x)  # noqa: B023 - called at once, in this iteration

        prop()
        assert drawn_examples._same(seen, want), source
        # hypothesis recorded first; the other two were replays, not hypothesis again
        assert len(replays) == (0 if source.startswith("hypothesis") else 1 if source == "this process" else 2)
    assert len(list(cache.glob("drawn-*.json"))) == 1


def _count_replays(monkeypatch) -> list:
    """A list that grows by one at each replay (and the replay still runs)."""
    calls: list = []
    real = drawn_examples.replay

    def counted(examples, body):
        calls.append(len(examples))
        return real(examples, body)

    monkeypatch.setattr(drawn_examples, "replay", counted)
    return calls


def test_replay_stops_at_the_first_failure_with_its_input_noted(cache, monkeypatch):
    strategy = tensors()
    want = _drawn_by_hypothesis(_check(), strategy, monkeypatch)
    bad = want[7]

    def run(record: list, fail: bool):
        @_ctx(_check()).given(strategy)
        def prop(spec):
            record.append(spec)
            if fail and spec == bad:
                raise AssertionError("wrong on this one")

        return prop

    with pytest.raises(AssertionError):
        run([], fail=True)()  # hypothesis: it fails, so nothing is recorded (a prefix only)
    assert not list(cache.glob("drawn-*.json"))
    run([], fail=False)()  # a run to the end records
    assert len(list(cache.glob("drawn-*.json"))) == 1
    met: list = []
    with pytest.raises(AssertionError, match="wrong on this one") as caught:
        run(met, fail=True)()
    assert met == want[:8]  # the same inputs as hypothesis, up to the first failure
    assert any(repr(bad) in note for note in caught.value.__notes__)


def _key_fn(spec):  # stands in for a property
    pass


def test_the_key_changes_with_what_decides_the_draws():
    check = _check()
    base = drawn_examples.key(check, 0, _key_fn, (tensors(),), {}, 20, 1)
    assert base == drawn_examples.key(check, 0, _key_fn, (tensors(),), {}, 20, 1)
    assert base != drawn_examples.key(check, 1, _key_fn, (tensors(),), {}, 20, 1)  # another property
    assert base != drawn_examples.key(check, 0, _key_fn, (tensors(max_side=4),), {}, 20, 1)
    assert base != drawn_examples.key(check, 0, _key_fn, (tensors(),), {}, 21, 1)  # examples
    assert base != drawn_examples.key(check, 0, _key_fn, (tensors(),), {}, 20, 2)  # the seed
    assert base != drawn_examples.key(_check("another"), 0, _key_fn, (tensors(),), {}, 20, 1)


def test_values_the_stored_form_cannot_carry_stay_in_memory_only(cache):
    leaf = torch.ones(3, requires_grad=True)
    stored = [((TensorSpec((2, 3), torch.float32, 1.0, -0.0, 5), float("nan"), leaf), {"k": [1, "a", None]})]
    drawn_examples.store("carried", stored)
    drawn_examples._MEMORY.clear()
    again = drawn_examples.recorded("carried")
    assert again is not None and drawn_examples._same(again, stored)
    assert repr(again[0][0][0].offset) == "-0.0" and again[0][0][2].requires_grad

    with_history = [((torch.ones(2, requires_grad=True) * 2,), {})]
    drawn_examples.store("history", with_history)
    assert drawn_examples.recorded("history") is with_history  # kept for this process
    drawn_examples._MEMORY.clear()
    assert drawn_examples.recorded("history") is None and not (cache / "drawn-history.json").exists()
    transposed = [((torch.ones(2, 3).t(),), {})]  # its strides would not survive
    drawn_examples.store("strides", transposed)
    drawn_examples._MEMORY.clear()
    assert drawn_examples.recorded("strides") is None


def test_a_damaged_or_foreign_entry_is_drawn_again(cache):
    cache.mkdir(parents=True)
    (cache / "drawn-damaged.json").write_text("{not json")
    assert drawn_examples.recorded("damaged") is None
    foreign = {"list": [{"list": [{"list": [{"record": "os:system", "fields": {}}]}, {"dict": {}}]}]}
    (cache / "drawn-foreign.json").write_text(json.dumps(foreign))
    assert drawn_examples.recorded("foreign") is None


def _unit_variants(per_module: int):
    for module in curriculum.modules():
        wrong = importlib.import_module(f"{variants.__name__}.{module.name}").WRONG
        checks = check_registry.load(module.name)
        unit = [
            v
            for v in wrong
            if (
                v.options.get("training") is False or not any(c.kind == "training" and c.stub == v.stub for c in checks)
            )
            # a stub with hypothesis properties among its checks
            and any(c.stub == v.stub and "ctx.given(" in inspect.getsource(c.fn) for c in checks)
        ]
        for v in unit[:per_module]:
            yield pytest.param(module.name, v, id=f"{module.name}-{v}")


def _verdicts(report) -> list:
    return [(t.name, t.status, t.score, t.output) for t in report.tests]


@pytest.mark.slow
@pytest.mark.parametrize(("module", "variant"), list(_unit_variants(2)))
def test_a_wrong_variant_gets_the_same_report_from_replayed_examples(cache, monkeypatch, tmp_path, module, variant):
    """Graded with hypothesis drawing (DIVEKIT_REPLAY_EXAMPLES=0), then with the examples the
    reference's grading recorded: the same tests, statuses, scores and messages."""
    options = {"training": False, "mode": SANDBOX}
    monkeypatch.setenv(drawn_examples.ENV_VAR, "0")
    drawn = grade_variant(tmp_path / "a", module, variant, **options)
    monkeypatch.delenv(drawn_examples.ENV_VAR)
    from autograder.grading import grade

    grade("solutions", [f"{module}.{variant.stub}"], GradingConfig(**options))  # records
    assert list(cache.glob("drawn-*.json"))
    replays = _count_replays(monkeypatch)
    replayed = grade_variant(tmp_path / "b", module, variant, **options)
    assert replays, "the second grading drew with hypothesis again instead of replaying"
    assert _verdicts(replayed) == _verdicts(drawn)
    assert any(t.status != "passed" for t in replayed.tests)


def test_the_solutions_of_a_module_get_the_same_report_from_replayed_examples(cache, monkeypatch):
    from autograder.grading import grade

    config = GradingConfig(training=False, mode=SANDBOX)
    monkeypatch.setenv(drawn_examples.ENV_VAR, "0")
    drawn = grade("solutions", ["softmax_regression"], config)
    monkeypatch.delenv(drawn_examples.ENV_VAR)
    recording = grade("solutions", ["softmax_regression"], config)
    replays = _count_replays(monkeypatch)
    replayed = grade("solutions", ["softmax_regression"], config)
    assert len(replays) >= 8  # every property of the module replayed
    assert _verdicts(drawn) == _verdicts(recording) == _verdicts(replayed)
    assert len(list(cache.glob("drawn-*.json"))) >= 8
