"""The grading configuration: frozen, typed, documented, built once, and carried whole to judge processes."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from autograder import config as config_module
from autograder import curriculum, data
from autograder.config import GradingConfig
from autograder.sandbox import Limits


def test_every_field_is_typed_has_a_default_and_a_description():
    hints = typing.get_type_hints(GradingConfig)
    for f in dataclasses.fields(GradingConfig):
        assert f.name in hints
        assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING, f.name
        assert f.metadata.get("doc", "").strip(), f"{f.name} has no description"
    assert set(GradingConfig.describe()) == {f.name for f in dataclasses.fields(GradingConfig)}


def test_a_config_cannot_be_changed():
    config = GradingConfig(sandbox="process")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.examples = 3  # type: ignore[misc]


def test_build_resolves_everything_once(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setenv(data.FASHION_ENV_VAR, str(tmp_path / "fashion"))
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('[points]\n"mlp.relu" = 4\n')
    config = GradingConfig.build(sandbox="process", device="auto", timeout=7, rubric=str(rubric), training=False)
    assert config.is_built
    assert config.mode == "process" and "requested" in config.mode_reason
    assert config.device in ("cpu", "cuda")
    assert config.limits.call_seconds == 7 and config.limits.module_seconds == Limits().module_seconds
    assert config.data == str(tmp_path / "env")  # from $DIVEKIT_DATA, read at build time
    assert config.fashion_mnist == str(tmp_path / "fashion")  # from $DIVEKIT_FASHION_MNIST, likewise
    assert GradingConfig.from_dict(config.to_dict()).fashion_mnist == config.fashion_mnist  # to grade-all's judges
    assert config.rubric is not None and config.rubric.stub_points("mlp.relu") == 4
    assert config.rubric_file == str(rubric) and config.training is False
    explicit = GradingConfig.build(sandbox="process", data=str(tmp_path / "mine"), rubric=None)
    assert explicit.data == str(tmp_path / "mine")  # --data wins over the environment

    def never(*_):
        raise AssertionError("a built config is not resolved again")

    monkeypatch.setattr(config_module, "choose_mode", never)
    monkeypatch.setattr(config_module, "load_rubric", never)
    assert config.built() is config


def test_build_refuses_what_cannot_be_had(tmp_path):
    with pytest.raises(ValueError, match="sandbox must be one of auto, bwrap, process"):
        GradingConfig(sandbox="docker")
    with pytest.raises(ValueError, match="lanes must be 0 \\(automatic\\) or more, not -1"):
        GradingConfig(lanes=-1)
    bad = tmp_path / "rubric.toml"
    bad.write_text("[policy]\nshare = 1\n")
    with pytest.raises(ValueError, match="unknown key 'share' in \\[policy\\]"):
        GradingConfig.build(sandbox="process", rubric=str(bad))


def test_the_plain_form_rebuilds_the_same_config(tmp_path):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("[policy]\nfrom_scratch_share = 0.25\n")
    config = GradingConfig.build(sandbox="process", examples=4, limits=Limits(call_seconds=3), rubric=str(rubric))
    plain = json.loads(json.dumps(config.to_dict()))
    assert "rubric" not in plain  # the file travels, and is read again on the other side
    again = GradingConfig.from_dict(plain)
    assert again == config
    assert again.rubric == curriculum.load_rubric(rubric)


def test_lanes_are_automatic_unless_asked(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert GradingConfig().module_lanes() == 1  # one core: one module at a time
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert GradingConfig().module_lanes() == 2  # the judge is one process: two keep it busy
    assert GradingConfig().module_lanes(cores=1) == 1  # a judge among several: its share
    assert GradingConfig(lanes=3).module_lanes() == 3
