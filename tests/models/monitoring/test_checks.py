"""Thresholds as code, Wilson intervals, calibration verdicts and feedback shares on small frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.monitoring.calibration import ALL, calibration_table, group_level, wilson_interval
from models.monitoring.feedback import feedback_shares
from models.monitoring.thresholds import MonitorThresholds, worst


def test_thresholds_validate_and_judge_psi():
    t = MonitorThresholds()
    assert [t.psi_verdict(v, 500) for v in (0.05, 0.15, 0.25)] == ["ok", "watch", "drift"]
    assert t.psi_verdict(0.25, 500, lifetime=True) == "watch"
    assert MonitorThresholds(lifetime_features_drift=True).psi_verdict(0.25, 500, lifetime=True) == "drift"
    assert t.psi_verdict(0.9, 99) == "not enough data"
    assert t.psi_verdict(math.nan, 500) == "not enough data"
    with pytest.raises(ValueError, match="psi_drift: expected a finite number >= 0"):
        MonitorThresholds(psi_drift=-1)
    with pytest.raises(ValueError, match="must not exceed"):
        MonitorThresholds(psi_watch=0.3, psi_drift=0.2)
    with pytest.raises(ValueError, match=r"calibration_level: expected a number in \(0, 1\)"):
        MonitorThresholds(calibration_level=1.0)
    assert worst(["ok", "watch", "not enough data"]) == "watch"
    assert worst([]) == "not enough data"


def test_wilson_interval_known_values():
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    assert group_level(5, 0.95) == pytest.approx(0.99)


def _outcomes(rates: dict[str, float], n: int, predicted: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = [pd.DataFrame({"channel": channel, "offer_id": "OF1", "p_convert": predicted,
                            "converted": rng.random(n) < rate}) for channel, rate in rates.items()]
    return pd.concat(frames, ignore_index=True)


def test_calibration_verdicts_per_channel():
    t = MonitorThresholds(min_decisions=100)
    stable = calibration_table(_outcomes({"email": 0.2, "phone": 0.2}, 2000, 0.2), t)
    assert stable["channel"].tolist() == [ALL, "email", "phone"]
    assert set(stable["verdict"]) == {"ok"}
    drifted = calibration_table(_outcomes({"email": 0.2, "phone": 0.1}, 2000, 0.2), t).set_index("channel")
    assert drifted.loc["phone", "verdict"] == "drift" and drifted.loc["email", "verdict"] == "ok"
    assert drifted.loc["phone", "gap"] == pytest.approx(0.1, abs=0.02)
    assert drifted.loc["phone", "low"] <= drifted.loc["phone", "realized"] <= drifted.loc["phone", "high"]
    few = calibration_table(_outcomes({"visit": 0.0}, 99, 0.5), t).set_index("channel")
    assert few.loc["visit", "verdict"] == "not enough data"
    assert calibration_table(pd.DataFrame(columns=["channel", "offer_id", "p_convert", "converted"]), t).empty


def test_calibration_watch_between_the_plain_and_the_shared_out_interval():
    # 400 decisions at 20 %: plain 95 % interval about [0.163, 0.242]; with 3 groups the shared-out
    # level is 98.3 % and the interval about [0.155, 0.252]. A prediction of 0.247 lies in between.
    frame = pd.DataFrame({"channel": ["a"] * 400 + ["b"] * 400, "offer_id": "x",
                          "p_convert": [0.247] * 400 + [0.2] * 400,
                          "converted": ([True] * 80 + [False] * 320) * 2})
    table = calibration_table(frame, MonitorThresholds(min_decisions=100)).set_index("channel")
    assert table.loc["a", "verdict"] == "watch" and table.loc["b", "verdict"] == "ok"


def test_feedback_shares_per_model_version():
    decisions = pd.DataFrame({"suggestion_id": ["s1", "s1", "s2", "s3", "s4"],
                              "model_version": ["m/1", "m/1", "m/1", "m/1", "m/2"]})
    feedback = pd.DataFrame({"suggestion_id": ["s1", "s1", "s1", "s2", "s4", "unknown"],
                             "status": ["accepted", "accepted", "done", "dismissed", "done", "done"]})
    table = feedback_shares(decisions, feedback).set_index("model_version")
    assert table.loc["m/1", ["shown", "answered", "accepted", "dismissed", "done"]].tolist() == [3, 2, 1, 1, 1]
    assert table.loc["m/1", "accepted_share"] == pytest.approx(1 / 3)
    # Done counts as taken on (accepted), as in the scoreboard's funnel.
    assert table.loc["m/2", ["shown", "answered", "accepted", "done"]].tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match=r"feedback: missing columns \['status'\]"):
        feedback_shares(decisions, feedback[["suggestion_id"]])


def test_feedback_shares_count_the_final_status():
    decisions = pd.DataFrame({"suggestion_id": ["s1", "s2", "s3", "s4"], "model_version": "m/1"})
    # Stored out of order: the ids decide. s1 accepted then taken back; s2 done, taken back, done
    # again; s3 accepted then dismissed; s4 dismissed then taken back, then snoozed.
    feedback = pd.DataFrame({
        "id": [2, 1, 3, 6, 4, 5, 7, 8, 9, 10],
        "suggestion_id": ["s1", "s1", "s2", "s2", "s2", "s3", "s3", "s4", "s4", "s4"],
        "status": ["undone", "accepted", "done", "done", "undone", "accepted", "dismissed", "dismissed",
                   "undone", "snoozed"]})
    row = feedback_shares(decisions, feedback).set_index("model_version").loc["m/1"]
    assert row[["shown", "answered", "accepted", "dismissed", "done"]].tolist() == [4, 2, 1, 1, 1]
    assert row["dismissed_share"] == pytest.approx(0.25)
