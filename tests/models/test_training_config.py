"""TrainingConfig: defaults, validation with named keys, YAML files, MLflow parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.training_config import ConfigError, TrainingConfig


def test_defaults_and_the_calibration_each_learner_gets() -> None:
    cfg = TrainingConfig()
    assert cfg.learner == "s" and cfg.effective_calibration == "crossfit"
    assert cfg.as_params()["calibration"] == "crossfit"
    assert set(cfg.candidates) == {"s", "x", "r", "dr", "t"}
    for learner in ("auto", "x", "r", "dr", "t"):
        assert TrainingConfig(learner=learner).effective_calibration == "effect"
    assert TrainingConfig(baseline_offset=True).effective_calibration == "pooled"
    assert TrainingConfig(learner="s", calibration="effect").effective_calibration == "effect"


def test_yaml_sets_any_field_and_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("learner: x\nhistory_windows: 2\ncandidates: [s, x]\nselection_level: 0.95\n")
    cfg = TrainingConfig.from_yaml(path)
    assert (cfg.learner, cfg.history_windows, cfg.candidates, cfg.selection_level) == ("x", 2, ("s", "x"), 0.95)
    assert TrainingConfig.from_yaml(path, learner="auto").learner == "auto"
    params = cfg.as_params()
    assert params["candidates"] == "s,x" and params["history_windows"] == 2


def test_unknown_keys_and_bad_values_name_what_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("learner: s\nlerner: x\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'lerner'; allowed: validation_share, .*learner"):
        TrainingConfig.from_yaml(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping of TrainingConfig fields, got list"):
        TrainingConfig.from_yaml(path)
    path.write_text("learner: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrainingConfig.from_yaml(path)
    with pytest.raises(ConfigError, match="cannot read it"):
        TrainingConfig.from_yaml(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="candidates must be learners among s, x, r, dr, t; got \\['q'\\]"):
        TrainingConfig(candidates=("q",))
    with pytest.raises(ConfigError, match="selection_level must be between 0.5 and 0.999; got 2"):
        TrainingConfig(selection_level=2)
    with pytest.raises(ConfigError, match="learner='auto' .* needs calibration='effect'"):
        TrainingConfig(learner="auto", calibration="pooled")
    assert TrainingConfig(learner="s", calibration="crossfit").calibration == "crossfit"
