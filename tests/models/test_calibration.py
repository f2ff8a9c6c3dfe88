"""Per-action calibration: corrects an action's offset the trees missed, keeps the discount monotone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.calibration import ActionCalibrator
from models.estimators import ConversionClassifier

CHANNELS = ["email", "none", "phone"]
#: True log-odds offset of each channel that the training rows do not show.
OFFSET = {"none": -0.6, "email": 0.2, "phone": 0.9}


def _rows(n: int, seed: int, with_offset: bool) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).astype(np.float32)
    chan = rng.choice(CHANNELS, size=n)
    contact = (chan != "none").astype(np.float32)
    offer = np.where(chan == "none", None, rng.choice(["o1", "o2"], size=n))
    disc = np.where(chan == "none", 0.0, rng.choice([0.0, 5.0, 10.0], size=n)).astype(np.float32)
    logit = -2.0 + 0.8 * x + 0.04 * disc
    if with_offset:
        logit = logit + pd.Series(chan).map(OFFSET).to_numpy()
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    X = pd.DataFrame({
        "x": x,
        "action_channel": pd.Categorical(chan, categories=CHANNELS),
        "action_offer_id": pd.Categorical(offer, categories=["o1", "o2"]),
        "action_discount_pct": disc,
        "action_is_contact": contact,
    })
    return X, y


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple[ConversionClassifier, pd.DataFrame, np.ndarray]]:
    """Per calibration: trained where no channel matters, calibrated and tested where channels do."""
    X, y = _rows(4000, 0, with_offset=False)
    X_cal, y_cal = _rows(12000, 1, with_offset=True)
    X_test, y_test = _rows(20000, 2, with_offset=True)
    out = {}
    for calibration in ("action", "pooled"):
        clf = ConversionClassifier(n_estimators=30, num_leaves=7, monotone_constraints=[0, 0, 0, 1, 0],
                                   calibration=calibration, n_jobs=1)
        out[calibration] = (clf.fit(X, y, X_calib=X_cal, y_calib=y_cal), X_test, y_test)
    return out


def _gap_by_channel(clf: ConversionClassifier, X: pd.DataFrame, y: np.ndarray) -> pd.Series:
    p = clf.predict_proba(X)[:, 1]
    frame = pd.DataFrame({"c": X["action_channel"].astype(str), "p": p, "y": y})
    means = frame.groupby("c")[["p", "y"]].mean()
    return (means["p"] - means["y"]).abs() / means["y"]


def test_action_calibration_fixes_a_per_channel_offset_pooled_cannot(fitted) -> None:
    action, X_test, y_test = fitted["action"]
    pooled = fitted["pooled"][0]
    gap_action = _gap_by_channel(action, X_test, y_test)
    gap_pooled = _gap_by_channel(pooled, X_test, y_test)
    assert gap_action.max() < 0.12, gap_action.to_dict()
    assert gap_pooled.max() > 0.3, gap_pooled.to_dict()
    # The estimated lift of phone over none comes close to the true one.
    probe = X_test.iloc[:2000].copy()
    probe_none = probe.assign(action_channel=pd.Categorical(["none"] * len(probe), categories=CHANNELS),
                              action_offer_id=pd.Categorical([None] * len(probe), categories=["o1", "o2"]),
                              action_discount_pct=np.float32(0), action_is_contact=np.float32(0))
    probe_phone = probe.assign(action_channel=pd.Categorical(["phone"] * len(probe), categories=CHANNELS),
                               action_offer_id=pd.Categorical(["o1"] * len(probe), categories=["o1", "o2"]),
                               action_discount_pct=np.float32(0), action_is_contact=np.float32(1))
    ratio = action.predict_proba(probe_phone)[:, 1].mean() / action.predict_proba(probe_none)[:, 1].mean()
    assert 2.5 < ratio < 6.0, ratio  # true odds ratio exp(1.5) = 4.5 at a ~5 % rate


def test_action_calibration_keeps_conversion_monotone_in_discount(fitted) -> None:
    clf, X_test, _ = fitted["action"]
    probe = X_test[X_test["action_is_contact"] > 0].iloc[:1000].copy()
    previous = None
    for d in (0.0, 5.0, 10.0, 20.0):
        probe["action_discount_pct"] = np.float32(d)
        p = clf.predict_proba(probe)[:, 1]
        if previous is not None:
            assert (p >= previous - 1e-12).all(), "conversion fell as the discount rose"
        previous = p
    # The same on the encoded float matrix the decision scores from.
    encoded = probe.assign(**{c: probe[c].cat.codes.astype(np.float32).replace(-1, np.nan)
                              for c in ("action_channel", "action_offer_id")}).to_numpy(dtype=np.float32)
    assert np.allclose(clf.predict_proba(encoded)[:, 1], previous)


def test_pooled_calibration_is_the_default_and_unchanged() -> None:
    X, y = _rows(3000, 0, with_offset=True)
    X_cal, y_cal = _rows(3000, 1, with_offset=True)
    default = ConversionClassifier(n_estimators=20, n_jobs=1).fit(X, y, X_calib=X_cal, y_calib=y_cal)
    pooled = ConversionClassifier(n_estimators=20, n_jobs=1, calibration="pooled").fit(
        X, y, X_calib=X_cal, y_calib=y_cal)
    assert default.action_calibrator_ is None and default.calibrator_ is not None
    slope, intercept = default.calibrator_
    raw = default._raw(X)
    expected = 1 / (1 + np.exp(-(slope * raw + intercept)))
    assert np.allclose(default.predict_proba(X)[:, 1], expected)
    assert np.array_equal(default.predict_proba(X), pooled.predict_proba(X))
    # A model pickled before per-action calibration existed has neither attribute: still predicts.
    del default.__dict__["calibration"], default.__dict__["action_calibrator_"]
    assert np.allclose(default.predict_proba(X)[:, 1], expected)
    assert default.get_params()["calibration"] == "pooled"


def test_thin_groups_shrink_to_the_pooled_map() -> None:
    rng = np.random.default_rng(3)
    X, _ = _rows(4000, 3, with_offset=False)
    raw = rng.normal(-2.0, 1.0, size=len(X))
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-raw))).astype(float)
    strong = ActionCalibrator(l2=1e6).fit(raw, y, X, list(X.columns))
    offsets = strong.offsets()
    assert all(abs(v) < 1e-3 for k, v in offsets.items() if k.startswith(("channel[", "offer[")))
    assert abs(offsets["slope"] - 1.0) < 0.2


def test_calibration_errors_name_the_problem() -> None:
    X, y = _rows(300, 0, with_offset=False)
    with pytest.raises(ValueError, match="calibration must be one of"):
        ConversionClassifier(calibration="isotonic").fit(X, y)
    with pytest.raises(ValueError, match="action columns"):
        ActionCalibrator().fit(np.zeros(len(X)), y, X[["x"]], ["x"])
    with pytest.raises(RuntimeError, match="not fitted"):
        ActionCalibrator().transform(np.zeros(3), X.iloc[:3])


def test_training_config_accepts_action_calibration_for_the_s_learner_only() -> None:
    from models.training import TrainingConfig

    # Default: the S-learner's cross-fitted per-action calibration, the effect calibration for the others.
    assert TrainingConfig().effective_calibration == "crossfit"
    assert TrainingConfig(learner="t").effective_calibration == "effect"
    assert TrainingConfig(learner="t", calibration="pooled").calibration == "pooled"
    assert TrainingConfig(learner="s", calibration="action").calibration == "action"
    with pytest.raises(ValueError, match="calibration must be one of"):
        TrainingConfig(calibration="isotonic")
    with pytest.raises(ValueError, match="S-learner only"):
        TrainingConfig(calibration="action", learner="t")
