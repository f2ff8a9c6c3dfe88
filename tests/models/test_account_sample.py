"""Training on a stratified, seeded sample of accounts; lean training data with the same values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.dataset import restrict_accounts
from features.definitions import feature_specs
from features.outcomes import label_touches
from models.account_sample import account_strata, proportional_allocation, sample_accounts
from models.training import train_pipeline
from models.training_config import ConfigError, TrainingConfig
from models.training_data import labelled_rows_per_touch, training_examples


def test_proportional_allocation_sums_to_n_and_follows_the_sizes() -> None:
    sizes = np.array([500, 300, 150, 49, 1])
    for n in (1, 7, 100, 333, 999):
        alloc = proportional_allocation(sizes, n)
        assert alloc.sum() == n and (alloc <= sizes).all()
        assert np.abs(alloc - sizes * n / sizes.sum()).max() < 1
    np.testing.assert_array_equal(proportional_allocation(sizes, 5000), sizes)


def test_sample_keeps_the_strata_mix_and_every_event_of_the_sampled_accounts(small_dataset) -> None:
    data = small_dataset
    sampled, info = sample_accounts(data, 150, seed=4)
    ids = set(sampled.accounts["account_id"])
    assert len(ids) == 150 and (info.sampled, info.total) == (150, len(data.accounts))
    assert info.columns == ("region", "segment") and info.is_sample
    strata, _ = account_strata(data)
    kept = data.accounts["account_id"].isin(ids).to_numpy()
    expected = np.bincount(strata) * 150 / len(strata)
    assert np.abs(np.bincount(strata[kept], minlength=len(expected)) - expected).max() < 1
    for name in ("orders", "touches", "web_events"):
        full = getattr(data, name)
        mine = full[full["account_id"].isin(ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(getattr(sampled, name), mine)
    pd.testing.assert_frame_equal(sampled.offers, data.offers)
    assert sampled.policy == data.policy


def test_sample_is_deterministic_by_seed(small_dataset) -> None:
    def ids(seed: int) -> list[str]:
        return sample_accounts(small_dataset, 100, seed=seed)[0].accounts["account_id"].tolist()

    assert ids(1) == ids(1)
    assert ids(1) != ids(2)


def test_no_sample_when_the_data_has_at_most_n_accounts(small_dataset) -> None:
    for n in (None, len(small_dataset.accounts), 10 * len(small_dataset.accounts)):
        same, info = sample_accounts(small_dataset, n)
        assert same is small_dataset and not info.is_sample
        assert info.describe() == f"trained on all {len(small_dataset.accounts):,} accounts"
    with pytest.raises(ValueError, match="positive number of accounts"):
        sample_accounts(small_dataset, 0)


def test_sample_accounts_is_validated_and_defaults_to_20000() -> None:
    assert TrainingConfig().sample_accounts == 20_000
    assert TrainingConfig.from_mapping({"sample_accounts": None}).sample_accounts is None
    for bad in (0, -5, 2.5, True, "many"):
        with pytest.raises(ConfigError, match="sample_accounts must be a whole number of accounts >= 1 or null"):
            TrainingConfig(sample_accounts=bad)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sampled_training(small_dataset, as_of: pd.Timestamp):
    return train_pipeline(small_dataset, as_of, TrainingConfig(sample_accounts=200, min_examples=50,
                                                               min_conversions=5))


def test_training_on_a_sample_reports_both_sizes(small_dataset, as_of: pd.Timestamp, sampled_training) -> None:
    result = sampled_training
    total = len(small_dataset.accounts)
    assert result.params["accounts_sampled"] == 200 and result.params["accounts_total"] == total
    assert result.params["sample_accounts"] == 200
    assert result.data_summary["accounts_sampled"] == 200.0 and result.data_summary["accounts"] == float(total)
    sampled = set(sample_accounts(small_dataset.before(as_of), 200)[0].accounts["account_id"])
    assert set(result.validation["account_id"]) <= sampled
    assert "sample of 200 of" in result.sample.describe()


def test_labelled_rows_per_touch_counts_the_rows_of_the_labels(small_dataset, as_of: pd.Timestamp) -> None:
    data = small_dataset.before(as_of)
    labels = label_touches(data, as_of)
    kept = labels[labels["complete"] & labels["category"].notna()]
    rows = labelled_rows_per_touch(data, as_of)
    assert rows.sum() == len(kept)
    per_touch = kept.groupby("touch_id").size()
    np.testing.assert_array_equal(rows[rows > 0], per_touch.reindex(data.touches["touch_id"][rows > 0]).to_numpy())


def test_capped_examples_label_only_the_sampled_touches_with_unchanged_values(small_dataset,
                                                                               as_of: pd.Timestamp) -> None:
    """The cap keeps the touches that sampling all labelled rows would keep, with features on all touches."""
    data = small_dataset.before(as_of)
    specs = feature_specs(data)
    cap, seed = 3000, 7
    got = training_examples(data, as_of, specs, max_examples=cap, seed=seed)
    labels = label_touches(data, as_of)
    labels = labels[labels["complete"] & labels["category"].notna()].reset_index(drop=True)
    touch_ids = labels["touch_id"].unique()
    keep = np.random.default_rng(seed).random(len(touch_ids)) < cap / len(labels)
    assert len(labels) > cap and 0 < len(got) < len(labels)
    assert set(got["touch_id"]) == set(touch_ids[keep])
    whole = training_examples(data, as_of, specs).set_index(["touch_id", "category"])
    mine = got.set_index(["touch_id", "category"])
    pd.testing.assert_frame_equal(mine, whole.loc[mine.index], check_exact=True)


def test_float32_examples_hold_the_float64_values_rounded(small_dataset, as_of: pd.Timestamp) -> None:
    data = small_dataset.before(as_of)
    specs = feature_specs(data)
    wide = training_examples(data, as_of, specs, max_examples=2000)
    narrow = training_examples(data, as_of, specs, max_examples=2000, numeric_dtype=np.float32)
    numeric = [s.name for s in specs if s.dtype == "numeric" and s.scope in ("account", "category")]
    assert (narrow[numeric].dtypes == np.float32).all()
    np.testing.assert_array_equal(narrow[numeric].to_numpy(), wide[numeric].to_numpy(dtype=np.float32))


def test_restrict_accounts_keeps_order_and_only_those_accounts(small_dataset) -> None:
    ids = small_dataset.accounts["account_id"].iloc[[30, 2, 11]]
    small = restrict_accounts(small_dataset, ids)
    assert small.accounts["account_id"].tolist() == small_dataset.accounts["account_id"].iloc[[2, 11, 30]].tolist()
    assert set(small.orders["account_id"]) <= set(ids) and len(small.orders) > 0


def test_probabilities_in_chunks_equal_one_pass(small_dataset, as_of: pd.Timestamp, sampled_training,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import models.training as training
    from features.builder import build_features
    from models.design import action_frame

    pipeline = sampled_training.pipeline
    val = sampled_training.validation.reset_index(drop=True)
    data = small_dataset.before(as_of)
    feats = build_features(data, pd.DataFrame({"account_id": val["account_id"], "at": val["touched_at"],
                                               "category": val["category"]}), pipeline.specs)
    executed = val["channel"].map({n: r.executed_by for n, r in data.policy.channels.items()}).astype(object)
    acts = action_frame(val["channel"].to_numpy(), val["offer_id"].astype(object).to_numpy(),
                        val["discount_pct"].fillna(0).to_numpy(), executed.to_numpy())
    X = pipeline.design.transform(pd.concat([feats, acts], axis=1))
    whole = pipeline.conversion_probability(X, val)
    np.testing.assert_allclose(whole, val["p_convert"].to_numpy(), rtol=1e-6)  # as training scored them
    monkeypatch.setattr(training, "SCORING_CHUNK", 37)
    rows = np.ones(len(X), dtype=bool)
    rows[::5] = False
    got = training.conversion_probabilities(pipeline, X, val, rows)
    np.testing.assert_array_equal(got[rows], whole[rows])
    assert np.isnan(got[~rows]).all()
