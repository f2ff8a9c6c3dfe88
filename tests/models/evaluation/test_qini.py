"""Qini curves: a ranking that finds the responders scores above random, a reversed one below."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluation.uplift import qini_curve


def synthetic(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(true uplift, treated, outcome, weight): base rate 0.1, uplift from 0 to 0.3 by account."""
    rng = np.random.default_rng(seed)
    uplift = rng.uniform(0, 0.3, n)
    treated = rng.random(n) < 0.3
    outcome = (rng.random(n) < 0.1 + uplift * treated).astype(float)
    weight = np.where(treated, 1 / 0.3, 1 / 0.7)
    return uplift, treated, outcome, weight


def test_good_ranking_has_positive_qini_and_reversed_negative() -> None:
    uplift, treated, outcome, weight = synthetic()
    fraction, gain, good = qini_curve(uplift, treated, outcome, weight)
    _, _, bad = qini_curve(-uplift, treated, outcome, weight)
    _, _, random = qini_curve(np.random.default_rng(1).random(len(uplift)), treated, outcome, weight)
    assert fraction[0] == 0 and fraction[-1] == 1 and gain[0] == 0
    assert good > 0.015 and bad < -0.015 and abs(random) < good / 2
    # At full targeting the gain is the average uplift (0.15).
    assert gain[-1] == pytest.approx(0.15, abs=0.03)


def test_needs_both_groups_and_equal_lengths() -> None:
    uplift, treated, outcome, weight = synthetic(100)
    with pytest.raises(ValueError, match="only one group"):
        qini_curve(uplift, np.ones(100, bool), outcome, weight)
    with pytest.raises(ValueError, match="equal length"):
        qini_curve(uplift[:50], treated, outcome, weight)
