"""T- and X-learners: fit, stay monotone in the discount, answer `none` rows with the baseline, and
plug into training and recommending without changing the output; untreated history windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from features.actions import action_space
from features.definitions import feature_specs
from models.baseline_examples import untreated_examples
from models.learners import TLearnerClassifier, XLearnerClassifier, inverse_propensity_weights
from models.pipeline import OUTPUT_COLUMNS
from models.recommend import score_dataset
from models.training import TrainingConfig, train_pipeline

COLUMNS = ["x", "action_channel", "action_offer_id", "action_discount_pct", "action_is_contact"]
MONOTONE = [0, 0, 0, 1, 0]


def _data(n: int = 12000, seed: int = 0) -> pd.DataFrame:
    """`none` rows and two actions; the phone effect grows with x and with the discount."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    arm = rng.choice(["none", "email", "phone"], size=n, p=[0.4, 0.3, 0.3])
    disc = np.where(arm == "none", 0.0, rng.choice([0.0, 5.0, 10.0], size=n))
    base = 1 / (1 + np.exp(-(-1.2 + 0.8 * x)))
    effect = np.where(arm == "phone", 0.08 + 0.04 * (x > 0), np.where(arm == "email", 0.03, 0.0)) \
        + np.where(arm == "none", 0.0, 0.006 * disc)
    y = (rng.random(n) < np.clip(base + effect, 0, 1)).astype(float)
    return pd.DataFrame({
        "x": x.astype(np.float32),
        "action_channel": pd.Categorical(arm, categories=["email", "none", "phone"]),
        "action_offer_id": pd.Categorical(np.where(arm == "none", None, "OF1"), categories=["OF1"]),
        "action_discount_pct": disc.astype(np.float32),
        "action_is_contact": (arm != "none").astype(np.float32),
        "y": y,
    })


@pytest.mark.parametrize("cls", [TLearnerClassifier, XLearnerClassifier])
def test_learner_fits_is_monotone_and_uses_baseline_for_none(cls) -> None:
    df = _data()
    X, y = df[COLUMNS], df["y"].to_numpy()
    est = cls(account_columns=["x"], monotone_constraints=MONOTONE, n_estimators=80)
    if cls is TLearnerClassifier:
        est.set_params(min_group_rows=500, min_group_conversions=50)
    assert clone(est).get_params() == est.get_params()
    cut = 9000
    est.fit(X.iloc[:cut], y[:cut], X_calib=X.iloc[cut:], y_calib=y[cut:])
    probe = X.iloc[cut:cut + 800].copy()
    probe["action_channel"] = pd.Categorical(["phone"] * len(probe), categories=["email", "none", "phone"])
    probe["action_offer_id"] = pd.Categorical(["OF1"] * len(probe), categories=["OF1"])
    probe["action_is_contact"] = np.float32(1)
    previous = None
    for d in (0.0, 5.0, 10.0, 15.0):
        probe["action_discount_pct"] = np.float32(d)
        p = est.predict_proba(probe)[:, 1]
        if previous is not None:
            assert (p >= previous - 1e-9).all(), "conversion fell as the discount rose"
        previous = p
    # Phone with a discount lifts conversion on average; `none` rows get the baseline model.
    none = probe.assign(action_is_contact=np.float32(0), action_discount_pct=np.float32(0))
    p_none = est.predict_proba(none)[:, 1]
    assert np.allclose(p_none, est.baseline_.predict_proba(none[["x"]])[:, 1])
    assert previous.mean() - p_none.mean() > 0.05
    # Encoded float matrices give the same answer as frames, and contributions have one column per feature + bias.
    encoded = np.column_stack([probe["x"], probe["action_channel"].cat.codes, probe["action_offer_id"].cat.codes,
                               probe["action_discount_pct"], probe["action_is_contact"]]).astype(np.float32)
    assert np.allclose(est.predict_proba(encoded)[:, 1], previous, atol=1e-6)
    assert est.predict_contrib(encoded[:5]).shape == (5, len(COLUMNS) + 1)


