"""DR-learner: the effect of an action regressed on doubly robust pseudo-outcomes.

For an action a and a decision i logged with action A_i, stratum a = {A in (a, none)}, the
pseudo-outcome

    phi_i = mu(x_i, a) - mu(x_i, none) + 1[A_i = a] (y_i - mu(x_i, a)) / e_i
                                       - 1[A_i = none] (y_i - mu(x_i, none)) / (1 - e_i)

has expectation tau(x_i, a) = P(y | x, a) - P(y | x, none) when either the outcome model mu or the
stratum propensity e is right (Kennedy 2023). Here e is known from the logged propensities of a
randomized log, so phi is unbiased whatever mu is; mu only lowers its variance. mu is the pooled
S-learner (fewer, larger boosting steps: it only needs to lower the variance), cross-fitted over
folds of accounts so that no row's pseudo-outcome uses a model trained on it.

One regressor serves every action (action columns are features, monotone in the discount): its rows
are the logged touches, each in its own action's stratum, and the `none` decisions, each paired with
one action of its category drawn in proportion to how often the action was logged (so every stratum
gets its share of controls). Within stratum a, e_i = p_a / (p_a + q_a p_none), with the row's own
logged propensity for its side, the mean logged propensity of the other side, and q_a the chance
that a `none` decision of the category is paired with a. Prediction: ``p_none(x)`` from the baseline
model (trained on every untreated row) for `none` rows, ``clip(p_none(x) + tau(x, a))`` for actions.

``pseudo="r"`` fits the same strata the R-learner's way (Nie and Wager 2021): the outcome's residual
``y − m(x)`` with ``m = e mu(x, a) + (1 − e) mu(x, none)`` over the treatment's residual ``T − e``,
weighted by ``(T − e)²`` — the orthogonalization behind causal forests, on LightGBM; its weights
temper the rows a rare stratum propensity would blow up.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from features.policy import NONE_CHANNEL
from models.design import DesignMatrix, action_frame
from models.estimators import ConversionClassifier
from models.learners import _AdditiveEffect, _check_frame, _check_input, _contact_split

#: Stratum propensities are kept inside [MIN_E, 1 - MIN_E] so one rare row cannot dominate.
MIN_E = 0.05
#: "dr": doubly robust pseudo-outcomes; "r": the R-learner's residual-on-residual regression.
PSEUDO_OUTCOMES = ("dr", "r")


class DRLearnerClassifier(_AdditiveEffect):
    """A `none` baseline model plus one regressor of the effect of an action, fitted on doubly
    robust pseudo-outcomes (module docstring).

    ``fit(X, y, X_calib=, y_calib=, raw=, propensity=, groups=, outcomes=)``: ``raw`` is the examples frame
    the design matrix ``X`` was encoded from (for each row's ``category``, ``channel``,
    ``offer_id``, ``discount_pct``); ``propensity`` the logged propensity of each row's action (NaN
    for rows that are not logged decisions, e.g. untreated history windows: they train the baseline
    only); ``groups`` the account of each row (folds of the outcome model); ``outcomes``, a dict that
    keeps the cross-fitted outcome model's predictions, so a DR- and an R-learner fitted on the same
    rows with the same seed share them.
    """

    def __init__(self, *, pseudo: str = "dr", design: DesignMatrix | None = None,
                 account_columns: list[str] | None = None,
                 monotone_constraints: list[int] | None = None, n_estimators: int = 200,
                 nuisance_folds: int = 2, nuisance_estimators: int = 100, effect_estimators: int = 300, effect_learning_rate: float = 0.03,
                 effect_leaves: int = 15, effect_min_child_samples: int = 200,
                 random_state: int = 0, n_jobs: int = 2):
        self.pseudo = pseudo
        self.design = design
        self.account_columns = account_columns
        self.monotone_constraints = monotone_constraints
        self.n_estimators = n_estimators
        self.nuisance_folds = nuisance_folds
        self.nuisance_estimators = nuisance_estimators
        self.effect_estimators = effect_estimators
        self.effect_learning_rate = effect_learning_rate
        self.effect_leaves = effect_leaves
        self.effect_min_child_samples = effect_min_child_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: Any, *, X_calib: pd.DataFrame | None = None, y_calib: Any = None,
            raw: pd.DataFrame | None = None, propensity: Any = None, groups: Any = None,
            baseline: ConversionClassifier | None = None, outcomes: dict[str, np.ndarray] | None = None
            ) -> DRLearnerClassifier:
        X = _check_frame(X, "X")
        y = np.asarray(y, dtype=float)
        if self.design is None or not self.account_columns:
            raise ValueError("DRLearnerClassifier needs design= (the fitted DesignMatrix) and account_columns")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        if raw is None or len(raw) != len(y):
            raise ValueError(f"raw must be the examples frame of X's {len(y)} rows "
                             f"(category, channel, offer_id, discount_pct); got {None if raw is None else len(raw)} rows")
        if self.nuisance_folds < 2:
            raise ValueError(f"nuisance_folds must be >= 2, got {self.nuisance_folds}")
        p = np.full(len(y), np.nan) if propensity is None else np.asarray(propensity, dtype=float)
        if p.shape != y.shape:
            raise ValueError(f"propensity has {p.shape[0]} values for {len(y)} rows")
        X_calib, y_calib, contact, contact_calib = _contact_split(X, X_calib, y_calib, "DR")
        self._fit_baseline(X, y, contact, X_calib, y_calib, contact_calib, baseline)
        if self.pseudo not in PSEUDO_OUTCOMES:
            raise ValueError(f"pseudo must be one of {', '.join(PSEUDO_OUTCOMES)}; got {self.pseudo!r}")
        rows, act, phi, weight = self._pseudo_outcomes(X, y, raw.reset_index(drop=True), p, contact, groups,
                                                       {} if outcomes is None else outcomes)
        if len(rows) == 0:
            raise ValueError("DR-learner: no logged decision has a propensity; it needs a randomized log")
        Xe = self.design.with_actions(self.design.encoded(X)[rows], act)
        params: dict[str, Any] = dict(
            objective="regression", n_estimators=self.effect_estimators,
            learning_rate=self.effect_learning_rate, num_leaves=self.effect_leaves,
            min_child_samples=self.effect_min_child_samples, reg_lambda=5.0, colsample_bytree=0.8,
            subsample=0.8, subsample_freq=1, random_state=self.random_state, n_jobs=self.n_jobs, verbose=-1)
        if self.monotone_constraints is not None:
            params.update(monotone_constraints=list(self.monotone_constraints),
                          monotone_constraints_method="advanced")
        categorical = [j for j, c in enumerate(self.design.columns) if c in self.design.categorical_columns]
        effect = lgb.LGBMRegressor(**params)
        effect.fit(Xe, phi, sample_weight=weight, categorical_feature=categorical)
        self.effect_ = effect.booster_
        self.pseudo_outcomes_ = int(len(phi))
        return self

    def _pseudo_outcomes(self, X: pd.DataFrame, y: np.ndarray, raw: pd.DataFrame, p: np.ndarray,
                         contact: np.ndarray, groups: Any, outcomes: dict[str, np.ndarray]
                         ) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
        """(row index into X, the action of each pseudo row as raw action columns, pseudo-outcome,
        its regression weight)."""
        logged = np.isfinite(p) & (p > 0)
        touch = np.flatnonzero(logged & contact & raw["offer_id"].notna().to_numpy())
        none = np.flatnonzero(logged & ~contact)
        rng = np.random.default_rng(self.random_state)
        key = raw["channel"].astype(str) + "|" + raw["offer_id"].astype(str) + "|" + \
            raw["discount_pct"].fillna(0).astype(float).astype(str)
        category = raw["category"].astype(str).to_numpy()
        # Each `none` decision row gets one action of its category, drawn in proportion to how often
        # that action was logged; q = the chance of that draw.
        paired, q_none = np.full(len(none), -1, dtype=np.int64), np.zeros(len(none))
        q_touch = np.zeros(len(touch))
        for cat in np.unique(category[touch]):
            of_cat = touch[category[touch] == cat]
            keys, first, counts = np.unique(key.to_numpy()[of_cat], return_index=True, return_counts=True)
            share = counts / counts.sum()
            mine = np.flatnonzero(category[none] == cat)
            draw = rng.choice(len(keys), size=len(mine), p=share)
            paired[mine] = of_cat[first[draw]]
            q_none[mine] = share[draw]
            q_touch[category[touch] == cat] = pd.Series(share, index=keys).reindex(key.to_numpy()[of_cat]).to_numpy()
        none, q_none, paired = none[paired >= 0], q_none[paired >= 0], paired[paired >= 0]
        mean_p = pd.Series(p[touch]).groupby(key.to_numpy()[touch]).mean()
        p_none_mean = float(np.mean(p[none])) if len(none) else np.nan
        if not len(none) or not np.isfinite(p_none_mean):
            raise ValueError("DR-learner: the log has no `none` decisions with a propensity to compare with")
        e_touch = p[touch] / (p[touch] + q_touch * p_none_mean)
        e_none = mean_p.reindex(key.to_numpy()[paired]).to_numpy() / (
            mean_p.reindex(key.to_numpy()[paired]).to_numpy() + q_none * p[none])
        e_touch, e_none = np.clip(e_touch, MIN_E, 1 - MIN_E), np.clip(e_none, MIN_E, 1 - MIN_E)

        by_rep = X["action_executed_by_rep"].to_numpy(dtype=float) > 0
        acts = pd.concat([self._raw_actions(raw.iloc[touch], by_rep[touch]),
                          self._raw_actions(raw.iloc[paired], by_rep[paired])], ignore_index=True)
        rows = np.r_[touch, none]
        if "mu_a" not in outcomes or len(outcomes["mu_a"]) != len(rows):
            outcomes["mu_a"], outcomes["mu_0"] = self._cross_fitted_outcomes(X, y, rows, acts, groups)
        mu_a, mu_0 = outcomes["mu_a"], outcomes["mu_0"]
        n_t = len(touch)
        treated = np.r_[np.ones(n_t), np.zeros(len(none))]
        e = np.r_[e_touch, e_none]
        y_rows = y[rows]
        if self.pseudo == "r":  # residual on residual: (y - m) / (T - e), weighted by (T - e)^2
            m = e * mu_a + (1 - e) * mu_0
            return rows, acts, (y_rows - m) / (treated - e), (treated - e) ** 2
        phi = mu_a - mu_0 + treated * (y_rows - mu_a) / e - (1 - treated) * (y_rows - mu_0) / (1 - e)
        return rows, acts, phi, np.ones(len(phi))

    @staticmethod
    def _raw_actions(rows: pd.DataFrame, by_rep: np.ndarray) -> pd.DataFrame:
        return action_frame(rows["channel"].to_numpy(dtype=object), rows["offer_id"].to_numpy(dtype=object),
                            rows["discount_pct"].fillna(0).to_numpy(dtype=float),
                            np.where(by_rep, "rep", "marketing").astype(object))

    def _design(self) -> DesignMatrix:
        """The design matrix the learner was built over (required to encode raw rows)."""
        if self.design is None:
            raise ValueError("DRLearnerClassifier needs design= to encode raw rows")
        return self.design

    def _cross_fitted_outcomes(self, X: pd.DataFrame, y: np.ndarray, rows: np.ndarray, acts: pd.DataFrame,
                               groups: Any) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold mu(x, a) and mu(x, none) of the pseudo rows (pooled model, folds by account)."""
        g = np.arange(len(y)) if groups is None else np.asarray(groups, dtype=object)
        codes = pd.factorize(g)[0]
        fold = np.random.default_rng(self.random_state + 1).integers(0, self.nuisance_folds, codes.max() + 1)[codes]
        design = self._design()
        encoded = design.encoded(X)
        with_a = design.with_actions(encoded[rows], acts)
        n = len(rows)
        none_acts = action_frame(np.full(n, NONE_CHANNEL, dtype=object), np.full(n, None), np.zeros(n),
                                 np.full(n, None))
        with_0 = design.with_actions(encoded[rows], none_acts)
        mu_a, mu_0 = np.empty(n), np.empty(n)
        for k in range(self.nuisance_folds):
            held = fold[rows] == k
            train = fold != k
            if not held.any():
                continue
            if len(np.unique(y[train])) < 2:
                raise ValueError(f"DR-learner: outcome-model fold {k} has a single class; need more accounts")
            model = ConversionClassifier(monotone_constraints=self.monotone_constraints,
                                         n_estimators=self.nuisance_estimators, learning_rate=0.12,
                                         calibrate=False, random_state=self.random_state, n_jobs=self.n_jobs)
            model.fit(X.loc[train], y[train])
            mu_a[held] = model.predict_proba(with_a[held])[:, 1]
            mu_0[held] = model.predict_proba(with_0[held])[:, 1]
        return mu_a, mu_0

    def effect(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The estimated change in conversion probability of each row's action against `none`."""
        check_is_fitted(self, "effect_")
        X = _check_input(X, self.n_features_in_)
        values = X if isinstance(X, np.ndarray) else self._design().encoded(X)
        return np.where(self._contact(X), np.asarray(self.effect_.predict(values)), 0.0)

