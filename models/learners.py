"""Ways to estimate P(convert | account, category, action), each usable by the same decision step.

Every learner is a classifier over the full design matrix (``models.design``): ``predict_proba``
answers for `none` rows (``action_is_contact`` = 0) and for action rows alike, so
``models.decision.score_actions`` computes the expected incremental margin the same way whichever
learner is used.

- ``"s"`` (S-learner): :class:`models.estimators.ConversionClassifier`, one pooled model with the
  action as features.
- ``"t"`` (T-learner): :class:`TLearnerClassifier`, a `none` baseline model trained on untreated
  rows only plus one model per channel × offer trained on that action's touches (pooled over the
  discount steps, monotone in the discount); groups with too few touches use a pooled model of all
  touches.
- ``"x"`` (X-learner, treated side): :class:`XLearnerClassifier`, the same `none` baseline, then one
  regressor of the imputed effect ``y − p_none(x)`` over all touches (action features, monotone in the
  discount), each touch weighted by its inverse logged propensity. The X-learner's control-side
  estimate (imputing each action's outcome for `none` rows) gets a weight of about
  ``e_a / (e_a + e_none)`` in its combination, a few percent when the logging policy spreads over
  dozens of actions, and is left out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from models.estimators import ConversionClassifier

LEARNERS = ("s", "t", "x")
_EPS = 1e-4


def _rows(X: pd.DataFrame | np.ndarray, mask: np.ndarray) -> pd.DataFrame | np.ndarray:
    return X[mask] if isinstance(X, np.ndarray) else X.loc[mask]


def _column(X: pd.DataFrame | np.ndarray, index: int, name: str) -> np.ndarray:
    """A column as floats (categoricals as level codes, missing as NaN)."""
    if isinstance(X, np.ndarray):
        return X[:, index].astype(float)
    col = X[name]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.where(col.cat.codes.to_numpy() < 0, np.nan, col.cat.codes.to_numpy()).astype(float)
    return col.to_numpy(dtype=float, na_value=np.nan)


def _check_frame(X: Any, name: str) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame (encoded by DesignMatrix), got {type(X).__name__}")
    for col in ("action_is_contact", "action_channel", "action_offer_id", "action_discount_pct"):
        if col not in X.columns:
            raise ValueError(f"{name} lacks the action column {col!r}; encode it with DesignMatrix.transform")
    return X


def _check_input(X: Any, n_features: int) -> pd.DataFrame | np.ndarray:
    if isinstance(X, np.ndarray):
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"X has shape {X.shape}; expected (n, {n_features})")
        return X
    return _check_frame(X, "X")


def predict_distinct(predict: Callable[[Any], np.ndarray], X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """``predict(X)``, computed once per distinct row: scoring every action of a decision repeats its
    account columns once per action, and the baseline reads only those."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    if len(frame) < 2:
        return np.asarray(predict(X), dtype=float)
    codes, uniques = pd.factorize(pd.util.hash_pandas_object(frame, index=False))
    if len(uniques) > 0.8 * len(frame):
        return np.asarray(predict(X), dtype=float)
    first = np.zeros(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    rows = X.iloc[first] if isinstance(X, pd.DataFrame) else X[first]
    return np.asarray(predict(rows), dtype=float)[codes]


class _TwoStage(ClassifierMixin, BaseEstimator):
    """Shared parts of the learners with a separate `none` baseline model."""

    def _fit_baseline(self, X: pd.DataFrame, y: np.ndarray, contact: np.ndarray,
                      X_calib: pd.DataFrame | None, y_calib: np.ndarray | None,
                      contact_calib: np.ndarray | None, baseline: ConversionClassifier | None = None) -> None:
        """Fit the `none` model on the untreated rows' account columns, or take ``baseline`` (one
        already fitted on the same rows, e.g. by another learner of the same cross-fitting fold)."""
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.columns_ = list(X.columns)
        self.contact_index_ = self.columns_.index("action_is_contact")
        self.account_index_ = np.array([self.columns_.index(c) for c in self.account_columns])
        if baseline is not None:
            check_is_fitted(baseline, "booster_")
            self.baseline_ = baseline
            self.classes_ = np.array([0, 1])
            return
        base = ConversionClassifier(n_estimators=self.n_estimators, random_state=self.random_state,
                                    n_jobs=self.n_jobs)
        calib = {} if X_calib is None or y_calib is None or contact_calib is None else dict(
            X_calib=X_calib.loc[~contact_calib, self.account_columns], y_calib=y_calib[~contact_calib])
        base.fit(X.loc[~contact, self.account_columns], y[~contact], **calib)
        self.baseline_ = base
        self.classes_ = np.array([0, 1])

    def _baseline_p(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        Xa = X[:, self.account_index_] if isinstance(X, np.ndarray) else X[self.account_columns]
        return predict_distinct(lambda rows: self.baseline_.predict_proba(rows)[:, 1], Xa)

    def _contact(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return np.nan_to_num(_column(X, self.contact_index_, "action_is_contact")) > 0

    def _baseline_contrib(self, X: pd.DataFrame | np.ndarray, max_rounds: int | None) -> np.ndarray:
        Xa = X[:, self.account_index_] if isinstance(X, np.ndarray) else X[self.account_columns]
        base = self.baseline_.predict_contrib(Xa, max_rounds=max_rounds)
        out = np.zeros((len(base), self.n_features_in_ + 1))
        out[:, self.account_index_] = base[:, :-1]
        out[:, -1] = base[:, -1]
        return out

    @property
    def best_iteration_(self) -> int:
        check_is_fitted(self, "baseline_")
        return int(self.baseline_.best_iteration_)

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class TLearnerClassifier(_TwoStage):
    """A `none` baseline model plus one conversion model per (channel, offer).

    ``fit(X, y, X_calib=, y_calib=)``: rows with ``action_is_contact`` = 0 train the baseline (on the
    account columns only); the touches of each channel × offer with at least ``min_group_rows`` rows
    and ``min_group_conversions`` conversions train that group's model (monotone in the discount);
    all touches train a pooled fallback model for the other groups. Every model is Platt-calibrated on
    its own calibration rows when they have both classes.
    """

    def __init__(self, *, account_columns: list[str] | None = None,
                 monotone_constraints: list[int] | None = None, n_estimators: int = 200,
                 min_group_rows: int = 1500, min_group_conversions: int = 100,
                 random_state: int = 0, n_jobs: int = 2):
        self.account_columns = account_columns
        self.monotone_constraints = monotone_constraints
        self.n_estimators = n_estimators
        self.min_group_rows = min_group_rows
        self.min_group_conversions = min_group_conversions
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _groups(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        ch = np.nan_to_num(_column(X, self.channel_index_, "action_channel"), nan=-1)
        of = np.nan_to_num(_column(X, self.offer_index_, "action_offer_id"), nan=-1)
        return (ch + 1) * 100_000 + (of + 1)

    def fit(self, X: pd.DataFrame, y: Any, *, X_calib: pd.DataFrame | None = None,
            y_calib: Any = None, baseline: ConversionClassifier | None = None) -> TLearnerClassifier:
        X = _check_frame(X, "X")
        y = np.asarray(y, dtype=float)
        if not self.account_columns:
            raise ValueError("account_columns must name the account/category feature columns")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        X_calib, y_calib, contact, contact_calib = _contact_split(X, X_calib, y_calib, "T")
        has_calib = X_calib is not None
        self._fit_baseline(X, y, contact, X_calib, y_calib, contact_calib, baseline)
        self.channel_index_ = self.columns_.index("action_channel")
        self.offer_index_ = self.columns_.index("action_offer_id")
        pooled = ConversionClassifier(monotone_constraints=self.monotone_constraints,
                                      n_estimators=self.n_estimators, random_state=self.random_state,
                                      n_jobs=self.n_jobs)
        pooled.fit(X.loc[contact], y[contact], **({} if X_calib is None or y_calib is None or contact_calib is None else dict(
            X_calib=X_calib.loc[contact_calib], y_calib=y_calib[contact_calib])))
        self.pooled_ = pooled
        groups = self._groups(X)
        groups_calib = self._groups(X_calib) if has_calib else None
        self.models_: dict[float, ConversionClassifier] = {}
        for g in np.unique(groups[contact]):
            rows = contact & (groups == g)
            if rows.sum() < self.min_group_rows or y[rows].sum() < self.min_group_conversions \
                    or y[rows].sum() == rows.sum():
                continue
            model = ConversionClassifier(monotone_constraints=self.monotone_constraints,
                                         n_estimators=self.n_estimators, random_state=self.random_state,
                                         n_jobs=self.n_jobs)
            calib = {}
            if has_calib and X_calib is not None and y_calib is not None:
                crow = contact_calib & (groups_calib == g)
                calib = dict(X_calib=X_calib.loc[crow], y_calib=y_calib[crow])
            self.models_[float(g)] = model.fit(X.loc[rows], y[rows], **calib)
        return self

    def _route(self, X: pd.DataFrame | np.ndarray) -> list[tuple[np.ndarray, Any]]:
        contact = self._contact(X)
        groups = self._groups(X)
        routed = np.zeros(len(groups), dtype=bool)
        out: list[tuple[np.ndarray, Any]] = []
        for g, model in self.models_.items():
            rows = contact & (groups == g)
            if rows.any():
                out.append((rows, model))
                routed |= rows
        out.append((contact & ~routed, self.pooled_))
        return out

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        check_is_fitted(self, "baseline_")
        X = _check_input(X, self.n_features_in_)
        p = self._baseline_p(X)
        for rows, model in self._route(X):
            if rows.any():
                p[rows] = model.predict_proba(_rows(X, rows))[:, 1]
        return np.column_stack([1 - p, p])

    def predict_contrib(self, X: pd.DataFrame | np.ndarray, max_rounds: int | None = None) -> np.ndarray:
        """Per-feature log-odds contributions of the model that answers each row; last column is the bias."""
        check_is_fitted(self, "baseline_")
        X = _check_input(X, self.n_features_in_)
        out = self._baseline_contrib(X, max_rounds)
        for rows, model in self._route(X):
            if rows.any():
                out[rows] = model.predict_contrib(_rows(X, rows), max_rounds=max_rounds)
        return out


class _AdditiveEffect(_TwoStage, ABC):
    """A two-stage learner whose conversion under an action is the baseline plus an estimated effect
    (``effect``, fitted into ``effect_``); reasons come from the baseline model."""

    @abstractmethod
    def effect(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The estimated change in conversion probability of each row's action against `none`."""

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        check_is_fitted(self, "effect_")
        X = _check_input(X, self.n_features_in_)
        p = np.clip(self._baseline_p(X) + self.effect(X), _EPS, 1 - _EPS)
        return np.column_stack([1 - p, p])

    def predict_contrib(self, X: pd.DataFrame | np.ndarray, max_rounds: int | None = None) -> np.ndarray:
        """Log-odds contributions of the baseline model (the account's own history); last column is the bias."""
        check_is_fitted(self, "effect_")
        return self._baseline_contrib(_check_input(X, self.n_features_in_), max_rounds)


class XLearnerClassifier(_AdditiveEffect):
    """A `none` baseline model plus one regressor of the effect of an action on conversion.

    ``fit(X, y, X_calib=, y_calib=, sample_weight=)``: the baseline is trained on rows with
    ``action_is_contact`` = 0 (account columns only, Platt-calibrated); the effect regressor on the
    touches, with target ``y − p_none(x)`` and all columns (action features, monotone in the
    discount), weighted by ``sample_weight`` (normally the inverse logged propensity). Prediction:
    ``p_none(x)`` for `none` rows, ``clip(p_none(x) + effect(x, a))`` for actions.
    """

    def __init__(self, *, account_columns: list[str] | None = None,
                 monotone_constraints: list[int] | None = None, n_estimators: int = 200,
                 effect_estimators: int = 300, effect_learning_rate: float = 0.03,
                 effect_leaves: int = 15, effect_min_child_samples: int = 200,
                 random_state: int = 0, n_jobs: int = 2):
        self.account_columns = account_columns
        self.monotone_constraints = monotone_constraints
        self.n_estimators = n_estimators
        self.effect_estimators = effect_estimators
        self.effect_learning_rate = effect_learning_rate
        self.effect_leaves = effect_leaves
        self.effect_min_child_samples = effect_min_child_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: Any, *, X_calib: pd.DataFrame | None = None, y_calib: Any = None,
            sample_weight: Any = None, baseline: ConversionClassifier | None = None) -> XLearnerClassifier:
        X = _check_frame(X, "X")
        y = np.asarray(y, dtype=float)
        if not self.account_columns:
            raise ValueError("account_columns must name the account/category feature columns")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        if self.monotone_constraints is not None and len(self.monotone_constraints) != X.shape[1]:
            raise ValueError(f"monotone_constraints has {len(self.monotone_constraints)} entries "
                             f"for {X.shape[1]} columns")
        X_calib, y_calib, contact, contact_calib = _contact_split(X, X_calib, y_calib, "X")
        self._fit_baseline(X, y, contact, X_calib, y_calib, contact_calib, baseline)
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if len(weight) != len(y) or not np.isfinite(weight).all() or (weight < 0).any():
            raise ValueError(f"sample_weight must be {len(y)} finite values >= 0")
        Xt = X.loc[contact]
        imputed = y[contact] - self._baseline_p(Xt)
        params: dict[str, Any] = dict(
            objective="regression", n_estimators=self.effect_estimators,
            learning_rate=self.effect_learning_rate, num_leaves=self.effect_leaves,
            min_child_samples=self.effect_min_child_samples, reg_lambda=5.0, colsample_bytree=0.8,
            subsample=0.8, subsample_freq=1, random_state=self.random_state, n_jobs=self.n_jobs,
            verbose=-1)
        if self.monotone_constraints is not None:
            params.update(monotone_constraints=list(self.monotone_constraints),
                          monotone_constraints_method="advanced")
        effect = lgb.LGBMRegressor(**params)
        effect.fit(Xt, imputed, sample_weight=weight[contact])
        self.effect_ = effect.booster_
        return self

    def effect(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The estimated change in conversion probability of each row's action against `none`."""
        check_is_fitted(self, "effect_")
        X = _check_input(X, self.n_features_in_)
        return np.where(self._contact(X), np.asarray(self.effect_.predict(X)), 0.0)



def inverse_propensity_weights(propensity: np.ndarray, clip_quantile: float = 0.99) -> np.ndarray:
    """Weights 1/propensity normalized to mean 1, capped at a quantile; missing propensities get 1."""
    p = np.asarray(propensity, dtype=float)
    w = np.where((p > 0) & np.isfinite(p), 1.0 / np.where(p > 0, p, 1.0), np.nan)
    if np.isnan(w).all():
        return np.ones(len(p))
    w = np.where(np.isnan(w), np.nanmedian(w), w)
    w = np.minimum(w, np.quantile(w, clip_quantile))
    return w / w.mean()


def _contact_split(X: pd.DataFrame, X_calib: pd.DataFrame | None, y_calib: np.ndarray | None, learner: str
                   ) -> tuple[pd.DataFrame | None, np.ndarray | None, np.ndarray, np.ndarray | None]:
    """(X_calib, y_calib, touch mask of X, touch mask of X_calib): calibration rows only when given
    and not empty; a ValueError when X lacks `none` rows or touches."""
    has_calib = X_calib is not None and y_calib is not None and len(X_calib) > 0
    y_cal = np.asarray(y_calib, dtype=float) if has_calib else None
    contact = np.nan_to_num(X["action_is_contact"].to_numpy(dtype=float)) > 0
    contact_calib = (np.nan_to_num(X_calib["action_is_contact"].to_numpy(dtype=float)) > 0) \
        if has_calib and X_calib is not None else None
    if contact.all() or not contact.any():
        raise ValueError(f"{learner}-learner needs `none` rows and touches; got {int((~contact).sum())} `none` rows "
                         f"and {int(contact.sum())} touches")
    return (X_calib if has_calib else None), y_cal, contact, contact_calib
