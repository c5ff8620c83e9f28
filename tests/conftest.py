"""Test-suite settings: hypothesis profiles and the offline data the tests use."""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# "ci" keeps the suite quick and reproducible; "thorough" is for a long run before a
# release (HYPOTHESIS_PROFILE=thorough nox -s tests).
settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The tests read English feedback, whatever the developer's locale (a Chinese LANG would
# otherwise switch every message: autograder/i18n.py); tests/test_i18n.py asks for zh.
os.environ["DIVEKIT_LANG"] = "en"

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if "DIVEKIT_DATA" not in os.environ and SHARED_DATA.is_dir():
    # ../shared/data holds the airfoil file d2l downloads; CI has it beside the repo.
    os.environ["DIVEKIT_DATA"] = str(SHARED_DATA)


@pytest.fixture(autouse=True)
def language_from_the_environment():
    """A --lang given to one in-process CLI call (CliRunner) must not outlive its test."""
    yield
    from autograder import i18n

    i18n.use(None)


@pytest.fixture(scope="module")
def zygote_for_module(request):
    """One fork server for every grading of a test module whose submissions are trusted test
    code (the variants, trivial answers, the solutions): each stub is still graded in a fresh
    child forked from a pristine zygote, as in a real grade, but the zygote's start (importing
    torch, about 4 s of CPU) is paid once per module and xdist worker, not once per test.
    Hostile submissions keep a zygote of their own. A module opts in with
    ``pytestmark = pytest.mark.usefixtures("zygote_for_module")`` and names its grading
    settings in ``ZYGOTE_CONFIG`` (default: GradingConfig()); a grading under other settings
    starts its own zygote as usual."""
    from autograder.config import GradingConfig
    from autograder.sandbox.zygote import fork_server

    config = getattr(request.module, "ZYGOTE_CONFIG", GradingConfig)().built()
    with fork_server(config.limits, config.mode or "process", config.device) as server:
        yield server


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection can be made from this process (the judge, under CliRunner or grade()):
    nothing can download, hang on a firewall, or rescue a test by fetching the data."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access is disabled in the test-suite")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def run_folder(tmp_path_factory) -> Path:
    """A folder of this test run that its xdist workers share (each worker's own base
    folder sits in it), and that no other run sees."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_run(tmp_path_factory, name: str, made: str, make) -> Path:
    """``run_folder/name/made``, made by ``make(path)`` the first time any xdist worker of
    this run asks (the others wait on a file lock, then reuse it)."""
    root = run_folder(tmp_path_factory) / name
    root.mkdir(exist_ok=True)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = root / made
        if not path.exists():
            make(path)
    return path


@pytest.fixture(scope="session")
def public_key(tmp_path_factory) -> Path:
    """The answer key of the whole curriculum (training included) under the public seed,
    built once per test run and shared by the xdist workers: what a student pack grades with."""
    from autograder import key_build
    from autograder.config import GradingConfig

    def make(folder: Path) -> None:
        key = key_build.build(GradingConfig())
        key.save(folder.with_name(folder.name + ".tmp"))
        folder.with_name(folder.name + ".tmp").rename(folder)  # whole, or not there

    return once_per_run(tmp_path_factory, "public-key", "key", make)
