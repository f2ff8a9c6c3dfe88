"""Realized against predicted conversion of the logged suggestions that were carried out.

A logged suggestion (the service's decision log: account, channel, offer, discount, predicted
``p_convert``, as-of time) counts as carried out when the data holds a touch of the same account
and action at or after the suggestion's as-of time, within ``acted_within_days``. Its outcome is the
touch's conversion label as the project defines it (``features.outcomes.label_touches``: an order
of the offer's category within the attribution window after the touch), judged only once that
window has closed before the data's as-of time. Each touch answers for one suggestion at most
(the latest one shown before it), each suggestion for its first touch.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.stats import norm

from features.dataset import Dataset
from features.outcomes import label_touches
from features.policy import NONE_CHANNEL
from models.monitoring.thresholds import MonitorThresholds, Verdict

#: Columns the decision log must provide.
DECISION_COLUMNS = ("suggestion_id", "account_id", "channel", "offer_id", "discount_pct", "p_convert",
                    "model_version", "as_of")
CALIBRATION_COLUMNS = ["channel", "offer_id", "decisions", "predicted", "realized", "low", "high", "gap",
                       "verdict"]
ALL = "(all)"


def wilson_interval(successes: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (NaN, NaN when ``n`` is 0)."""
    if n <= 0:
        return math.nan, math.nan
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The action key of each row as comparable columns (missing offer = empty text)."""
    return pd.DataFrame({
        "account_id": frame["account_id"].astype(str).to_numpy(),
        "channel": frame["channel"].astype(str).to_numpy(),
        "offer_id": frame["offer_id"].astype(object).where(frame["offer_id"].notna(), "").astype(str).to_numpy(),
        "discount_pct": np.round(pd.to_numeric(frame["discount_pct"], errors="coerce")
                                 .to_numpy(dtype=np.float64, na_value=0.0), 6),
    }, index=frame.index)


def closed_outcomes(decisions: pd.DataFrame, dataset: Dataset, as_of: pd.Timestamp,
                    thresholds: MonitorThresholds | None = None) -> pd.DataFrame:
    """The carried-out suggestions of ``decisions`` whose attribution window closed before ``as_of``.

    ``decisions``: the decision log (``DECISION_COLUMNS``; one row per showing). Returns one row per
    suggestion with ``channel``, ``offer_id``, ``discount_pct``, ``p_convert``, ``model_version``,
    ``touch_id``, ``touched_at`` and ``converted`` (bool). ``none`` suggestions are left out.
    """
    t = thresholds or MonitorThresholds()
    missing = [c for c in DECISION_COLUMNS if c not in decisions.columns]
    if missing:
        raise ValueError(f"decision log: missing columns {missing}; expected {list(DECISION_COLUMNS)}")
    columns = ["suggestion_id", "account_id", "channel", "offer_id", "discount_pct", "p_convert",
               "model_version", "as_of", "touch_id", "touched_at", "converted"]
    as_of = pd.Timestamp(as_of)
    shown = decisions[decisions["channel"].astype(str) != NONE_CHANNEL]
    shown = shown.sort_values("as_of", kind="mergesort").drop_duplicates("suggestion_id")
    data = dataset.before(as_of)
    touches = data.touches[data.touches["channel"].astype(str) != NONE_CHANNEL]
    if shown.empty or touches.empty:
        return pd.DataFrame(columns=columns)
    left = pd.concat([_keys(shown), shown[["suggestion_id", "p_convert", "model_version"]].reset_index(drop=True)
                      .set_axis(shown.index)], axis=1)
    left["shown_as_of"] = pd.to_datetime(shown["as_of"]).astype("datetime64[us]").to_numpy()
    right = _keys(touches).assign(touch_id=touches["touch_id"].astype(str).to_numpy(),
                                  touched_at=touches["touched_at"].astype("datetime64[us]").to_numpy())
    pairs = left.merge(right, on=["account_id", "channel", "offer_id", "discount_pct"], how="inner")
    within = pd.Timedelta(days=t.acted_within_days)
    pairs = pairs[(pairs["touched_at"] >= pairs["shown_as_of"])
                  & (pairs["touched_at"] < pairs["shown_as_of"] + within)]
    # Each suggestion its first touch; each touch the latest suggestion shown before it.
    pairs = pairs.sort_values(["touched_at", "touch_id"], kind="mergesort").drop_duplicates("suggestion_id")
    pairs = pairs.sort_values("shown_as_of", kind="mergesort").drop_duplicates("touch_id", keep="last")
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    acted = data.touches[data.touches["touch_id"].astype(str).isin(pairs["touch_id"])]
    labels = label_touches(replace(data, touches=acted.reset_index(drop=True)), as_of)
    labels = labels.assign(touch_id=labels["touch_id"].astype(str))
    labels = labels[labels["complete"]].drop_duplicates("touch_id")[["touch_id", "converted"]]
    out = pairs.merge(labels, on="touch_id", how="inner").rename(columns={"shown_as_of": "as_of"})
    out["offer_id"] = out["offer_id"].where(out["offer_id"] != "", None)
    out["converted"] = out["converted"].astype(bool)
    return out[columns].reset_index(drop=True)


def _group_row(channel: str, offer: str | None, rows: pd.DataFrame, level: float,
               t: MonitorThresholds) -> dict[str, object]:
    """One group: ``drift`` outside the (shared-out) interval at ``level``, ``watch`` outside the
    plain interval at ``t.calibration_level`` only."""
    n = len(rows)
    predicted = float(rows["p_convert"].mean()) if n else math.nan
    realized = float(rows["converted"].mean()) if n else math.nan
    successes = float(rows["converted"].sum())
    low, high = wilson_interval(successes, n, level)
    plain_low, plain_high = wilson_interval(successes, n, t.calibration_level)
    verdict: Verdict
    if n < t.min_decisions:
        verdict = "not enough data"
    elif not low <= predicted <= high:
        verdict = "drift"
    else:
        verdict = "watch" if not plain_low <= predicted <= plain_high else "ok"
    return {"channel": channel, "offer_id": offer, "decisions": n, "predicted": predicted,
            "realized": realized, "low": low, "high": high, "gap": predicted - realized, "verdict": verdict}


def group_level(groups: int, level: float) -> float:
    """The interval level for ``groups`` judged at once: 1 - (1 - level) / groups (Bonferroni)."""
    return 1.0 - (1.0 - level) / max(groups, 1)


def calibration_table(outcomes: pd.DataFrame, thresholds: MonitorThresholds | None = None,
                      by: tuple[str, ...] = ("channel",)) -> pd.DataFrame:
    """Predicted (mean ``p_convert``) against realized conversion, per group of ``by`` (channel,
    or channel and offer) and over all decisions (first row, channel ``(all)``), with the realized
    rate's Wilson interval and a verdict: ``drift`` when the prediction lies outside the interval,
    ``watch`` when it lies outside the interval at the plain ``calibration_level`` only.

    The interval level is shared out over the groups with enough decisions (Bonferroni), so a
    calibrated model gets no drift verdict anywhere with probability of about ``calibration_level``.
    """
    t = thresholds or MonitorThresholds()
    if outcomes.empty:
        return pd.DataFrame(columns=CALIBRATION_COLUMNS)
    frame = outcomes.assign(offer_id=outcomes["offer_id"].astype(object).where(outcomes["offer_id"].notna(), None))
    grouped = list(frame.groupby(list(by), sort=True, dropna=False))
    judged = 1 + sum(len(rows) >= t.min_decisions for _, rows in grouped)
    level = group_level(judged, t.calibration_level)
    out = [_group_row(ALL, None, frame, level, t)]
    for key, rows in grouped:
        values = key if isinstance(key, tuple) else (key,)
        named = dict(zip(by, values, strict=True))
        offer = named.get("offer_id")
        out.append(_group_row(str(named["channel"]), None if offer is None or pd.isna(offer) else str(offer),
                              rows, level, t))
    return pd.DataFrame(out, columns=CALIBRATION_COLUMNS)
