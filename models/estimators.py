"""LightGBM response models wrapped as scikit-learn estimators.

- :class:`ConversionClassifier` estimates P(convert | account, category, action) with a monotone
  constraint (conversion never falls as the discount rises) and Platt calibration on held-out rows.
- :class:`ConversionValueRegressor` estimates the list-price revenue of a conversion, from which the
  decision derives margin with the contract's formula.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from models.calibration import DEFAULT_L2, ActionCalibrator, propensity_weights

_EPS = 1e-6
#: How scores are calibrated: one Platt map over all rows, per action group on the calibration rows,
#: or per action group on cross-fitted scores of the training rows too (models.calibration).
CALIBRATIONS = ("pooled", "action", "crossfit")
#: Default number of folds of the cross-fitted calibration.
DEFAULT_CALIBRATION_FOLDS = 3
#: LightGBM's ways to enforce monotone constraints, from the most to the least conservative.
MONOTONE_METHODS = ("basic", "intermediate", "advanced")
_HAS_EVAL_X = "eval_X" in inspect.signature(lgb.LGBMClassifier.fit).parameters


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _check_frame(X: Any, name: str = "X") -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame (encoded by DesignMatrix), got {type(X).__name__}")
    return X


def _check_input(X: Any, n_features: int) -> pd.DataFrame | np.ndarray:
    """Prediction input: a DataFrame as in fit, or the same columns as a float matrix
    (``DesignMatrix.encode``: categoricals as level codes)."""
    if isinstance(X, np.ndarray):
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"X has shape {X.shape}; expected (n, {n_features})")
        return X
    return _check_frame(X)


def split_forest(booster: lgb.Booster, num_iteration: int, *tiers: set[int]
                 ) -> tuple[lgb.Booster | None, ...] | None:
    """The trees of the first ``num_iteration`` rounds in ``len(tiers) + 1`` boosters: part ``k > 0``
    holds the trees that split on a column of ``tiers[k - 1]`` and of no later tier, part 0 those
    that split on none of them. Each part's raw score is the sum of its trees (None for an empty
    part), so the parts add up to the model's. None when the model has more than one tree per round
    or linear trees, whose leaves read more features."""
    text = booster.model_to_string(num_iteration=num_iteration)
    if "\nnum_tree_per_iteration=1\n" not in text or "\nis_linear=1" in text:
        return None
    start, end = text.index("\nTree=") + 1, text.index("end of trees")
    head = re.sub(r"(?m)^tree_sizes=.*\n", "", text[:start])  # sizes change; LightGBM then scans
    trees = re.split(r"(?m)^Tree=\d+\n", text[start:end])[1:]
    parts: list[list[str]] = [[] for _ in range(len(tiers) + 1)]
    for tree in trees:
        found = re.search(r"(?m)^split_feature=(.*)$", tree)
        used = {int(f) for f in found.group(1).split()} if found else set()
        parts[max((k + 1 for k, tier in enumerate(tiers) if used & tier), default=0)].append(tree)

    def booster_of(part: list[str]) -> lgb.Booster | None:
        if not part:
            return None
        body = "".join(f"Tree={i}\n{tree}" for i, tree in enumerate(part))
        return lgb.Booster(model_str=head + body + text[end:])

    return tuple(booster_of(part) for part in parts)


class ConversionClassifier(ClassifierMixin, BaseEstimator):
    """Pooled conversion model over all actions (one model with action features).

    ``fit(X, y, X_calib=..., y_calib=...)`` trains LightGBM on ``X`` and fits a Platt (logistic)
    map on the calibration rows' out-of-sample scores. By default it trains a fixed number of
    rounds: early stopping on the pooled log loss stops once the baseline is fit, before the
    small action effects are learned, and measurably lowers the policy's value (see
    docs/benchmarks.md); ``early_stopping_rounds=N`` turns it on. Platt is
    strictly monotone, so the small differences between an action and ``none`` that the decision
    depends on survive calibration (isotonic steps would flatten them into ties).
    ``calibration="action"`` replaces the one Platt map with per-action-group offsets
    (:class:`models.calibration.ActionCalibrator`), which corrects a lift the trees under-learn.
    ``calibration="crossfit"`` fits those offsets on out-of-fold scores of the training rows as well
    (``calibration_folds`` models on the other folds, folds by ``groups``, e.g. accounts), each
    logged touch weighted by its inverse ``propensity``, so there are several times more conversions
    per action behind each offset than in the calibration split.
    """

    #: Defaults for pipelines pickled before these parameters existed.
    calibration = "pooled"
    calibration_l2 = DEFAULT_L2
    calibration_folds = DEFAULT_CALIBRATION_FOLDS

    def __init__(self, *, n_estimators: int = 200, learning_rate: float = 0.06, num_leaves: int = 31,
                 min_child_samples: int = 40, reg_lambda: float = 1.0, colsample_bytree: float = 0.8,
                 subsample: float = 0.8, monotone_constraints: list[int] | None = None,
                 early_stopping_rounds: int | None = None, calibrate: bool = True,
                 baseline_columns: list[str] | None = None, monotone_method: str = "intermediate",
                 calibration: str = "pooled", calibration_l2: float = DEFAULT_L2,
                 calibration_folds: int = DEFAULT_CALIBRATION_FOLDS, random_state: int = 0, n_jobs: int = 2):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.colsample_bytree = colsample_bytree
        self.subsample = subsample
        self.monotone_constraints = monotone_constraints
        self.early_stopping_rounds = early_stopping_rounds
        self.monotone_method = monotone_method
        self.calibrate = calibrate
        self.calibration = calibration
        self.calibration_l2 = calibration_l2
        self.calibration_folds = calibration_folds
        self.baseline_columns = baseline_columns
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _lgb_params(self) -> dict[str, Any]:
        params: dict[str, Any] = dict(
            objective="binary", n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
            reg_lambda=self.reg_lambda, colsample_bytree=self.colsample_bytree,
            subsample=self.subsample, subsample_freq=1 if self.subsample < 1 else 0,
            random_state=self.random_state, n_jobs=self.n_jobs, verbose=-1,
        )
        if self.monotone_constraints is not None:
            params["monotone_constraints"] = list(self.monotone_constraints)
            params["monotone_constraints_method"] = self.monotone_method
        return params

    def fit(self, X: pd.DataFrame, y: Any, *, X_calib: pd.DataFrame | None = None,
            y_calib: Any = None, groups: Any = None, propensity: Any = None,
            propensity_calib: Any = None) -> ConversionClassifier:
        """Train on ``X``, ``y``; calibrate on ``X_calib``, ``y_calib``. ``groups`` (e.g. account ids),
        ``propensity`` and ``propensity_calib`` (logged propensities, NaN where unknown) are used by
        ``calibration="crossfit"`` only."""
        X = _check_frame(X)
        y = np.asarray(y, dtype=float)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        if set(np.unique(y)) - {0.0, 1.0}:
            raise ValueError(f"y must be 0/1 conversion labels, got values {np.unique(y)[:5]}")
        if len(np.unique(y)) < 2:
            raise ValueError("y has a single class; need converted and non-converted examples to learn")
        if self.monotone_constraints is not None and len(self.monotone_constraints) != X.shape[1]:
            raise ValueError(
                f"monotone_constraints has {len(self.monotone_constraints)} entries for {X.shape[1]} columns"
            )
        if self.monotone_method not in MONOTONE_METHODS:
            raise ValueError(f"monotone_method must be one of {', '.join(MONOTONE_METHODS)}; "
                             f"got {self.monotone_method!r}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)}; got {self.calibration!r}")
        if self.calibration == "crossfit":
            if self.calibration_folds < 2:
                raise ValueError(f"calibration_folds must be >= 2, got {self.calibration_folds}")
            if self.baseline_columns:
                raise ValueError("calibration='crossfit' does not support baseline_columns")
        has_calib = X_calib is not None and y_calib is not None and len(X_calib) > 0
        if has_calib:
            X_calib = _check_frame(X_calib, "X_calib")
            y_calib = np.asarray(y_calib, dtype=float)
        self.baseline_: lgb.Booster | None = None
        init_train = init_calib = None
        if self.baseline_columns:
            unknown = [c for c in self.baseline_columns if c not in X.columns]
            if unknown:
                raise ValueError(f"baseline_columns {unknown[:5]} are not columns of X")
            params = {k: v for k, v in self._lgb_params().items() if not k.startswith("monotone")}
            base = lgb.LGBMClassifier(**params)
            base.fit(X[self.baseline_columns], y, **self._early_stopping(
                X_calib[self.baseline_columns] if has_calib and X_calib is not None else None,
                y_calib if has_calib else None))
            self.baseline_ = base.booster_
            self.baseline_iteration_ = int(base.best_iteration_ or base.n_estimators)
            self.baseline_index_ = X.columns.get_indexer(self.baseline_columns)
            init_train = self._baseline_raw(X)
            init_calib = self._baseline_raw(X_calib) if has_calib else None
        model = lgb.LGBMClassifier(**self._lgb_params())
        fit_kwargs = self._early_stopping(X_calib if has_calib else None, y_calib if has_calib else None,
                                          init_calib)
        model.fit(X, y, init_score=init_train, **fit_kwargs)
        self.booster_ = model.booster_
        self.lgbm_ = model
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.best_iteration_ = int(model.best_iteration_ or model.n_estimators)
        self.calibrator_: tuple[float, float] | None = None
        self.action_calibrator_: ActionCalibrator | None = None
        if self.calibrate and self.calibration == "crossfit":
            self.action_calibrator_ = self._crossfit_calibrator(
                X, y, groups, propensity, X_calib if has_calib else None,
                y_calib if has_calib else None, propensity_calib)
        elif self.calibrate and has_calib and len(np.unique(y_calib)) == 2 and self.calibration == "action":
            self.action_calibrator_ = ActionCalibrator(l2=self.calibration_l2).fit(
                self._raw(X_calib), y_calib, X_calib, list(X.columns))
        elif self.calibrate and has_calib and len(np.unique(y_calib)) == 2:
            raw = self._raw(X_calib)
            lr = LogisticRegression(C=1e4, max_iter=1000).fit(raw.reshape(-1, 1), y_calib)
            slope, intercept = float(lr.coef_[0, 0]), float(lr.intercept_[0])
            if slope > 0:  # a non-increasing map would reverse the ranking; keep raw scores then
                self.calibrator_ = (slope, intercept)
        return self

    def _crossfit_calibrator(self, X: pd.DataFrame, y: np.ndarray, groups: Any, propensity: Any,
                             X_calib: pd.DataFrame | None, y_calib: np.ndarray | None,
                             propensity_calib: Any) -> ActionCalibrator:
        """An ActionCalibrator fitted on out-of-fold raw scores of the training rows (one LightGBM
        model per fold, trained on the other folds with the same settings) and on the final model's
        scores of the calibration rows, touches weighted by their inverse logged propensity."""
        groups = np.arange(len(y)) if groups is None else np.asarray(groups, dtype=object)
        if len(groups) != len(y):
            raise ValueError(f"groups has {len(groups)} entries for {len(y)} rows")
        codes = pd.factorize(groups)[0]
        fold = np.random.default_rng(self.random_state).integers(0, self.calibration_folds, codes.max() + 1)[codes]
        raw = np.empty(len(y))
        for k in range(self.calibration_folds):
            held = fold == k
            if not held.any():
                continue
            if held.all() or len(np.unique(y[~held])) < 2:
                raise ValueError(f"fold {k} of {self.calibration_folds} leaves no rows of both classes to "
                                 f"train on; give more groups (got {codes.max() + 1})")
            model = lgb.LGBMClassifier(**self._lgb_params()).fit(X[~held], y[~held])
            raw[held] = model.booster_.predict(X[held], raw_score=True,
                                               num_iteration=int(model.best_iteration_ or model.n_estimators))
        p = np.full(len(y), np.nan) if propensity is None else np.asarray(propensity, dtype=float)
        frames, scores, outcomes, props = [X], [raw], [y], [p]
        if X_calib is not None and y_calib is not None:
            frames.append(X_calib)
            scores.append(self._raw(X_calib))
            outcomes.append(y_calib)
            props.append(np.full(len(y_calib), np.nan) if propensity_calib is None
                         else np.asarray(propensity_calib, dtype=float))
        rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else X
        names = list(X.columns)
        weight = propensity_weights(np.concatenate(props), rows, names)
        return ActionCalibrator(l2=self.calibration_l2).fit(
            np.concatenate(scores), np.concatenate(outcomes), rows, names, sample_weight=weight)

    def _early_stopping(self, X_calib: pd.DataFrame | None, y_calib: np.ndarray | None,
                        init_calib: np.ndarray | None = None) -> dict[str, Any]:
        if X_calib is None or y_calib is None or self.early_stopping_rounds is None:
            return {}
        out: dict[str, Any] = dict(eval_metric="binary_logloss",
                                   callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
        if _HAS_EVAL_X:  # LightGBM >= 4.6 names the validation data eval_X / eval_y
            out.update(eval_X=(X_calib,), eval_y=(y_calib,))
        else:
            out["eval_set"] = [(X_calib, y_calib)]
        if init_calib is not None:
            out["eval_init_score"] = [init_calib]
        return out

    def _baseline_input(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
        return X[:, self.baseline_index_] if isinstance(X, np.ndarray) else X[self.baseline_columns]

    def _baseline_raw(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if self.baseline_ is None:
            raise ValueError("no baseline model: fit with baseline_columns first")
        return np.asarray(self.baseline_.predict(self._baseline_input(X), raw_score=True,
                                                 num_iteration=self.baseline_iteration_))

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        raw = np.asarray(self.booster_.predict(X, raw_score=True, num_iteration=self.best_iteration_))
        if self.baseline_ is not None:
            raw = raw + self._baseline_raw(X)
        return raw

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "booster_")
        X = _check_input(X, self.n_features_in_)
        p = self.probability_from_raw(self._raw(X), X)
        return np.column_stack([1 - p, p])

    def probability_from_raw(self, raw: np.ndarray, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated P(convert) of design rows ``X`` from their raw log-odds ``raw`` (the sum of
        the trees, baseline model included): what :meth:`predict_proba` returns in column 1."""
        return self.probability_from_line(raw, *self.calibration_line(X))

    @staticmethod
    def probability_from_line(raw: np.ndarray, slope: float, offset: np.ndarray | float) -> np.ndarray:
        """P(convert) from raw log-odds and the :meth:`calibration_line` of their rows."""
        return 1.0 / (1.0 + np.exp(-(raw * slope + offset)))

    def calibration_line(self, X: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray | float]:
        """(slope, offset per row of ``X``) of the calibration: calibrated log-odds are
        ``raw * slope + offset``. The offset depends on the action columns only (one value for the
        pooled map), so design rows of one action share it."""
        action_calibrator = getattr(self, "action_calibrator_", None)
        if action_calibrator is not None:
            return action_calibrator.line(X)
        if self.calibrator_ is not None:
            slope, intercept = self.calibrator_
            return float(slope), float(intercept)
        return 1.0, 0.0

    def split_rounds(self, *tiers: Sequence[int]) -> tuple[lgb.Booster | None, ...] | None:
        """The model's trees in ``len(tiers) + 1`` boosters by the tiers of columns (feature positions)
        they split on (:func:`split_forest`); their raw scores add up to the model's raw score. With
        one tier: the trees that never split on its columns, and those that do; rows that differ
        only in those columns (one account scored under many actions) need the first part once.
        None when the model cannot be split that way (a separate baseline model). Cached per tiers."""
        check_is_fitted(self, "booster_")
        if getattr(self, "baseline_", None) is not None:
            return None
        key = tuple(tuple(sorted(int(c) for c in tier)) for tier in tiers)
        cache: dict[tuple[tuple[int, ...], ...], Any] = self.__dict__.setdefault("_split_rounds", {})
        if key not in cache:
            cache[key] = split_forest(self.booster_, self.best_iteration_, *(set(tier) for tier in key))
        return cache[key]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_split_rounds", None)  # derived from booster_; rebuilt on first use
        return state

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def predict_contrib(self, X: pd.DataFrame | np.ndarray, max_rounds: int | None = None) -> np.ndarray:
        """Per-feature contributions (log-odds, before calibration); last column is the bias.

        ``max_rounds`` limits the attribution to the first boosting rounds, which carry the main
        effects; TreeSHAP's cost grows with every round, so explaining many rows is much faster.
        """
        check_is_fitted(self, "booster_")
        X = _check_input(X, self.n_features_in_)
        rounds = self.best_iteration_ if max_rounds is None else min(max_rounds, self.best_iteration_)
        contrib = np.asarray(self.booster_.predict(X, pred_contrib=True, num_iteration=rounds))
        if self.baseline_ is not None:
            base = np.asarray(self.baseline_.predict(self._baseline_input(X), pred_contrib=True,
                                                     num_iteration=self.baseline_iteration_))
            contrib[:, self.baseline_index_] += base[:, :-1]
            contrib[:, -1] += base[:, -1]
        return contrib


