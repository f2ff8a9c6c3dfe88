"""Policy-value metrics of the public benchmarks on hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.public.cv import fold_of, policy_arm
from benchmarks.public.hillstrom import policy_values
from benchmarks.public.metrics import bootstrap, ips_value, irr_nir


def test_ips_value_counts_matching_rows_weighted_by_inverse_propensity() -> None:
    reward = np.array([3.0, 0.0, 6.0, 9.0])
    propensity = np.full(4, 1 / 3)
    match = np.array([1, 1, 0, 1])
    # (3*3 + 0 + 0 + 9*3) / 4
    assert ips_value(reward, propensity, match) == pytest.approx(9.0)
    # a uniformly random policy over 3 arms has the mean reward as its value
    assert ips_value(reward, propensity, np.full(4, 1 / 3)) == pytest.approx(reward.mean())


def test_ips_value_rejects_bad_propensity() -> None:
    with pytest.raises(ValueError, match="propensity"):
        ips_value(np.ones(2), np.array([0.5, 0.0]), np.ones(2))


def test_irr_nir_over_promoted_customers() -> None:
    promote = np.array([1, 1, 1, 1, 1, 0, 0], dtype=bool)
    treated = np.array([1, 1, 1, 0, 0, 1, 0], dtype=bool)
    purchase = np.array([1, 1, 0, 1, 0, 1, 1], dtype=float)
    s = irr_nir(promote, treated, purchase)
    assert (s.promoted, s.treated, s.controls) == (5, 3, 2)
    assert s.irr == pytest.approx(2 / 3 - 1 / 2)
    assert s.nir == pytest.approx(10 * 2 - 0.15 * 3 - 10 * 1)
    nobody = irr_nir(np.zeros(7, dtype=bool), treated, purchase)
    assert nobody.nir == 0.0 and np.isnan(nobody.irr)


def test_bootstrap_interval_contains_estimate_and_is_degenerate_for_constants() -> None:
    x = np.arange(100, dtype=float)
    out = bootstrap(lambda idx: {"mean": float(x[idx].mean()), "one": 1.0}, len(x), 200, seed=1)
    row = out.set_index("name").loc["mean"]
    assert row["estimate"] == pytest.approx(49.5)
    assert row["ci_low"] < 49.5 < row["ci_high"]
    assert out.set_index("name").loc["one", ["ci_low", "ci_high"]].tolist() == [1.0, 1.0]


def test_policy_values_of_a_perfect_arm_choice() -> None:
    held = pd.DataFrame({"account_id": list("abcdef"), "arm": ["mens", "womens", "none"] * 2,
                         "propensity": 1 / 3, "spend": [6.0, 3.0, 0.0, 0.0, 0.0, 3.0],
                         "visit": [1.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                         "policy_arm": ["mens", "womens", "none", "womens", "mens", "none"]})
    v = policy_values(held, replicates=50).set_index(["outcome", "policy"])["estimate"]
    assert v["spend", "policy"] == pytest.approx(3 * (6 + 3 + 3) / 6)
    assert v["spend", "all mens"] == pytest.approx(3 * 6 / 6)
    assert v["spend", "all none"] == pytest.approx(3 * 3 / 6)
    assert v["spend", "random"] == pytest.approx(12 / 6)
    assert v["spend", "policy - all mens"] == pytest.approx(6 - 3)
    assert v["visit", "policy"] == pytest.approx(3 * 3 / 6)


def test_folds_are_balanced_and_seeded() -> None:
    a, b = fold_of(103, 5, seed=0), fold_of(103, 5, seed=0)
    assert np.array_equal(a, b)
    assert sorted(np.bincount(a)) == [20, 20, 21, 21, 21]
    with pytest.raises(ValueError, match="folds"):
        fold_of(3, 5, seed=0)


def test_policy_arm_takes_rank_one_offer_or_none() -> None:
    recs = pd.DataFrame({"account_id": ["a", "a", "b"], "rank": [1, 2, 1],
                         "channel": ["email", "none", "none"], "offer_id": ["mens", None, None],
                         "p_convert": [0.2, 0.1, 0.1], "p_convert_baseline": [0.1, 0.1, 0.1],
                         "expected_incremental_margin": [1.0, 0.0, 0.0]})
    arms = policy_arm(recs).set_index("account_id")["policy_arm"]
    assert arms.to_dict() == {"a": "mens", "b": "none"}


def test_bootstrap_of_an_undefined_statistic_has_no_interval() -> None:
    out = bootstrap(lambda idx: {"undefined": float("nan")}, 10, 20, seed=0)
    assert out[["estimate", "ci_low", "ci_high"]].isna().all(axis=None)
