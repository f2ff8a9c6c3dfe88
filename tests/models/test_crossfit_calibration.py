"""Cross-fitted per-action calibration: each action's mean predicted lift matches a randomized log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.calibration import propensity_weights
from models.estimators import ConversionClassifier

CHANNELS = ["email", "none", "phone"]
#: True log-odds effect of each channel against `none`; a discount adds DISCOUNT_SLOPE per percent.
EFFECT = {"none": 0.0, "email": 0.4, "phone": 0.8}
DISCOUNT_SLOPE = 0.05
N_FEATURES = 8
MONOTONE = [0] * N_FEATURES + [0, 0, 1, 0]


def _with_action(X: pd.DataFrame, channel: str, discount: float) -> pd.DataFrame:
    n = len(X)
    return X.assign(action_channel=pd.Categorical([channel] * n, categories=CHANNELS),
                    action_offer_id=pd.Categorical([None if channel == "none" else "o1"] * n, categories=["o1"]),
                    action_discount_pct=np.float32(discount),
                    action_is_contact=np.float32(channel != "none"))


def _true_p(X: pd.DataFrame) -> np.ndarray:
    account = X[[f"f{i}" for i in range(4)]].to_numpy() @ np.array([1.0, 0.8, 0.6, 0.5])
    logit = (-3.5 + account + X["action_channel"].astype(str).map(EFFECT).to_numpy()
             + DISCOUNT_SLOPE * X["action_discount_pct"].to_numpy())
    return 1 / (1 + np.exp(-logit))


def _log(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """A randomized log: `none`, e-mail and (for half the accounts) phone drawn uniformly, then a
    discount step uniformly; (X, y, account ids, exact propensities)."""
    rng = np.random.default_rng(seed)
    accounts = rng.integers(0, n // 4, n)
    X = pd.DataFrame(rng.normal(size=(n, N_FEATURES)).astype(np.float32),
                     columns=[f"f{i}" for i in range(N_FEATURES)])
    arms = np.where(rng.random(n) < 0.5, 3, 2)
    u = rng.random(n)
    channel = np.where(u < 1 / arms, "none", np.where(u < 2 / arms, "email", "phone"))
    discount = np.where(channel == "none", 0.0, rng.choice([0.0, 5.0, 10.0], n)).astype(np.float32)
    propensity = np.where(channel == "none", 1 / arms, 1 / arms / 3)
    X["action_channel"] = pd.Categorical(channel, categories=CHANNELS)
    X["action_offer_id"] = pd.Categorical(np.where(channel == "none", None, "o1"), categories=["o1"])
    X["action_discount_pct"] = discount
    X["action_is_contact"] = (channel != "none").astype(np.float32)
    y = (rng.random(n) < _true_p(X)).astype(float)
    return X, y, accounts, propensity


@pytest.fixture(scope="module")
def fitted() -> tuple[dict[str, ConversionClassifier], pd.DataFrame]:
    """Small, heavily regularized trees that under-learn the actions' effects, calibrated both ways."""
    X, y, accounts, propensity = _log(20000, 1)
    X_cal, y_cal, _, propensity_cal = _log(3000, 11)
    models = {}
    for calibration in ("pooled", "crossfit"):
        clf = ConversionClassifier(n_estimators=20, num_leaves=4, min_child_samples=200, colsample_bytree=0.5,
                                   monotone_constraints=MONOTONE, calibration=calibration, n_jobs=1)
        models[calibration] = clf.fit(X, y, X_calib=X_cal, y_calib=y_cal, groups=accounts,
                                      propensity=propensity, propensity_calib=propensity_cal)
    return models, _log(3000, 99)[0]


def _lift_ratios(clf: ConversionClassifier, X: pd.DataFrame) -> dict[str, float]:
    """Mean predicted lift over `none` / mean true lift, per action."""
    none = _with_action(X, "none", 0)
    p0, t0 = clf.predict_proba(none)[:, 1].mean(), _true_p(none).mean()
    out = {}
    for channel, discount in (("email", 0), ("email", 10), ("phone", 0), ("phone", 10)):
        probe = _with_action(X, channel, discount)
        out[f"{channel}{discount}"] = (clf.predict_proba(probe)[:, 1].mean() - p0) / (_true_p(probe).mean() - t0)
    return out


def test_crossfit_calibration_recovers_each_actions_mean_lift(fitted) -> None:
    models, X_test = fitted
    crossfit, pooled = _lift_ratios(models["crossfit"], X_test), _lift_ratios(models["pooled"], X_test)
    assert all(abs(r - 1) < 0.25 for r in crossfit.values()), crossfit
    # The pooled Platt map keeps the trees' under-learned effect of the strongest action.
    assert min(pooled["phone0"], pooled["phone10"]) < 0.7, pooled


def test_crossfit_calibration_keeps_conversion_monotone_in_discount(fitted) -> None:
    models, X_test = fitted
    clf = models["crossfit"]
    for channel in ("email", "phone"):
        previous = None
        for discount in (0.0, 3.0, 5.0, 10.0, 20.0):
            p = clf.predict_proba(_with_action(X_test, channel, discount))[:, 1]
            if previous is not None:
                assert (p >= previous - 1e-12).all(), f"{channel}: conversion fell at {discount} %"
            previous = p
    offsets = clf.action_calibrator_.offsets()
    assert offsets["discount"] >= 0 and all(v >= 0 for k, v in offsets.items() if k.startswith("discount["))


