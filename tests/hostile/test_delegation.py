"""A stub that delegates to whatever same-named code it can find in its worker earns nothing.

The stand-ins (the reference's pieces, put in place of a student's pieces that are not used
in a check) are reference code in the worker. A check that awards points to a stub must
never run next to reference code for that stub. Here one stub of each module looks for a
callable of its own name (or with a leading underscore) everywhere a worker keeps code:
the stack's frames, the heap, every loaded module and the dictionaries they hold (the
probes' tables), and calls the first that answers; finding none it returns garbage. Its
module's other stubs are the reference's, and the stubs that call it are graded alongside,
so workers holding a stand-in for it do exist during the grading.
"""

from __future__ import annotations

import pytest

from autograder.config import GradingConfig
from autograder.grading import grade

from ..variants.harness import replace_stub, write_submission
from .support import REPO

DELEGATE = """
_FOUND = []


def {name}(*args, **kwargs):
    import gc, sys, types

    names = ("{name}", "_{name}")
    me = sys._getframe().f_code

    def foreign(value):
        if not callable(value) or getattr(value, "__code__", None) is me:
            return False
        # Library code is not the grader's (and calling torch.relu is the forbidden-routine
        # check's business): only code from a module outside torch and the standard library.
        top = (getattr(value, "__module__", None) or "").split(".")[0]
        return bool(top) and top not in sys.stdlib_module_names and top not in ("torch", "numpy")

    def candidates():
        frame = sys._getframe(2)
        while frame is not None:
            for ns in (frame.f_locals, frame.f_globals):
                yield from (ns[k] for k in names if k in ns)
            frame = frame.f_back
        for module in list(sys.modules.values()):
            space = getattr(module, "__dict__", {{}})
            yield from (space[k] for k in names if k in space)
            for table in [v for v in space.values() if isinstance(v, dict)]:
                yield from (table[k] for k in names if k in table)
        for obj in gc.get_objects():
            if isinstance(obj, (types.FunctionType, type)) and getattr(obj, "__name__", "") in names:
                yield obj

    for value in _FOUND or candidates():
        if foreign(value):
            try:
                result = value(*args, **kwargs)
            except Exception:
                continue
            _FOUND[:] = [value]  # found once: later calls are quick
            return result
    return None
"""

# module, the delegating stub, the stubs graded alongside (which call it), training too
CASES = [
    ("linear_regression", "sgd", [], True),
    ("linear_regression", "squared_loss", ["sgd"], True),
    ("softmax_regression", "softmax", ["net"], False),
    ("mlp", "relu", ["net"], False),
    ("batch_norm", "batch_norm", ["BatchNorm"], False),
    ("resnet", "Residual", ["resnet_block"], False),
    ("densenet", "conv_block", ["DenseBlock"], False),
    ("optimizers", "init_adam_states", ["adam"], True),
    ("gradient_descent", "gd", [], False),
    ("convexity", "jensen_gap", [], False),
]


# A stub that hands its work to a library routine attacks the grade, not the sandbox: one
# zygote serves the module's gradings (tests/conftest.py), each stub in its own fresh child.
def ZYGOTE_CONFIG() -> GradingConfig:  # noqa: N802 (read by the zygote_for_module fixture)
    return GradingConfig(sandbox="process", examples=5, training=False)


pytestmark = pytest.mark.usefixtures("zygote_for_module")


@pytest.mark.parametrize(("module", "stub", "alongside", "training"), CASES, ids=lambda v: str(v))
def test_a_delegating_stub_earns_nothing(tmp_path, module, stub, alongside, training):
    source = (REPO / "solutions" / f"{module}.py").read_text(encoding="utf-8")
    text = replace_stub(source, stub, DELEGATE.format(name=stub))
    folder = write_submission(tmp_path, module, text)
    only = [f"{module}.{s}" for s in [stub, *alongside]]
    report = grade(str(folder), only, GradingConfig(sandbox="process", examples=5, training=training))
    mine = [t for t in report.tests if t.stub == f"{module}.{stub}"]
    assert mine, [t.name for t in report.tests]
    earned = [(t.name, t.score, t.output[:300]) for t in mine if t.score > 0]
    assert earned == [], earned
    # The stubs that call it run with its stand-in (the reference's): they keep their marks,
    # so the stand-in was really there.
    for other in alongside:
        theirs = [t for t in report.tests if t.stub == f"{module}.{other}" and t.kind != "training"]
        lost = [(t.name, t.output[:300]) for t in theirs if t.status != "passed"]
        assert theirs and lost == [], lost
