"""Campaign results: contacted vs holdout in the attribution window after the campaign's as-of.

Each member's outcome is the contract's conversion and margin of its planned action's category in
``(as_of, as_of + attribution_window_days]`` (``features.outcomes.window_outcomes``): lines of a
contacted member use the offer's margin rate, a holdout's the category's. Because the holdout is a
random share of the same audience, the difference of the group means estimates what the outreach
added per account; the confidence intervals are normal (Welch) intervals of that difference.
``incremental_margin`` subtracts the contact cost and is compared with the plan's expected
incremental margin (``lift_vs_plan`` = measured / planned).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.dataset import Dataset
from features.outcomes import window_outcomes

Z_95 = 1.959963984540054
OUTCOME_INPUT = ["holdout", "converted", "margin", "cost", "expected_incremental_margin"]


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % confidence interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """Contacted vs holdout for one group of members (all, one channel or one offer)."""

    group: str
    contacted: int
    holdout: int
    conversion_contacted: float
    conversion_holdout: float
    conversion_lift: Interval          # difference of conversion rates
    margin_contacted: float            # mean margin per account
    margin_holdout: float
    margin_lift: Interval              # difference of mean margins, before contact cost
    cost_per_contacted: float
    incremental_margin: Interval       # per contacted account, after contact cost
    planned_incremental_margin: float  # the plan's mean expected incremental margin per contacted
    total_incremental_margin: Interval  # per contacted x number contacted
    lift_vs_plan: float | None         # measured / planned incremental margin

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def member_outcomes(dataset: Dataset, members: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``members`` with ``converted`` and ``margin`` of their planned category in the window after ``as_of``."""
    offers = dataset.offers.assign(offer_id=dataset.offers["offer_id"].astype(str)).set_index("offer_id")
    rate = offers["margin_rate"].reindex(members["offer_id"].astype(str)).to_numpy(dtype=np.float64)
    held = members["holdout"].to_numpy(dtype=bool)
    queries = pd.DataFrame({"account_id": members["account_id"].astype(str).to_numpy(dtype=object),
                            "at": np.full(len(members), pd.Timestamp(as_of)).astype("datetime64[us]"),
                            "category": members["category"].to_numpy(dtype=object),
                            "margin_rate": np.where(held, np.nan, rate)})
    outcome = window_outcomes(dataset, queries)
    return members.assign(converted=outcome["converted"].to_numpy(dtype=bool),
                          margin=outcome["margin"].to_numpy(dtype=np.float64))


def _difference(a: np.ndarray, b: np.ndarray) -> Interval:
    """Mean(a) − mean(b) with a Welch normal 95 % interval (NaN when a group is too small)."""
    if len(a) < 2 or len(b) < 2:
        estimate = float(a.mean() - b.mean()) if len(a) and len(b) else float("nan")
        return Interval(estimate, float("nan"), float("nan"))
    estimate = float(a.mean() - b.mean())
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    return Interval(estimate, estimate - Z_95 * se, estimate + Z_95 * se)


def compare(outcomes: pd.DataFrame, group: str = "all") -> Comparison:
    """Contacted vs holdout of ``outcomes`` (columns ``OUTCOME_INPUT``)."""
    missing = [c for c in OUTCOME_INPUT if c not in outcomes]
    if missing:
        raise ValueError(f"outcomes lack columns {missing}; expected {OUTCOME_INPUT}")
    held = outcomes["holdout"].to_numpy(dtype=bool)
    conv = outcomes["converted"].to_numpy(dtype=np.float64)
    margin = outcomes["margin"].to_numpy(dtype=np.float64)
    cost = outcomes["cost"].to_numpy(dtype=np.float64)
    planned = outcomes["expected_incremental_margin"].to_numpy(dtype=np.float64)
    n_c, n_h = int((~held).sum()), int(held.sum())
    mean_cost = float(cost[~held].mean()) if n_c else 0.0
    margin_lift = _difference(margin[~held], margin[held])
    net = Interval(margin_lift.estimate - mean_cost, margin_lift.low - mean_cost, margin_lift.high - mean_cost)
    planned_mean = float(planned[~held].mean()) if n_c else float("nan")
    ratio = net.estimate / planned_mean if n_c and planned_mean > 0 and np.isfinite(net.estimate) else None
    return Comparison(
        group=group, contacted=n_c, holdout=n_h,
        conversion_contacted=float(conv[~held].mean()) if n_c else float("nan"),
        conversion_holdout=float(conv[held].mean()) if n_h else float("nan"),
        conversion_lift=_difference(conv[~held], conv[held]),
        margin_contacted=float(margin[~held].mean()) if n_c else float("nan"),
        margin_holdout=float(margin[held].mean()) if n_h else float("nan"),
        margin_lift=margin_lift, cost_per_contacted=mean_cost, incremental_margin=net,
        planned_incremental_margin=planned_mean,
        total_incremental_margin=Interval(net.estimate * n_c, net.low * n_c, net.high * n_c),
        lift_vs_plan=ratio)


@dataclass(frozen=True)
class CampaignReport:
    """The whole campaign, per channel and per offer, and how much of the window was observed."""

    overall: Comparison
    by_channel: list[Comparison]
    by_offer: list[Comparison]
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    observed_until: pd.Timestamp | None
    window_complete: bool

    def to_dict(self) -> dict[str, Any]:
        return {"overall": self.overall.to_dict(),
                "by_channel": [c.to_dict() for c in self.by_channel],
                "by_offer": [c.to_dict() for c in self.by_offer],
                "window_start": self.window_start.isoformat(), "window_end": self.window_end.isoformat(),
                "observed_until": None if self.observed_until is None else self.observed_until.isoformat(),
                "window_complete": self.window_complete}


def campaign_report(dataset: Dataset, members: pd.DataFrame, as_of: pd.Timestamp) -> CampaignReport:
    """Measure a campaign whose ``members`` were planned at ``as_of`` on the outcomes in ``dataset``."""
    as_of = pd.Timestamp(as_of)
    outcomes = member_outcomes(dataset, members, as_of)
    end = as_of + pd.Timedelta(days=dataset.policy.attribution_window_days)
    latest = dataset.latest_time()
    by_channel = [compare(g, f"channel {k}") for k, g in outcomes.groupby("channel", sort=True)]
    by_offer = [compare(g, f"offer {k}") for k, g in outcomes.groupby("offer_id", sort=True)]
    return CampaignReport(compare(outcomes), by_channel, by_offer, as_of, end, latest,
                          latest is not None and latest >= end)
