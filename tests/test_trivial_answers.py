"""Points only for earned behaviour: a trivial answer to every stub scores exactly 0.

Every stub of every module (read from the curriculum, with function or class told apart by
the reference solution's AST, so a new stub is covered without being listed here) is
replaced at once by a trivial answer: doing nothing, returning its first argument, or
returning zeros shaped like its first tensor argument; a class (an nn.Module) gets an
empty __init__ with the contract's signature and no forward, an identity forward, or a
forward returning zeros. Each keeps the contract's signature, so the signature check
would pass if it were not gated on a right output.

Training is off, for speed: a training check trains the stub it belongs to, the student's
version, and asks for the reference's accuracy or loss, which no constant, identity or
empty model reaches; other stubs it uses are the student's only where they passed their
unit checks, which these never do, so they are stand-ins from the reference.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder import curriculum
from autograder.config import GradingConfig
from autograder.grading import grade

from .variants.harness import REPO, feedback, replace_stub, write_submission

KINDS = ("pass", "identity", "zeros")

# Defined once per file: zeros shaped like the first tensor among the arguments, looking
# into lists and tuples (sgd's params), None when there is none.
HELPER = """
import torch
from torch import nn


def _zeros_like_first_tensor(*args):
    todo = list(args)
    while todo:
        a = todo.pop(0)
        if isinstance(a, torch.Tensor):
            return torch.zeros_like(a)
        if isinstance(a, (list, tuple)):
            todo[:0] = list(a)
    return None
"""


def _parameters(signature: str) -> list[str]:
    args = ast.parse(f"def f{signature}: pass").body[0].args
    return [a.arg for a in args.posonlyargs + args.args]


def _trivial(stub: curriculum.Stub, is_class: bool, kind: str) -> str:
    if stub.kind == "value":
        return f"{stub.name} = {'None' if kind == 'pass' else '{}'}\n"
    signature = stub.signature or "()"
    params = _parameters(signature)
    if is_class:
        inner = signature[1:-1]
        init = f"    def __init__(self{', ' + inner if inner.strip() else ''}):\n        super().__init__()\n"
        forward = {
            "pass": "",
            "identity": "\n    def forward(self, X):\n        return X\n",
            "zeros": "\n    def forward(self, X):\n        return torch.zeros_like(X)\n",
        }[kind]
        return f"class {stub.name}(nn.Module):\n{init}{forward}"
    body = {
        "pass": "pass",
        "identity": f"return {params[0] if params else 'None'}",
        "zeros": f"return _zeros_like_first_tensor({', '.join(params)})",
    }[kind]
    return f"def {stub.name}{signature}:\n    {body}\n"


def trivial_source(module: curriculum.Module, kind: str) -> str:
    """The reference solution of ``module`` with every stub replaced by the ``kind`` answer."""
    source = (REPO / "solutions" / module.filename).read_text(encoding="utf-8")
    classes = {n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}
    for stub in module.stubs:
        source = replace_stub(source, stub.name, _trivial(stub, stub.name in classes, kind))
    return HELPER.strip() + "\n\n\n" + source


def ZYGOTE_CONFIG() -> GradingConfig:  # noqa: N802 (read by the zygote_for_module fixture)
    return GradingConfig(sandbox="process", training=False)


pytestmark = pytest.mark.usefixtures("zygote_for_module")


def grade_trivial(tmp: Path, module: curriculum.Module, kind: str, **options):
    folder = write_submission(tmp, module.name, trivial_source(module, kind))
    return grade(
        str(folder),
        [module.name],
        ZYGOTE_CONFIG() if not options else GradingConfig(sandbox="process", training=False, **options),
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("module", [m.name for m in curriculum.modules()])
def test_a_trivial_answer_earns_nothing(tmp_path, module, kind):
    report = grade_trivial(tmp_path, curriculum.module(module), kind)
    earned = {t.name: t.score for t in report.tests if t.score > 0}
    assert not earned, f"{kind} answers earned points on {module}: {earned}\n{feedback(report)}"
    assert report.tests and all(t.status == "failed" for t in report.tests)
