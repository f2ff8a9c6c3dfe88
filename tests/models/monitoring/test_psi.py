"""Population stability index: quantile bins of the reference, levels, missing values, epsilon."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.monitoring.psi import (
    EPSILON,
    MISSING,
    OTHER,
    ColumnReference,
    column_reference,
    psi,
    psi_from_shares,
)


def test_same_distribution_is_stable_and_a_shifted_one_drifts():
    rng = np.random.default_rng(0)
    ref = column_reference("x", pd.Series(rng.normal(size=5000)), "numeric")
    assert len(ref.shares) == 11 and all(abs(s - 0.1) < 0.01 for s in ref.shares[:10])
    assert psi(ref, pd.Series(rng.normal(size=5000))) < 0.02
    assert psi(ref, pd.Series(rng.normal(0.25, 1, size=5000))) == pytest.approx(0.0625, abs=0.03)
    assert psi(ref, pd.Series(rng.normal(1.0, 1, size=5000))) > 0.5


def test_formula_on_known_shares_and_epsilon_for_empty_bins():
    r, c = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert psi_from_shares(r, c) == pytest.approx(-0.25 * math.log(0.5) + 0.25 * math.log(1.5))
    empty = psi_from_shares(np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    assert math.isfinite(empty)
    assert empty == pytest.approx((0.5 - 1) * math.log(0.5) + (0.5 - EPSILON) * math.log(0.5 / EPSILON))


def test_bins_are_right_closed_and_missing_values_have_their_own_bin():
    ref = column_reference("x", pd.Series([1.0, 1.0, 2.0, 3.0, np.nan]), "numeric", bins=2)
    assert ref.edges == (1.0,)
    assert ref.counts(pd.Series([1.0, 1.5, 3.0, np.nan, np.nan])).tolist() == [1, 2, 2]
    assert ref.shares == pytest.approx((0.4, 0.4, 0.2))
    assert ref.labels()[-1] == MISSING
    # A feature that turns missing everywhere is a shift.
    assert psi(ref, pd.Series([np.nan] * 10)) > 1


def test_constant_reference_keeps_one_bin():
    ref = column_reference("x", pd.Series([0.0] * 50), "numeric")
    assert ref.edges == () and ref.shares[0] == 1.0
    assert psi(ref, pd.Series([0.0] * 20)) == pytest.approx(0.0)
    assert psi(ref, pd.Series([0.0] * 10 + [np.nan] * 10)) > 1


def test_categorical_levels_unseen_levels_share_one_bin():
    ref = column_reference("industry", pd.Series(["a"] * 60 + ["b"] * 40), "categorical")
    assert ref.levels == ("a", "b") and ref.labels() == ["a", "b", OTHER, MISSING]
    assert psi(ref, pd.Series(["a"] * 60 + ["b"] * 40)) == pytest.approx(0.0)
    assert ref.counts(pd.Series(["a", "c", "d", None])).tolist() == [1, 0, 2, 1]
    assert psi(ref, pd.Series(["a"] * 30 + ["b"] * 20 + ["new"] * 50)) > 0.2


def test_round_trip_through_plain_data_and_errors():
    ref = column_reference("x", pd.Series(np.arange(100.0)), "numeric", bins=4)
    again = ColumnReference.from_dict(ref.to_dict())
    assert again == ref
    with pytest.raises(ValueError, match="kind must be numeric or categorical"):
        ColumnReference.from_dict({**ref.to_dict(), "kind": "text"})
    with pytest.raises(ValueError, match="at least 2"):
        column_reference("x", pd.Series([1.0]), "numeric", bins=1)
    assert math.isnan(psi(ref, pd.Series([], dtype=float)))
