"""Open-source uplift learners ("peers") behind one interface: fit on logged rows, predict effects.

Every peer gets the same inputs: a float feature matrix (no missing values: ``MISSING`` stands for
them, because the forests of causalml and econml need finite inputs), the logged arm of each row
(0 = control / no action, 1..K = the arms), the outcome and, where the method uses them, the
propensities of the arms (the design's in a randomized experiment). ``fit_peer`` returns a function
that gives, for new rows, the predicted effect of every arm against control on the outcome's scale:
an (n, K) array.

Base learners are LightGBM wherever the library lets one choose them, with the same modest settings
for all (``LGBM``: 200 trees, learning rate 0.05, 31 leaves, at least 100 rows per leaf, 80 % row
and column sampling, 2 threads); classifiers for a 0/1 outcome, regressors otherwise. Exceptions,
because of what the libraries are:

- causalml's DR-learner uses LightGBM *regressors* for a 0/1 outcome too: its classifier variant
  builds the doubly-robust pseudo-outcomes from ``predict`` (hard 0/1 labels) in causalml 0.18.
- causalml's uplift random forest is its own tree ensemble (KL divergence criterion, 100 trees,
  depth 8, at least 200 rows per leaf) and learns a 0/1 outcome only; for a continuous outcome it
  is given ``outcome > 0``.
- econml's CausalForestDML residualizes with LightGBM (outcome and treatment models) but its final
  stage is econml's generalized random forest (200 trees, at least 50 rows per leaf).
- scikit-uplift handles one treatment, so its models are fitted per arm on that arm's rows and the
  control rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Stands for a missing feature value in every peer's input.
MISSING = -999.0
#: The shared LightGBM settings of every peer's base learners.
LGBM = dict(n_estimators=200, learning_rate=0.05, num_leaves=31, min_child_samples=100,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, n_jobs=2, verbose=-1)


#: A fitted peer: new rows (float, no missing values) -> (n, K) predicted effects of the arms.
Predict = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ArmData:
    """Logged rows for a peer: features ``X`` (float, no NaN), ``arm`` (0 = control, 1..K),
    ``y`` (outcome) and ``propensity`` ((n, K + 1): probability of each arm for each row)."""

    X: np.ndarray
    arm: np.ndarray
    y: np.ndarray
    propensity: np.ndarray
    binary: bool

    def __post_init__(self) -> None:
        n = len(self.y)
        if self.X.ndim != 2 or len(self.X) != n or len(self.arm) != n or len(self.propensity) != n:
            raise ValueError(f"X {self.X.shape}, arm {self.arm.shape}, y {self.y.shape} and propensity "
                             f"{self.propensity.shape} must have the same rows")
        if np.isnan(self.X).any():
            raise ValueError(f"X has missing values; replace them by MISSING ({MISSING}) first")
        arms = np.unique(self.arm)
        if arms[0] != 0 or not np.array_equal(arms, np.arange(len(arms))):
            raise ValueError(f"arm must hold 0 (control) and every arm 1..K at least once; got {arms[:10]}")
        if self.propensity.shape[1] != len(arms):
            raise ValueError(f"propensity has {self.propensity.shape[1]} columns for {len(arms)} arms")

    @property
    def n_arms(self) -> int:
        """K, the number of arms besides control."""
        return int(self.arm.max())

    def pairwise_propensity(self) -> dict[int, np.ndarray]:
        """P(arm k | row is arm k or control), per arm k, clipped to [0.01, 0.99]."""
        p0 = self.propensity[:, 0]
        return {k: np.clip(self.propensity[:, k] / (self.propensity[:, k] + p0), 0.01, 0.99)
                for k in range(1, self.n_arms + 1)}


def _lgbm(binary: bool, seed: int):
    import lightgbm as lgb

    cls = lgb.LGBMClassifier if binary else lgb.LGBMRegressor
    return cls(random_state=seed, **LGBM)


def _regressor(seed: int):
    return _lgbm(False, seed)


def _prior_propensity():
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior")


def _sklift(data: ArmData, seed: int, two: bool) -> Predict:
    from sklift.models import SoloModel, TwoModels

    models = []
    for k in range(1, data.n_arms + 1):
        rows = (data.arm == k) | (data.arm == 0)
        model = TwoModels(_lgbm(data.binary, seed), _lgbm(data.binary, seed), method="vanilla") if two \
            else SoloModel(_lgbm(data.binary, seed), method="dummy")
        models.append(model.fit(data.X[rows], data.y[rows], (data.arm[rows] == k).astype(int)))
    return lambda X_new: np.column_stack([m.predict(X_new) for m in models])


def sklift_solo(data: ArmData, seed: int) -> Predict:
    """scikit-uplift SoloModel (S-learner: one model with a treatment column), per arm."""
    return _sklift(data, seed, two=False)


def sklift_two(data: ArmData, seed: int) -> Predict:
    """scikit-uplift TwoModels, method "vanilla" (T-learner), per arm."""
    return _sklift(data, seed, two=True)


def causalml_s(data: ArmData, seed: int) -> Predict:
    """causalml BaseSClassifier / BaseSRegressor with LightGBM."""
    from causalml.inference.meta import BaseSClassifier, BaseSRegressor

    cls = BaseSClassifier if data.binary else BaseSRegressor
    model = cls(learner=_lgbm(data.binary, seed), control_name=0)
    model.fit(data.X, data.arm, data.y)
    return lambda X_new: model.predict(X_new, verbose=False)


def causalml_t(data: ArmData, seed: int) -> Predict:
    """causalml BaseTClassifier / BaseTRegressor with LightGBM."""
    from causalml.inference.meta import BaseTClassifier, BaseTRegressor

    cls = BaseTClassifier if data.binary else BaseTRegressor
    model = cls(learner=_lgbm(data.binary, seed), control_name=0)
    model.fit(data.X, data.arm, data.y)
    return lambda X_new: model.predict(X_new, verbose=False)


def causalml_x(data: ArmData, seed: int) -> Predict:
    """causalml BaseXClassifier (LightGBM outcome classifiers, effect regressors) / BaseXRegressor,
    with the given propensities."""
    from causalml.inference.meta import BaseXClassifier, BaseXRegressor

    p = data.pairwise_propensity()
    if data.binary:
        model = BaseXClassifier(outcome_learner=_lgbm(True, seed), effect_learner=_regressor(seed),
                                control_name=0)
    else:
        model = BaseXRegressor(learner=_regressor(seed), control_name=0)
    model.fit(data.X, data.arm, data.y, p=p)
    # The propensity weighs the two effect models of each arm; the logged ones are (nearly) constant.
    share = {k: float(np.mean(v)) for k, v in p.items()}
    return lambda X_new: model.predict(X_new, p={k: np.full(len(X_new), v) for k, v in share.items()},
                                       verbose=False)


def causalml_dr(data: ArmData, seed: int) -> Predict:
    """causalml BaseDRRegressor with LightGBM regressors (3-fold cross-fitting), given propensities."""
    from causalml.inference.meta import BaseDRRegressor

    model = BaseDRRegressor(learner=_regressor(seed), control_name=0)
    model.fit(data.X, data.arm, data.y, p=data.pairwise_propensity(), seed=seed)
    return lambda X_new: model.predict(X_new, verbose=False)


def causalml_urf(data: ArmData, seed: int) -> Predict:
    """causalml UpliftRandomForestClassifier (KL criterion) on ``y > 0``."""
    from causalml.inference.tree import UpliftRandomForestClassifier

    model = UpliftRandomForestClassifier(control_name=0, n_estimators=100, max_depth=8,
                                         min_samples_leaf=200, max_features=min(10, data.X.shape[1]),
                                         evaluationFunction="KL", random_state=seed, n_jobs=2)
    model.fit(data.X, data.arm, (data.y > 0).astype(int))
    return lambda X_new: model.predict(X_new)


def _econml_effects(model, n_arms: int) -> Predict:
    return lambda X_new: np.column_stack([np.ravel(model.effect(X_new, T0=0, T1=k))
                                          for k in range(1, n_arms + 1)])


def econml_dr(data: ArmData, seed: int) -> Predict:
    """econml DRLearner: LightGBM outcome models and final effect models, arm-share propensities."""
    from econml.dr import DRLearner

    model = DRLearner(model_propensity=_prior_propensity(), model_regression=_lgbm(data.binary, seed),
                      model_final=_regressor(seed), discrete_outcome=data.binary, cv=3, random_state=seed)
    model.fit(data.y, data.arm, X=data.X)
    return _econml_effects(model, data.n_arms)


def econml_cf(data: ArmData, seed: int) -> Predict:
    """econml CausalForestDML: LightGBM outcome model, arm-share treatment model, causal forest."""
    from econml.dml import CausalForestDML

    model = CausalForestDML(model_y=_lgbm(data.binary, seed), model_t=_prior_propensity(),
                            discrete_treatment=True, discrete_outcome=data.binary, cv=3,
                            n_estimators=200, min_samples_leaf=50, random_state=seed, n_jobs=2)
    model.fit(data.y, data.arm, X=data.X)
    return _econml_effects(model, data.n_arms)


Peer = Callable[[ArmData, int], Predict]
#: Every peer by name, with the package that must be installed for it.
PEERS: dict[str, tuple[str, Peer]] = {
    "sklift-solo": ("sklift", sklift_solo),
    "sklift-two": ("sklift", sklift_two),
    "causalml-s": ("causalml", causalml_s),
    "causalml-t": ("causalml", causalml_t),
    "causalml-x": ("causalml", causalml_x),
    "causalml-dr": ("causalml", causalml_dr),
    "causalml-urf": ("causalml", causalml_urf),
    "econml-dr": ("econml", econml_dr),
    "econml-cf": ("econml", econml_cf),
}


def check_peers(names: list[str]) -> list[str]:
    """``names`` when every one is a known peer whose package is installed; else a ValueError."""
    from importlib.util import find_spec

    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise ValueError(f"unknown peers {unknown}; expected any of: {', '.join(PEERS)}")
    missing = sorted({PEERS[n][0] for n in names if find_spec(PEERS[n][0]) is None})
    if missing:
        raise ValueError(f"peers {names} need the packages {missing}; install the bench extra: "
                         "pip install -e '.[dev,bench]' (make bench-peers)")
    return names


def fit_peer(name: str, data: ArmData, seed: int = 0) -> Predict:
    """Fit the peer ``name`` on ``data``; returns its checked prediction of the (n, K) effects."""
    check_peers([name])
    predict = PEERS[name][1](data, seed)
    n_features, n_arms = data.X.shape[1], data.n_arms

    def effects(X_new: np.ndarray) -> np.ndarray:
        X_new = np.asarray(X_new, dtype=float)
        if X_new.ndim != 2 or X_new.shape[1] != n_features or np.isnan(X_new).any():
            raise ValueError(f"X_new must have {n_features} columns and no missing values; got shape {X_new.shape}")
        out = np.asarray(predict(X_new), dtype=float).reshape(len(X_new), -1)
        if out.shape[1] != n_arms:
            raise RuntimeError(f"peer {name} returned {out.shape[1]} effect columns for {n_arms} arms")
        return out

    return effects
