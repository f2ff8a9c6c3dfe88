"""How training splits time, which learner it uses or chooses, and how it calibrates: one frozen
dataclass, readable from a YAML file (``symbiose train --config FILE.yaml``)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from features.errors import SymbioseError
from models.candidates import CALIBRATIONS, LEARNERS
from models.effect_calibration import DEFAULT_STRENGTH

#: ``TrainingConfig.learner``: one learner, or "auto" to choose among ``candidates`` on the data.
LEARNER_CHOICES = (*LEARNERS, "auto")


class ConfigError(SymbioseError, ValueError):
    """A training configuration that cannot be used; the message names the key and what is allowed."""


@dataclass(frozen=True)
class TrainingConfig:
    """How training splits time, chooses and sizes the models."""

    #: Share of the latest labelled decisions kept out of training: the validation period, where the
    #: final model's metrics and its verdict against doing nothing are measured.
    validation_share: float = 0.15
    #: Share before the validation period that calibrates the learner's own map (calibrations
    #: "pooled", "action", "crossfit" only; "effect" calibrates on cross-fitted predictions instead).
    calibration_share: float = 0.15
    min_examples: int = 200
    min_conversions: int = 20
    max_examples: int | None = 400_000
    #: Accounts training keeps at most: a stratified, seeded sample of this many accounts with all
    #: their events (``models.account_sample``); None = every account. The validation period (and
    #: the evaluation on it) is that of the sampled accounts. Training cost grows with the accounts
    #: while the policy's true value does not (normalized value 0.746 at 3,000 accounts, 0.749 at
    #: 20,000; docs/benchmarks.md), so larger data sets train on 20,000 accounts by default.
    sample_accounts: int | None = 20_000
    #: Touches of evidence at which an action's own effect estimate gets half its weight against its
    #: channel's and the overall one (effect calibration), or against its average lift (older
    #: calibrations' lift shrinkage); 0 = each action on its own.
    shrinkage_strength: float = DEFAULT_STRENGTH
    #: Accounts sampled to measure each action's average lift (lift shrinkage of older calibrations).
    prior_accounts: int = 5000
    baseline_offset: bool = False
    #: How the effect of an action is estimated (``models.candidates``): "s", "x", "r", "dr", "t", or
    #: "auto" = cross-fit ``candidates`` and keep the best by held-out policy value (``models.selection``).
    #: The pooled S-learner is the default: on every generated world preset it beat "auto", whose
    #: held-out intervals are too wide at these sizes to tell the candidates apart (docs/benchmarks.md).
    learner: str = "s"
    #: Learners "auto" compares (besides `none` and the best single action).
    candidates: tuple[str, ...] = LEARNERS
    #: Time-ordered blocks of the cross-fitting behind "auto" and the effect calibration.
    selection_folds: int = 3
    #: Logged decisions replayed per cross-fitting (all blocks together) to value the policies.
    selection_decisions: int = 60_000
    #: Rows each cross-fitted candidate trains on at most (a seeded sample beyond it); the chosen learner
    #: is then refitted, and its calibration cross-fitted, on every development row.
    selection_max_examples: int = 100_000
    #: Two-sided level of the interval a better policy must clear to be preferred to a simpler one.
    selection_level: float = 0.9
    #: Untreated windows per account drawn from the whole history as extra `none` examples
    #: (``models.baseline_examples``); 0 = logged holdouts only.
    history_windows: int = 4
    #: LightGBM's monotone-constraint method of the pooled conversion model (S-learner).
    monotone_method: str = "intermediate"
    #: "effect": baseline and effect maps fitted on cross-fitted predictions
    #: (``models.effect_calibration``), any learner. The pooled S-learner's own calibrations:
    #: "pooled" (one Platt map), "action" (per-action-group offsets on the calibration rows),
    #: "crossfit" (the same offsets on cross-fitted scores of the training rows too).
    #: "default": "crossfit" for the S-learner ("pooled" with ``baseline_offset``), "effect" for every
    #: other learner and for "auto".
    calibration: str = "default"
    #: Folds (by account) of the "crossfit" calibration.
    calibration_folds: int = 3
    #: L2 penalty of the per-action calibration offsets ("action", "crossfit").
    calibration_l2: float = 5.0
    random_state: int = 0
    #: Database URL of the service's feedback store (``SYMBIOSE_DATABASE_URL`` of ``serve``) whose
    #: reported calls and visits become touches (docs/training.md); None = the export's touches only.
    #: Read by ``symbiose train``; a caller of ``models.tracking.train_and_log`` reads it itself
    #: (``serving.feedback_touches.read_feedback_touches``) and passes the touches in.
    feedback_db: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.candidates, list):
            object.__setattr__(self, "candidates", tuple(self.candidates))
        if self.learner not in LEARNER_CHOICES:
            raise ConfigError(f"learner must be one of {', '.join(LEARNER_CHOICES)}; got {self.learner!r}")
        unknown = [c for c in self.candidates if c not in LEARNERS]
        if unknown or not self.candidates:
            raise ConfigError(f"candidates must be learners among {', '.join(LEARNERS)}; got {list(self.candidates)}")
        if self.calibration not in (*CALIBRATIONS, "default"):
            raise ConfigError(f"calibration must be one of {', '.join(CALIBRATIONS)} or default; "
                              f"got {self.calibration!r}")
        if self.effective_calibration != "effect" and self.learner == "auto":
            raise ConfigError(f"learner='auto' chooses on cross-fitted predictions and needs calibration='effect'; "
                              f"got calibration={self.calibration!r}")
        if self.effective_calibration not in ("effect", "pooled") and self.learner != "s":
            raise ConfigError(f"calibration={self.calibration!r} applies to the pooled S-learner only; "
                              f"got learner={self.learner!r}")
        if self.effective_calibration == "crossfit" and self.baseline_offset:
            raise ConfigError("calibration='crossfit' does not support baseline_offset=True")
        for name, low, high in (("validation_share", 0.01, 0.5), ("calibration_share", 0.0, 0.5),
                                ("selection_level", 0.5, 0.999)):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(f"{name} must be between {low} and {high}; got {value}")
        if self.sample_accounts is not None and (isinstance(self.sample_accounts, bool)
                                                 or not isinstance(self.sample_accounts, int)
                                                 or self.sample_accounts < 1):
            raise ConfigError(f"sample_accounts must be a whole number of accounts >= 1 or null; "
                              f"got {self.sample_accounts!r}")
        for name, low in (("calibration_l2", 0), ("shrinkage_strength", 0), ("history_windows", 0),
                          ("calibration_folds", 2), ("selection_folds", 2), ("selection_decisions", 100), ("selection_max_examples", 1000),
                          ("min_examples", 1), ("min_conversions", 1), ("prior_accounts", 1)):
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be >= {low}, got {getattr(self, name)}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "configuration") -> TrainingConfig:
        """A config from ``values`` (any subset of the fields); an unknown key is an error naming the
        allowed ones."""
        allowed = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")
        try:
            return cls(**dict(values))
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}") from exc

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> TrainingConfig:
        """A config from a YAML mapping of field names to values, then ``overrides`` on top."""
        path = Path(path)
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"--config {path}: cannot read it ({exc.strerror or exc})") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"--config {path}: not valid YAML ({exc})") from exc
        if not isinstance(values, dict):
            raise ConfigError(f"--config {path}: expected a mapping of TrainingConfig fields, got {type(values).__name__}")
        return cls.from_mapping({**values, **overrides}, source=f"--config {path}")

    @property
    def effective_calibration(self) -> str:
        """The calibration in use: ``calibration``, with "default" resolved for the learner."""
        if self.calibration != "default":
            return self.calibration
        if self.learner != "s":
            return "effect"
        return "pooled" if self.baseline_offset else "crossfit"

    def as_params(self) -> dict[str, Any]:
        """The effective configuration as flat MLflow parameters ("default" calibration resolved)."""
        params = {k: (",".join(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}
        params["calibration"] = self.effective_calibration
        if self.feedback_db is not None:
            params["feedback_db"] = _without_password(self.feedback_db)
        return params


def _without_password(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part masked (for logs and MLflow)."""
    return re.sub(r"^([A-Za-z0-9+.-]+://[^:/@]*):[^@/]*@", r"\1:***@", url)
