"""The learners Symbiose can train, built and fitted one way whatever the learner.

Every learner is a classifier over the full design matrix (``models.design``) whose
``predict_proba`` answers for `none` rows and action rows alike (``models.learners``):

| name | learner |
|---|---|
| ``"s"`` | pooled S-learner, :class:`models.estimators.ConversionClassifier` |
| ``"x"`` | `none` baseline + effect regressor on imputed effects, :class:`models.learners.XLearnerClassifier` |
| ``"r"`` | `none` baseline + effect regressor on the R-learner's residuals, :class:`models.dr_learner.DRLearnerClassifier` |
| ``"dr"`` | `none` baseline + effect regressor on doubly robust pseudo-outcomes, :class:`models.dr_learner.DRLearnerClassifier` |
| ``"t"`` | `none` baseline + one model per channel × offer, :class:`models.learners.TLearnerClassifier` |

``"auto"`` (``models.selection``) cross-fits several of them and keeps the one whose policy earns the
most on held-out logged decisions. :data:`COMPLEXITY` orders the candidates from the simplest policy
to the most complex; on a tie within the interval the simpler one is kept.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from models.design import DesignMatrix
from models.dr_learner import DRLearnerClassifier
from models.estimators import ConversionClassifier
from models.learners import TLearnerClassifier, XLearnerClassifier, inverse_propensity_weights

LEARNERS = ("s", "x", "r", "dr", "t")
#: Policies from the simplest to the most complex: doing nothing, one action for everyone, learners.
COMPLEXITY = ("none", "best_single", *LEARNERS)
#: Calibrations: "effect" (cross-fitted baseline and effect maps, ``models.effect_calibration``) for
#: every learner; the pooled model's own options "pooled", "action", "crossfit" (``models.estimators``).
CALIBRATIONS = ("effect", "pooled", "action", "crossfit")


class Learner(Protocol):
    """What the decision step needs from a fitted learner."""

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray: ...

    def predict_contrib(self, X: pd.DataFrame | np.ndarray, max_rounds: int | None = None) -> np.ndarray: ...


def make_learner(name: str, design: DesignMatrix, *, calibration: str = "effect", monotone_method: str = "intermediate",
                 baseline_offset: bool = False, calibration_folds: int = 3, calibration_l2: float = 5.0,
                 random_state: int = 0) -> Any:
    """The unfitted learner ``name`` over ``design``'s columns. With ``calibration="effect"`` the
    learner's own calibration is off (the cross-fitted maps replace it)."""
    if name not in LEARNERS:
        raise ValueError(f"learner must be one of {', '.join(LEARNERS)}; got {name!r}")
    monotone = design.monotone_constraints()
    common: dict[str, Any] = dict(account_columns=design.account_columns, monotone_constraints=monotone,
                                  random_state=random_state)
    if name == "t":
        return TLearnerClassifier(**common)
    if name == "x":
        return XLearnerClassifier(**common)
    if name in ("dr", "r"):
        return DRLearnerClassifier(pseudo=name, design=design, **common)
    return ConversionClassifier(monotone_constraints=monotone,
                                baseline_columns=design.account_columns if baseline_offset else None,
                                monotone_method=monotone_method, calibrate=calibration != "effect",
                                calibration="pooled" if calibration == "effect" else calibration,
                                calibration_folds=calibration_folds, calibration_l2=calibration_l2,
                                random_state=random_state)


def fit_learner(model: Any, X: pd.DataFrame, y: np.ndarray, examples: pd.DataFrame, rows: np.ndarray,
                calib_rows: np.ndarray | None = None, baselines: dict[int, Any] | None = None) -> Any:
    """Fit ``model`` on ``X[rows]`` (``examples`` holds the same rows' raw columns: account_id,
    propensity, channel, offer_id, discount_pct, category), calibrating on ``calib_rows`` when given.
    ``baselines`` caches what learners fitted on the same rows object can share: the `none` model
    (key ``id(rows)``) and the DR- and R-learner's outcome-model predictions (key ``-id(rows)``)."""
    kwargs: dict[str, Any] = {}
    shares = isinstance(model, (TLearnerClassifier, XLearnerClassifier, DRLearnerClassifier))
    if shares and baselines is not None and id(rows) in baselines and calib_rows is None:
        kwargs["baseline"] = baselines[id(rows)]
    if calib_rows is not None and calib_rows.any():
        kwargs.update(X_calib=X[calib_rows], y_calib=y[calib_rows])
    propensity = examples["propensity"].to_numpy(dtype=float)
    if isinstance(model, XLearnerClassifier):
        kwargs["sample_weight"] = inverse_propensity_weights(propensity[rows])
    elif isinstance(model, DRLearnerClassifier):
        kwargs.update(raw=examples.loc[rows, ["category", "channel", "offer_id", "discount_pct"]],
                      propensity=propensity[rows], groups=examples.loc[rows, "account_id"].to_numpy(dtype=object))
        if baselines is not None:
            kwargs["outcomes"] = baselines.setdefault(-id(rows), {})
    elif isinstance(model, ConversionClassifier) and model.calibrate and model.calibration == "crossfit":
        kwargs.update(groups=examples.loc[rows, "account_id"].to_numpy(dtype=object), propensity=propensity[rows],
                      propensity_calib=None if calib_rows is None else propensity[calib_rows])
    fitted = model.fit(X[rows], y[rows], **kwargs)
    if shares and baselines is not None and calib_rows is None:
        baselines.setdefault(id(rows), fitted.baseline_)
    return fitted
