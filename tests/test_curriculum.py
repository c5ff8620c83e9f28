"""The curriculum data file, the rubric, the solutions and the exercises agree with the
contract in ../shared/CURRICULUM.md, and with each other."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from autograder import curriculum
from autograder import framework as checks
from autograder.release import release

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO.parent / "shared" / "CURRICULUM.md"


def contract_stubs() -> dict[str, dict[str, str | None]]:
    """module -> {stub: signature} read from the contract's tables."""
    text = CONTRACT.read_text(encoding="utf-8")
    found: dict[str, dict[str, str | None]] = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        module = section.split()[0]
        rows = [r for r in section.splitlines() if r.startswith("| ") and not r.startswith("| stub")]
        stubs: dict[str, str | None] = {}
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")]
            if module == "optimizers":
                for name in cells[0].split("(")[0].split(","):
                    name = name.strip()
                    stubs[name] = "(params)" if name.startswith("init_") else "(params, states, hyperparams)"
            else:
                sig = cells[1].strip("`")
                sig = sig[len("nn.Module") :] if sig.startswith("nn.Module") else sig
                stubs[cells[0]] = sig
        if module == "quiz":
            stubs = {"ANSWERS": None}
        if stubs:
            found[module] = stubs
    return found


@pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/CURRICULUM.md is not beside the repo")
def test_curriculum_toml_follows_the_contract():
    contract = contract_stubs()
    ours = {m.name: {s.name: s.signature for s in m.stubs} for m in curriculum.modules()}
    assert list(ours) == list(contract), "modules differ from the contract (or their order)"
    for module, stubs in contract.items():
        assert ours[module] == stubs, f"{module}: stubs or signatures differ from the contract"


def test_every_stub_has_points_checks_and_a_solution():
    rubric = curriculum.load_rubric()
    for m in curriculum.modules():
        registered = {c.stub for c in checks.load(m.name)}
        tree = ast.parse((REPO / "solutions" / m.filename).read_text(encoding="utf-8"))
        defined = {getattr(n, "name", None) for n in tree.body} | {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        for s in m.stubs:
            assert s.id in rubric.points, f"{s.id} has no points in rubric.toml"
            assert s.name in registered, f"{s.id} has no checks"
            assert s.name in defined, f"solutions/{m.filename} does not define {s.name}"


def test_exercises_are_generated_from_the_solutions():
    stale = release(REPO / "solutions", REPO / "exercises", check=True)
    assert not stale, f"exercises/ is out of date for {stale}: run `divekit release`"


def test_exercises_ship_no_solution():
    for path in (REPO / "exercises").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name


def test_rubric_rejects_unknown_stubs(tmp_path):
    bad = tmp_path / "rubric.toml"
    bad.write_text('[points]\n"mlp.nope" = 2\n')
    with pytest.raises(ValueError, match="mlp.nope"):
        curriculum.load_rubric(bad)


def test_select_resolves_modules_stubs_and_tasks():
    assert list(curriculum.select(["mlp.relu"])) == ["mlp"]
    assert [s.name for s in curriculum.select(["mlp.relu"])["mlp"]] == ["relu"]
    assert set(curriculum.select(["Task 1"])) == {"linear_regression", "softmax_regression", "mlp"}
    with pytest.raises(KeyError):
        curriculum.select(["nonsense"])


@pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/CURRICULUM.md is not beside the repo")
def test_lenet_bn_layers_follow_the_contract():
    """The contract spells lenet_bn out layer by layer (max pooling, as the course notes), and
    allows average pooling in both places; the check accepts exactly those two lists."""
    from autograder.course.batch_norm.checks import POOLINGS, lenet_layers_with

    row = next(r for r in CONTRACT.read_text(encoding="utf-8").splitlines() if r.startswith("| lenet_bn "))
    meaning = row.strip("|").split("|")[2]
    spelled = meaning.split("one `nn.Sequential`:")[1].split(". Average")[0]
    layers = [
        part.strip().strip("`").split("(")[0]
        for part in spelled.split(",")
        if part.strip() and not part.strip()[0].isdigit()
    ]
    assert layers == lenet_layers_with("MaxPool2d")
    assert "Average pooling (`AvgPool2d(2, 2)`" in meaning and "in both pooling places" in meaning
    assert POOLINGS == ("MaxPool2d", "AvgPool2d")
