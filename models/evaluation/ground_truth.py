"""Policy values against known ground truth (the sample generator's true incremental margins).

The truth frame has one row per account × action with ``true_expected_incremental_margin``,
``true_p_convert`` and ``eligible``; a policy's value is the mean true incremental margin of the
action it picks per account (``none`` = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.policy import NONE_CHANNEL

KEY = ["account_id", "channel", "offer_id", "discount_pct"]


@dataclass(frozen=True)
class PolicyComparison:
    policy: float
    random: float
    best_single_action: float
    best_single_action_name: str
    by_conversion_probability: float
    oracle: float
    normalized: float
    ineligible_suggestions: int
    accounts: int

    def as_dict(self) -> dict[str, float | str | int]:
        return dict(self.__dict__)


def _chosen(recs: pd.DataFrame) -> pd.DataFrame:
    top = recs[recs["rank"] == 1][["account_id", "channel", "offer_id", "discount_pct"]].copy()
    top["discount_pct"] = top["discount_pct"].astype(float)
    return top


def compare_policies(recs: pd.DataFrame, truth: pd.DataFrame,
                     by_probability: pd.DataFrame | None = None) -> PolicyComparison:
    """Value of the rank-1 suggestions of ``recs`` next to reference policies, all on ``truth``.

    ``by_probability`` (optional): the recommendations of a policy that ranks by raw conversion
    probability (same columns as ``recs``); its value is NaN when not given.
    """
    truth = truth.copy()
    truth["discount_pct"] = truth["discount_pct"].astype(float)
    value = truth["true_expected_incremental_margin"].to_numpy(dtype=float)
    eligible = truth["eligible"].to_numpy(dtype=bool)
    accounts = pd.Index(pd.unique(truth["account_id"]))
    n = len(accounts)
    acc_idx = accounts.get_indexer(truth["account_id"])

    def value_of(choice: pd.DataFrame) -> tuple[float, int]:
        contact = choice[choice["channel"] != NONE_CHANNEL]
        merged = contact.merge(truth[[*KEY, "true_expected_incremental_margin", "eligible"]],
                               on=KEY, how="left")
        bad = int((~merged["eligible"].fillna(False).astype(bool)).sum())
        total = merged.loc[merged["eligible"].fillna(False).astype(bool),
                           "true_expected_incremental_margin"].sum()
        return float(total) / n, bad

    v_policy, bad = value_of(_chosen(recs))
    # Random: uniform over the eligible actions and `none` of each account.
    ev = np.where(eligible, value, 0.0)
    sums = np.bincount(acc_idx, weights=ev, minlength=n)
    counts = np.bincount(acc_idx, weights=eligible.astype(float), minlength=n) + 1.0
    v_random = float(np.mean(sums / counts))
    # Oracle: best eligible action or none.
    best = np.zeros(n)
    np.maximum.at(best, acc_idx, np.where(eligible, value, 0.0))
    v_oracle = float(best.mean())
    # Best single action: the same action for every account where eligible, else none.
    per_action = truth.assign(v=np.where(eligible, value, 0.0)).groupby(
        ["channel", "offer_id", "discount_pct"], dropna=False)["v"].sum() / n
    top = per_action.idxmax() if len(per_action) else ("none", None, 0.0)
    v_single = max(float(per_action.max()) if len(per_action) else 0.0, 0.0)
    v_prob = float("nan")
    if by_probability is not None:
        v_prob, _ = value_of(_chosen(by_probability))
    denom = v_oracle - v_random
    return PolicyComparison(
        policy=v_policy, random=v_random, best_single_action=v_single,
        best_single_action_name=" / ".join(str(x) for x in top), by_conversion_probability=v_prob,
        oracle=v_oracle, normalized=(v_policy - v_random) / denom if denom > 0 else float("nan"),
        ineligible_suggestions=bad, accounts=n,
    )
