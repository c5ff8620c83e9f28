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
            assert s.id in rubric.points, f"{s.id} has no points in course/curriculum.toml"
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


# -- strict TOML: a typo is an error that names the file, the table, the key and what is allowed


COURSE = curriculum.DEFAULT_COURSE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'forbidden = ["torch.optim.SGD", "torch.optim.sgd"]',
            'forbiden = ["torch.optim.SGD", "torch.optim.sgd"]',
            "unknown key 'forbiden' in [[module.stub]] #5 'sgd' of [[module]] #1 'linear_regression'; "
            "allowed keys: forbidden, hints, kind, name, points, signature",
        ),
        (
            "\n[policy]\n",
            "\n[polcy]\n",
            "unknown table 'polcy' at the top level; allowed keys: module, policy, solutions",
        ),
        (
            'name = "ANSWERS"\npoints = 5',
            'name = "ANSWERS"\npoints = "five"',
            "'points' in [[module.stub]] #1 'ANSWERS' of [[module]] #10 'quiz' must be a number, got a string ('five')",
        ),
        (
            'title = "Multilayer perceptron from scratch"\n',
            "",
            "in [[module]] #3 'mlp', the required key 'title' is missing",
        ),
        (
            "from_scratch_share = 0.5",
            "from_scratch_share = 1.5",
            "'from_scratch_share' in [policy] must be at most 1, got a number (1.5)",
        ),
    ],
    ids=["typo", "unknown-table", "wrong-type", "missing-key", "out-of-range"],
)
def test_a_curriculum_that_breaks_the_schema_is_an_error_saying_where(tmp_path, old, new, message):
    assert COURSE.count(old) == 1
    bad = tmp_path / "curriculum.toml"
    bad.write_text(COURSE.replace(old, new), encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        curriculum.modules(bad)
    assert str(caught.value) == f"{bad}: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[policy]\ndefualt_points = 2\n", "unknown key 'defualt_points' in [policy]; allowed keys: default_points"),
        ("[pionts]\n", "unknown table 'pionts' at the top level; allowed keys: points, policy"),
        ('[points]\n"mlp.relu" = true\n', "'mlp.relu' in [points] must be a number, got a boolean (true)"),
        ('[points]\n"mlp.relu" = -1\n', "'mlp.relu' in [points] must be at least 0, got an integer (-1)"),
        ('[policy]\nvisibility = "never"\n', "'visibility' in [policy] must be one of 'visible', 'hidden'"),
    ],
)
def test_a_rubric_that_breaks_the_schema_is_an_error_saying_where(tmp_path, text, message):
    bad = tmp_path / "rubric.toml"
    bad.write_text(text)
    with pytest.raises(ValueError, match=re.escape(f"{bad}: {message}")):
        curriculum.load_rubric(bad)


def test_the_rubric_is_the_curriculums_points_and_policy_with_the_override_applied(tmp_path):
    course = curriculum.load_rubric()
    stub = next(m for m in curriculum.modules() if m.name == "batch_norm").stubs[0]
    assert course.stub_points(stub.id) == stub.points and course.override is None
    override = tmp_path / "rubric.toml"
    override.write_text('[policy]\nvisibility = "hidden"\n\n[points]\n"mlp.relu" = 7\n')
    mine = curriculum.load_rubric(override)
    assert mine.stub_points("mlp.relu") == 7 and mine.visibility == "hidden"
    # What the override leaves out keeps the curriculum's value.
    assert mine.from_scratch_share == course.from_scratch_share
    assert {k: v for k, v in mine.points.items() if k != "mlp.relu"} == {
        k: v for k, v in course.points.items() if k != "mlp.relu"
    }


def test_a_throwaway_module_through_divekit_course(tmp_path, monkeypatch):
    """A course file elsewhere replaces the packaged one; a signature left out is read from the solution."""
    (tmp_path / "sol").mkdir()
    (tmp_path / "sol" / "toy.py").write_text(
        "class Layer:\n    def __init__(self, width, *, bias=True):\n        pass\n\n"
        "def double(x, times=2):\n    return x * times\n"
    )
    (tmp_path / "course.toml").write_text(
        'solutions = "sol"\n\n[policy]\ndefault_points = 3\n\n'
        '[[module]]\nname = "toy"\ntask = "Task 9"\ntitle = "A toy"\n\n'
        '[[module.stub]]\nname = "double"\npoints = 2\n\n'
        '[[module.stub]]\nname = "Layer"\n\n'
        '[[module.stub]]\nname = "ANSWER"\nkind = "value"\n'
    )
    monkeypatch.setenv(curriculum.COURSE_ENV, str(tmp_path / "course.toml"))
    assert [m.name for m in curriculum.modules()] == ["toy"]
    double, layer, answer = curriculum.module("toy").stubs
    assert (double.signature, layer.signature, answer.signature) == ("(x, times=2)", "(width, *, bias=True)", None)
    assert list(curriculum.select(["Task 9"])) == ["toy"]
    rubric = curriculum.load_rubric()
    assert [rubric.stub_points(s.id) for s in (double, layer, answer)] == [2, 3, 3]
    (tmp_path / "course.toml").write_text(
        '[[module]]\nname = "toy"\ntask = "Task 9"\ntitle = "A toy"\n\n[[module.stub]]\nname = "missing"\n'
    )
    monkeypatch.setenv(curriculum.COURSE_ENV, str(tmp_path / "course.toml"))
    curriculum._read.cache_clear()  # same path, new content
    with pytest.raises(ValueError, match="gives no signature, and .*toy.py does not define missing"):
        curriculum.modules()
    monkeypatch.delenv(curriculum.COURSE_ENV)
    assert curriculum.modules()[0].name == "linear_regression"


def test_the_override_shown_to_instructors_is_a_valid_rubric(tmp_path):
    text = (REPO / "docs" / "instructors.md").read_text(encoding="utf-8")
    example = tmp_path / "rubric.toml"
    example.write_text(text.split("```toml\n", 1)[1].split("```", 1)[0])
    rubric = curriculum.load_rubric(example)
    assert rubric.stub_points("batch_norm.batch_norm") == 6 and rubric.stub_points("quiz.ANSWERS") == 0