class ConversionValueRegressor(RegressorMixin, BaseEstimator):
    """Expected list-price revenue of a conversion, E[revenue | convert, account, action].

    Fits LightGBM on log revenue of converted examples and returns ``exp(prediction)`` times the
    smearing factor (mean of exp(residuals)), an unbiased back-transform for log-normal noise.
    """

    def __init__(self, *, n_estimators: int = 300, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 30, reg_lambda: float = 5.0, random_state: int = 0,
                 n_jobs: int = 2):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: Any) -> ConversionValueRegressor:
        X = _check_frame(X)
        y = np.asarray(y, dtype=float)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        if len(y) == 0:
            raise ValueError("no converted examples: cannot learn the value of a conversion")
        if (y <= 0).any():
            raise ValueError(f"revenue of a conversion must be > 0, got {int((y <= 0).sum())} rows <= 0")
        log_y = np.log(y)
        model = lgb.LGBMRegressor(
            objective="regression", n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, min_child_samples=min(self.min_child_samples, max(2, len(y) // 10)),
            reg_lambda=self.reg_lambda, random_state=self.random_state, n_jobs=self.n_jobs, verbose=-1,
        )
        model.fit(X, log_y)
        self.booster_ = model.booster_
        resid = log_y - model.predict(X)
        self.smearing_ = float(np.mean(np.exp(np.clip(resid, -10, 10))))
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "booster_")
        X = _check_input(X, self.n_features_in_)
        return np.exp(np.asarray(self.booster_.predict(X))) * self.smearing_
