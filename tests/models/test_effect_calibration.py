"""Effect calibration: recovers a known baseline and a saturating effect map, pools thin groups,
keeps the discount order, and checks its inputs."""

from __future__ import annotations

import numpy as np
import pytest

from models.effect_calibration import EffectCalibration


def _touches(n: int, seed: int = 0, channel_share: float = 0.5) -> dict[str, np.ndarray]:
    """True effect: 0 for raw estimates below 0.01, 0.02 above it (a learner right in order, wrong in scale)."""
    rng = np.random.default_rng(seed)
    p0 = rng.uniform(0.02, 0.3, n)
    tau_raw = rng.normal(0.01, 0.02, n)
    truth = np.clip(p0 + np.where(tau_raw > 0.01, 0.02, 0.0), 0, 1)
    y = (rng.random(n) < truth).astype(float)
    return {"p_touch": p0 + tau_raw, "p0_touch": p0, "y_touch": y,
            "channel": np.where(rng.random(n) < channel_share, "email", "phone"), "offer": np.full(n, "OF1")}


def _none(n: int = 40_000, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.3, n)
    return {"p0_none": p, "y_none": (rng.random(n) < p).astype(float)}


def test_recovers_a_calibrated_baseline_and_a_saturating_effect() -> None:
    cal = EffectCalibration.fit(**_none(), **_touches(80_000))
    a, b = cal.baseline_coef
    assert abs(a) < 0.1 and abs(b - 1) < 0.05, "a calibrated baseline keeps (about) the identity map"
    low, high = cal.effect(np.array([-0.02, 0.05]), np.array(["email", "email"]))
    assert abs(low) < 0.012 and abs(high - 0.02) < 0.01 and high - low > 0.012
    assert set(cal.channel_maps) == {"email", "phone"}


def test_a_learner_whose_effects_are_noise_gets_a_flat_map() -> None:
    data = _touches(60_000, seed=3)
    data["y_touch"] = (np.random.default_rng(4).random(60_000) < data["p0_touch"] + 0.01).astype(float)
    cal = EffectCalibration.fit(**_none(), **data)
    f = cal.effect(np.array([-0.03, 0.0, 0.05]), np.full(3, "email"))
    assert np.ptp(f) < 0.01 and abs(f.mean() - 0.01) < 0.005


def test_thin_groups_lean_on_their_channel_and_discounts_stay_ordered() -> None:
    data = _touches(30_000, seed=5)
    data["offer"][:30] = "OF2"     # 30 touches only: their offset is pulled toward 0
    data["y_touch"][:30] = 1.0     # ... even though they all converted
    cal = EffectCalibration.fit(**_none(), strength=1000, **data)
    assert abs(cal.pair_alpha[("email", "OF2")]) < 1.0 and abs(cal.pair_alpha[("phone", "OF2")]) < 1.0
    assert cal.evidence_weight(np.array(["email"]), np.array(["OF2"]))[0] < 0.05
    p0_raw = np.full(4, 0.1)
    p_raw = np.array([0.105, 0.11, 0.12, 0.14])  # rising with the discount step
    p = cal.actions(p_raw, p0_raw, np.full(4, "email"), np.full(4, "OF1"))
    assert np.all(np.diff(p) >= 0)


def test_a_channel_with_few_touches_uses_the_pooled_map() -> None:
    data = _touches(20_000, seed=6, channel_share=0.97)  # ~600 phone touches
    cal = EffectCalibration.fit(**_none(), **data)
    assert "phone" not in cal.channel_maps
    x = np.array([0.0, 0.03])
    assert np.allclose(cal.effect(x, np.full(2, "phone")), cal.effect(x, np.full(2, "visit")))


def test_bad_inputs_name_what_was_expected() -> None:
    data = _touches(100)
    with pytest.raises(ValueError, match="strength must be >= 0"):
        EffectCalibration.fit(p0_none=np.array([0.1]), y_none=np.array([0.0]), strength=-1, **data)
    data["y_touch"] = data["y_touch"][:10]
    with pytest.raises(ValueError, match="must have one length"):
        EffectCalibration.fit(p0_none=np.array([0.1]), y_none=np.array([0.0]), **data)
