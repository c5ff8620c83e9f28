"""A fault of the grader scores no student: not a 0, not free points. Grading stops with a
one-line reason and exit 2, and no report is written (it would score tests never run).

Each fault is real: an airfoil file that is not there, a corrupt Fashion-MNIST folder
given with --data, a reference solution that raises inside a check."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.config import GradingConfig
from autograder.grading import GraderFault, grade

from .grading_sandbox import SANDBOX

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--sandbox", SANDBOX, "--examples", "3"]


def _fault(result, *phrases: str) -> str:
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert line.count("\n") == 0, line
    assert "grading stopped, a fault of the grader" in line
    for phrase in phrases:
        assert phrase in line, line
    return line


def test_a_missing_airfoil_file_stops_grading_instead_of_crediting(tmp_path, monkeypatch, no_network):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DIVEKIT_DATA", str(empty))  # and no copy where the repo's cache is looked for
    out = tmp_path / "results.json"
    args = ["grade", str(REPO / "solutions"), "--only", "optimizers.sgd", *QUICK, "--data", str(empty)]
    result = CliRunner().invoke(main, [*args, "--format", "json", "--out", str(out)])
    _fault(result, "optimizers.sgd", "airfoil", "--no-training")
    assert not out.exists()


def _corrupt_fashion(folder: Path) -> Path:
    """Small, well-formed files, but the test labels at the official count (10000), all of class 0."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": (0x0803, rng.integers(0, 256, (20, 28, 28))),
        "train-labels-idx1-ubyte": (0x0801, rng.integers(0, 10, 20)),
        "t10k-images-idx3-ubyte": (0x0803, rng.integers(0, 256, (10, 28, 28))),
        "t10k-labels-idx1-ubyte": (0x0801, np.zeros(10000)),
    }
    for name, (magic, array) in parts.items():
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
        (folder / f"{name}.gz").write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes(), 1))
    return folder / "t10k-labels-idx1-ubyte.gz"


def test_a_corrupt_fashion_mnist_folder_given_with_data_stops_grading(tmp_path, no_network):
    bad = _corrupt_fashion(tmp_path / "fashion")
    out = tmp_path / "results.json"
    args = ["grade", str(REPO / "solutions"), "--only", "softmax_regression.net", *QUICK]
    result = CliRunner().invoke(
        main, [*args, "--data", str(tmp_path / "fashion"), "--format", "json", "--out", str(out)]
    )
    _fault(result, str(bad), "per-class count check")
    assert not out.exists()


def test_a_reference_that_raises_in_a_check_stops_grading(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    source = (REPO / "solutions" / "linear_regression.py").read_text(encoding="utf-8")
    broken = "def squared_loss(y_hat, y):\n    raise ZeroDivisionError('the instructor broke it')\n\n\n"
    (solutions / "linear_regression.py").write_text(source + "\n\n" + broken, encoding="utf-8")
    config = GradingConfig(sandbox=SANDBOX, training=False, examples=3, solutions=str(solutions))
    said = "linear_regression.squared_loss: .*ZeroDivisionError: the instructor broke it.*reference solution"
    with pytest.raises(GraderFault, match=said):
        grade(str(REPO / "solutions"), ["linear_regression.squared_loss"], config)


def test_a_missing_reference_is_a_grader_fault_too(tmp_path):
    (tmp_path / "solutions").mkdir()
    result = CliRunner().invoke(
        main, ["grade", str(REPO / "solutions"), "--only", "linear_regression.linreg", "--sandbox", "process",
               "--no-training", "--solutions", str(tmp_path / "solutions")]
    )  # fmt: skip
    _fault(result, "the reference solution", "is not here")


def test_a_check_tripped_by_a_submission_fails_that_check_and_grading_goes_on(tmp_path, monkeypatch):
    """A check that did not foresee an output of the wrong shape raises on it (here one
    added for the test: the course's own checks look at the shape first). It passes on the
    reference solution, so the fault is the submission's: that check fails, with a message."""
    import torch

    from autograder import framework

    from .variants import linear_regression as V
    from .variants.harness import grade_variant

    def unforeseen(ctx):
        X, w, b = torch.ones(7, 3, dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64), torch.zeros(1)
        out = ctx.call("linreg", X, w, b.double())
        (out - ctx.expected(lambda ref: ref.linreg(X, w, b.double()))).reshape(7)  # raises for (7, 3)

    checks = framework.load("linear_regression")
    tripping = framework.Check("linear_regression", "linreg", "a check that trips over a wrong shape", unforeseen)
    monkeypatch.setitem(framework._REGISTRY, "linear_regression", [*checks, tripping])
    variant = next(v for v in V.WRONG if v.name == "elementwise product")
    report = grade_variant(tmp_path, "linear_regression", variant, sandbox=SANDBOX, examples=3)
    tripped = [t for t in report.tests if "could not make sense of what your code did" in t.output]
    assert tripped and all(t.score == 0 for t in tripped), report.to_text()
    assert "The reference solution passes it" in tripped[0].output
    assert report.score < report.max_score