def test_propensity_weights_are_snips_weights_per_action_group() -> None:
    X, y, _, propensity = _log(4000, 5)
    propensity = propensity.copy()
    propensity[:100] = np.nan  # e.g. untreated history windows
    names = list(X.columns)
    w = propensity_weights(propensity, X, names)
    assert np.allclose(w[:100], 1.0)
    group = X["action_channel"].astype(str) + "/" + X["action_offer_id"].astype(str)
    known = pd.Series(np.isfinite(propensity))
    for _, rows in pd.Series(w)[known].groupby(group[known]):
        assert abs(rows.mean() - 1) < 1e-9
    # Accounts with fewer arms (no phone) are e-mailed more often, so they weigh less.
    email = (X["action_channel"] == "email").to_numpy() & known.to_numpy()
    assert w[email & (propensity == 1 / 6)].mean() < w[email & (propensity == 1 / 9)].mean()
    with pytest.raises(ValueError, match=r"propensity must lie in \(0, 1\]"):
        propensity_weights(np.full(len(X), 2.0), X, names)
    with pytest.raises(ValueError, match="propensity has 3 rows"):
        propensity_weights(np.ones(3), X, names)


def test_crossfit_errors_name_the_problem() -> None:
    X, y, accounts, propensity = _log(600, 2)
    with pytest.raises(ValueError, match="calibration_folds must be >= 2"):
        ConversionClassifier(calibration="crossfit", calibration_folds=1, n_jobs=1).fit(X, y)
    with pytest.raises(ValueError, match="groups has 3 entries"):
        ConversionClassifier(calibration="crossfit", n_estimators=5, n_jobs=1).fit(X, y, groups=accounts[:3])
    with pytest.raises(ValueError, match="leaves no rows of both classes"):
        ConversionClassifier(calibration="crossfit", n_estimators=5, n_jobs=1).fit(
            X, y, groups=np.zeros(len(y)))


def test_training_config_accepts_crossfit_calibration() -> None:
    from models.training import TrainingConfig, conversion_model

    cfg = TrainingConfig(learner="s", calibration="crossfit", calibration_folds=4, calibration_l2=7.0)
    assert cfg.calibration == "crossfit"
    with pytest.raises(ValueError, match="calibration_l2 must be >= 0"):
        TrainingConfig(learner="s", calibration="crossfit", calibration_l2=-1.0)
    with pytest.raises(ValueError, match="calibration_folds must be >= 2"):
        TrainingConfig(learner="s", calibration="crossfit", calibration_folds=1)
    with pytest.raises(ValueError, match="S-learner only"):
        TrainingConfig(calibration="crossfit", learner="t")
    with pytest.raises(ValueError, match="baseline_offset"):
        TrainingConfig(learner="s", calibration="crossfit", baseline_offset=True)

    class _Design:
        account_columns = ["f0"]

        def monotone_constraints(self) -> list[int]:
            return MONOTONE

    clf = conversion_model(cfg, _Design())  # type: ignore[arg-type]
    params = clf.get_params()
    assert (params["calibration"], params["calibration_folds"], params["calibration_l2"]) == ("crossfit", 4, 7.0)


def test_training_with_crossfit_calibration_keeps_discounts_monotone(small_dataset, as_of) -> None:
    """End to end on a generated world: the corrected, shrunk conversion never falls as the discount
    of an offer and channel rises, and every suggestion keeps the contract."""
    from features.actions import action_space, eligible_mask
    from features.snapshot import build_snapshot
    from models.decision import score_actions
    from models.pipeline import split_snapshot
    from models.recommend import score_dataset
    from models.training import TrainingConfig, train_pipeline

    result = train_pipeline(small_dataset, as_of, TrainingConfig(learner="s", calibration="crossfit", history_windows=1))
    pipeline = result.pipeline
    assert result.params["calibration"] == "crossfit"
    assert pipeline.classifier.action_calibrator_ is not None and pipeline.lift_prior is not None
    data = small_dataset.before(as_of)
    actions = action_space(data)
    frame, state = split_snapshot(build_snapshot(data, as_of, pipeline.specs, pipeline.categories))
    scored = score_actions(frame, eligible_mask(state, actions, data.policy), actions, design=pipeline.design,
                           classifier=pipeline.classifier, value_model=pipeline.value_model,
                           category_margin=pipeline.category_margin, prior=pipeline.lift_prior)
    acts = actions.iloc[scored.pair_action]
    pairs = pd.DataFrame({"account": scored.pair_account, "channel": acts["channel"].to_numpy(),
                          "offer": acts["offer_id"].to_numpy(), "d": acts["discount_pct"].to_numpy(dtype=float),
                          "p": scored.p_convert}).sort_values(["account", "channel", "offer", "d"])
    assert pairs["d"].nunique() > 1
    step = pairs.groupby(["account", "channel", "offer"])["p"].diff().dropna()
    assert (step >= -1e-12).all(), step.min()
    recs = score_dataset(small_dataset, as_of, pipeline, top_k=2)
    assert (recs["rank"] == 1).sum() == len(small_dataset.accounts)
    assert (recs.loc[recs["channel"] != "none", "expected_incremental_margin"] > 0).all()
