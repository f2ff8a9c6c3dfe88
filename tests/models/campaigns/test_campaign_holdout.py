"""Stratified holdout: share within one percentage point, exact per stratum, exact propensities."""

from __future__ import annotations

import numpy as np
import pytest

from models.campaigns.holdout import assign_holdout


@pytest.mark.parametrize(("n", "share", "seed"), [(57, 0.1, 0), (400, 0.1, 1), (1234, 0.25, 2),
                                                  (5000, 0.05, 3), (333, 0.5, 4)])
def test_share_within_one_point_and_per_stratum(n: int, share: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", None], n)
    value = rng.gamma(2.0, 5.0, n)
    result = assign_holdout(region, value, share, np.random.default_rng(seed))
    assert abs(result.held_out.mean() - share) <= 0.01
    for stratum in np.unique(result.stratum):
        inside = result.stratum == stratum
        assert abs(result.held_out[inside].sum() - share * inside.sum()) < 1.0 + 1e-9
        rate = result.held_out[inside].mean()
        np.testing.assert_allclose(result.propensity[inside & result.held_out], rate)
        np.testing.assert_allclose(result.propensity[inside & ~result.held_out], 1 - rate)


def test_same_seed_same_draw_and_zero_share_holds_nobody() -> None:
    region = np.array(["a", "b"] * 50, dtype=object)
    value = np.arange(100.0)
    one = assign_holdout(region, value, 0.2, np.random.default_rng(9))
    two = assign_holdout(region, value, 0.2, np.random.default_rng(9))
    np.testing.assert_array_equal(one.held_out, two.held_out)
    assert not assign_holdout(region, value, 0.0, np.random.default_rng(9)).held_out.any()


def test_holdout_is_balanced_on_value() -> None:
    rng = np.random.default_rng(0)
    value = rng.lognormal(2.0, 1.0, 2000)
    result = assign_holdout(np.full(2000, "r", dtype=object), value, 0.5, np.random.default_rng(1))
    held, kept = value[result.held_out], value[~result.held_out]
    assert abs(np.median(held) - np.median(kept)) / np.median(value) < 0.1


def test_bad_share_is_rejected() -> None:
    with pytest.raises(ValueError, match="holdout share must be >= 0 and < 1, got 1.5"):
        assign_holdout(np.array(["a"]), np.array([1.0]), 1.5, np.random.default_rng(0))
