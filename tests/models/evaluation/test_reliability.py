"""Reliability curve: equal-count bins that agree with the calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluation.calibration import reliability_curve
from models.metrics import expected_calibration_error


def test_calibrated_predictions_lie_on_the_diagonal() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.6, 50_000)
    y = (rng.random(len(p)) < p).astype(float)
    curve = reliability_curve(y, p, n_bins=10)
    assert len(curve) == 10 and curve["count"].sum() == len(p)
    assert np.allclose(curve["observed_rate"], curve["mean_predicted"], atol=0.02)
    ece = (curve["count"] * (curve["observed_rate"] - curve["mean_predicted"]).abs()).sum() / len(p)
    assert ece == pytest.approx(expected_calibration_error(y, p))


def test_overconfident_predictions_lie_below_the_diagonal_at_the_top() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 10_000)
    y = (rng.random(len(p)) < p / 2).astype(float)
    curve = reliability_curve(y, p, n_bins=5)
    assert curve["observed_rate"].iloc[-1] < curve["mean_predicted"].iloc[-1] - 0.3


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="same shape"):
        reliability_curve(np.ones(3), np.ones(4))
    assert reliability_curve(np.zeros(0), np.zeros(0)).empty
