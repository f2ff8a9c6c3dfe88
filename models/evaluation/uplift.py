"""Qini curves per action (channel and offer) against `none`, from logged randomized touches.

For one action, the units are the logged decisions that took it (treated, any discount step) or
took `none` (control) and for which the action was eligible. They are ranked by the model's
predicted conversion lift of the action (mean over its eligible discount steps); each unit counts
with weight 1 / propensity, so the groups stand for the population the logging policy drew from.
The outcome is a conversion in the offer's category within the attribution window.

``gain(phi)`` = extra conversions per account of the population when the top ``phi`` by predicted
lift get the action: ``(R_T - R_C * N_T / N_C) / N_T(all)`` over the top ``phi`` (weighted sums).
At ``phi = 1`` it is the action's average uplift. The Qini coefficient is the area between the
curve and the straight line of random targeting, ``phi * gain(1)``: positive when the model puts
the accounts that respond first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.evaluation.replay import LOGGED_NONE, Replay

MIN_GROUP = 20
CURVE_POINTS = 51


@dataclass(frozen=True)
class QiniCurve:
    """The Qini curve of one action; ``fraction`` and ``gain`` are aligned points from (0, 0)."""

    channel: str
    offer_id: str
    fraction: np.ndarray
    gain: np.ndarray
    coefficient: float
    uplift: float
    n_treated: int
    n_control: int

    @property
    def label(self) -> str:
        return f"{self.channel} / {self.offer_id}"


def qini_curve(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray, weight: np.ndarray,
               points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray, float]:
    """(fraction, gain, coefficient) for units ranked by ``score`` (highest first).

    ``treated``: bool, control otherwise; ``outcome``: 0/1; ``weight``: inverse propensities.
    """
    score, treated = np.asarray(score, dtype=float), np.asarray(treated, dtype=bool)
    outcome, weight = np.asarray(outcome, dtype=float), np.asarray(weight, dtype=float)
    if not (len(score) == len(treated) == len(outcome) == len(weight)):
        raise ValueError(f"score, treated, outcome and weight must have equal length, got "
                         f"{len(score)}, {len(treated)}, {len(outcome)}, {len(weight)}")
    if not treated.any() or treated.all():
        raise ValueError("qini_curve needs treated and control units, got only one group")
    order = np.argsort(-score, kind="mergesort")
    t, y, w = treated[order], outcome[order], weight[order]
    n_t = np.cumsum(w * t)
    n_c = np.cumsum(w * ~t)
    r_t = np.cumsum(w * t * y)
    r_c = np.cumsum(w * ~t * y)
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = r_t - np.where(n_c > 0, r_c * n_t / np.where(n_c > 0, n_c, 1.0), 0.0)
    gain_all = qini / n_t[-1]
    frac_all = np.cumsum(w) / w.sum()
    grid = np.linspace(0.0, 1.0, points)
    fraction = np.r_[0.0, frac_all]
    gain = np.interp(grid, fraction, np.r_[0.0, gain_all])
    coefficient = float(np.trapezoid(gain - grid * gain[-1], grid))
    return grid, gain, coefficient


def qini_by_action(rep: Replay, holdout: pd.DataFrame, min_group: int = MIN_GROUP) -> list[QiniCurve]:
    """One Qini curve per (channel, offer) with at least ``min_group`` treated and control units.

    ``holdout``: the labelled rows (touch_id, category, converted) of the replayed decisions; a
    `none` decision has one row per category.
    """
    converted = holdout.drop_duplicates(["touch_id", "category"]).set_index(
        ["touch_id", "category"])["converted"].astype(float)
    dec = rep.decisions
    weight = 1.0 / dec["propensity"].to_numpy(dtype=float)
    control = rep.logged_action == LOGGED_NONE
    curves = []
    for (channel, offer), group in rep.actions.groupby(["channel", "offer_id"], sort=True):
        cols = group.index.to_numpy()
        eligible = rep.eligible[:, cols].any(axis=1)
        treated = np.isin(rep.logged_action, cols)
        units = (treated | control) & eligible
        n_t, n_c = int((units & treated).sum()), int((units & control).sum())
        if n_t < min_group or n_c < min_group:
            continue
        category = str(group["category"].iloc[0])
        keys = pd.MultiIndex.from_arrays([dec["touch_id"].to_numpy()[units], np.full(units.sum(), category)])
        outcome = converted.reindex(keys).to_numpy(dtype=float)
        known = ~np.isnan(outcome)
        with np.errstate(invalid="ignore"):
            score = np.nanmean(rep.lift[np.ix_(np.flatnonzero(units), cols)], axis=1)
        sel = known & ~np.isnan(score)
        is_t = treated[units][sel]
        if is_t.sum() < min_group or (~is_t).sum() < min_group:
            continue
        fraction, gain, coefficient = qini_curve(score[sel], is_t, outcome[sel], weight[units][sel])
        curves.append(QiniCurve(str(channel), str(offer), fraction, gain, coefficient, float(gain[-1]),
                                int(is_t.sum()), int((~is_t).sum())))
    return curves