def test_t_learner_falls_back_to_pooled_model_for_thin_groups() -> None:
    df = _data(4000)
    est = TLearnerClassifier(account_columns=["x"], monotone_constraints=MONOTONE, n_estimators=40,
                             min_group_rows=10**6).fit(df[COLUMNS], df["y"].to_numpy())
    assert est.models_ == {}
    p = est.predict_proba(df[COLUMNS].iloc[:50])[:, 1]
    assert ((p > 0) & (p < 1)).all()


def test_learners_reject_bad_input() -> None:
    df = _data(500)
    with pytest.raises(ValueError, match="`none` rows and touches"):
        XLearnerClassifier(account_columns=["x"]).fit(df[COLUMNS].assign(action_is_contact=np.float32(1)),
                                                      df["y"].to_numpy())
    with pytest.raises(ValueError, match="action column 'action_is_contact'"):
        TLearnerClassifier(account_columns=["x"]).fit(df[COLUMNS].drop(columns="action_is_contact"),
                                                      df["y"].to_numpy())
    with pytest.raises(ValueError, match="learner must be one of s, x, r, dr, t, auto; got .q."):
        TrainingConfig(learner="q")


def test_inverse_propensity_weights() -> None:
    w = inverse_propensity_weights(np.array([0.5, 0.25, np.nan, 0.01]), clip_quantile=1.0)
    assert w.mean() == pytest.approx(1.0)
    assert w[1] == pytest.approx(2 * w[0])
    assert np.isfinite(w).all()


def test_untreated_windows_use_all_history_and_avoid_touches(small_dataset, as_of) -> None:
    data = small_dataset.before(as_of)
    specs = feature_specs(data)
    categories = sorted(set(action_space(data)["category"].astype(str)))
    rows = untreated_examples(data, as_of, specs, categories, per_account=3, seed=1)
    assert len(rows) > 0 and set(rows["category"]) <= set(categories)
    window = pd.Timedelta(days=data.policy.attribution_window_days)
    assert (rows["touched_at"] + window < as_of).all()
    # The windows reach back before the first logged decision: the whole history counts.
    assert rows["touched_at"].min() < data.touches["touched_at"].min()
    # No window starts within one attribution window of a touch that could move its category.
    cat = data.touches["offer_id"].map(data.offers.set_index("offer_id")["product_category"])
    touches = data.touches.assign(category=cat)[data.touches["channel"] != "none"]
    pairs = rows.reset_index().merge(touches, on=["account_id", "category"], suffixes=("", "_t"))
    near = (pairs["touched_at_t"] - pairs["touched_at"]).abs() <= window
    assert not near.any()
    # Labels come from the orders of the window.
    assert rows["converted"].isin([True, False]).all() and 0 < rows["converted"].mean() < 1


@pytest.mark.parametrize("learner", ["x", "t", "dr", "r"])
def test_training_with_learner_keeps_recommendation_contract(small_dataset, as_of, learner) -> None:
    result = train_pipeline(small_dataset, as_of, TrainingConfig(learner=learner, history_windows=2))
    assert result.data_summary["examples_untreated_history"] > 0
    assert result.params["learner"] == learner
    recs = score_dataset(small_dataset, as_of, result.pipeline, top_k=3)
    assert list(recs.columns[:len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    assert set(small_dataset.accounts["account_id"]) == set(recs["account_id"])
    assert (recs["rank"] == 1).sum() == len(small_dataset.accounts)
    assert recs["p_convert"].between(0, 1).all()
    assert (recs.loc[recs["channel"] != "none", "expected_incremental_margin"] > 0).all()


def test_predict_distinct_scores_each_distinct_row_once_and_broadcasts() -> None:
    from models.learners import predict_distinct

    rng = np.random.default_rng(0)
    distinct = rng.normal(size=(5, 3))
    distinct[0, 1] = np.nan
    X = distinct[rng.integers(0, 5, size=40)]
    seen: list[int] = []

    def predict(rows: np.ndarray) -> np.ndarray:
        seen.append(len(rows))
        return np.nan_to_num(rows).sum(axis=1)

    out = predict_distinct(predict, X)
    np.testing.assert_allclose(out, np.nan_to_num(X).sum(axis=1))
    assert seen == [len(np.unique(np.nan_to_num(X, nan=-99.0), axis=0))]
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    np.testing.assert_allclose(predict_distinct(lambda f: f.fillna(0).sum(axis=1).to_numpy(), frame), out)
