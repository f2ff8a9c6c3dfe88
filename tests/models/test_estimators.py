"""The LightGBM estimators behave as scikit-learn estimators and keep their promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from models.estimators import ConversionClassifier, ConversionValueRegressor


def _data(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).astype(np.float32)
    disc = rng.choice([0.0, 5.0, 10.0], size=n).astype(np.float32)
    chan = pd.Categorical(rng.choice(["email", "phone", "none"], size=n), categories=["email", "none", "phone"])
    logit = -1.5 + 0.8 * x + 0.05 * disc + np.where(chan == "phone", 0.3, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return pd.DataFrame({"x": x, "action_discount_pct": disc, "action_channel": chan}), y


def test_clone_and_params_roundtrip() -> None:
    est = ConversionClassifier(n_estimators=50, num_leaves=7)
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    assert not hasattr(cloned, "booster_")


def test_predict_before_fit_raises() -> None:
    X, _ = _data(100)
    with pytest.raises(NotFittedError):
        ConversionClassifier().predict_proba(X)
    with pytest.raises(NotFittedError):
        ConversionValueRegressor().predict(X)


def test_monotone_in_discount_and_calibrated() -> None:
    X, y = _data()
    cut = 4500
    clf = ConversionClassifier(n_estimators=200, monotone_constraints=[0, 1, 0])
    clf.fit(X.iloc[:cut], y[:cut], X_calib=X.iloc[cut:], y_calib=y[cut:])
    assert clf.calibrator_ is not None
    probe = X.iloc[:500].copy()
    previous = None
    for d in (0.0, 5.0, 10.0, 15.0):
        probe["action_discount_pct"] = np.float32(d)
        p = clf.predict_proba(probe)[:, 1]
        if previous is not None:
            assert (p >= previous - 1e-12).all(), "conversion fell as the discount rose"
        previous = p
    p_all = clf.predict_proba(X.iloc[cut:])[:, 1]
    assert abs(p_all.mean() - y[cut:].mean()) < 0.03
    contrib = clf.predict_contrib(X.iloc[:10])
    assert contrib.shape == (10, X.shape[1] + 1)


def test_errors_name_the_problem() -> None:
    X, y = _data(200)
    with pytest.raises(ValueError, match="rows"):
        ConversionClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="single class"):
        ConversionClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(TypeError, match="DataFrame"):
        ConversionClassifier().fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="monotone_constraints"):
        ConversionClassifier(monotone_constraints=[1]).fit(X, y)
    with pytest.raises(ValueError, match="> 0"):
        ConversionValueRegressor().fit(X, np.zeros(len(X)))


def test_value_regressor_recovers_scale() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    x = rng.normal(size=n)
    X = pd.DataFrame({"x": x.astype(np.float32)})
    revenue = np.exp(5 + 0.5 * x + rng.normal(0, 0.5, n))
    model = ConversionValueRegressor(n_estimators=100).fit(X, revenue)
    pred = model.predict(X)
    assert 0.85 < pred.mean() / revenue.mean() < 1.15
    assert np.corrcoef(np.log(pred), x)[0, 1] > 0.9


def test_baseline_offset_variant_adds_both_stages() -> None:
    X, y = _data()
    cut = 4500
    clf = ConversionClassifier(n_estimators=60, baseline_columns=["x"], monotone_constraints=[0, 1, 0])
    clf.fit(X.iloc[:cut], y[:cut], X_calib=X.iloc[cut:], y_calib=y[cut:])
    assert clf.baseline_ is not None
    p = clf.predict_proba(X.iloc[cut:])[:, 1]
    assert abs(p.mean() - y[cut:].mean()) < 0.03
    contrib = clf.predict_contrib(X.iloc[:5])
    raw = clf._raw(X.iloc[:5])
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=1e-5, atol=1e-6)
    # The NumPy encoding predicts the same as the DataFrame it came from.
    codes = X.iloc[:50].copy()
    codes["action_channel"] = codes["action_channel"].cat.codes
    np.testing.assert_allclose(clf.predict_proba(codes.to_numpy(dtype=np.float32))[:, 1],
                               clf.predict_proba(X.iloc[:50])[:, 1], rtol=1e-5)
    with pytest.raises(ValueError, match="baseline_columns"):
        ConversionClassifier(baseline_columns=["nope"]).fit(X, y)
