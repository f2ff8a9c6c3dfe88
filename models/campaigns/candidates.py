"""Campaign candidates: every eligible (account, action) pair worth more than doing nothing.

The pairs come from the same decision pipeline that ranks the reps' suggestions
(``DecisionPipeline.recommend``: eligibility mask first, then scoring), with the best discount per
(account, offer, channel). Each pair carries what the portfolio needs: the channel's cost, who
executes it, the owning rep and the account's region.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.dataset import Dataset
from features.errors import InputError
from features.policy import NONE_CHANNEL, Policy
from models.pipeline import DecisionPipeline
from models.recommend import score_dataset

CANDIDATE_COLUMNS = ["account_id", "region", "rep_id", "channel", "offer_id", "discount_pct", "category",
                     "p_convert", "p_convert_baseline", "expected_incremental_margin", "executed_by", "cost"]


def score_recommendations(dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, *,
                          model_version: str | None = None) -> pd.DataFrame:
    """Every positive action of every account at ``as_of`` (best discount per offer and channel),
    ranked, without reasons: ``score_dataset`` with ``top_k`` = all (offer, channel) pairs."""
    return score_dataset(dataset, as_of, pipeline, top_k=None, model_version=model_version, explain=False)


def candidates_from_recommendations(recs: pd.DataFrame, accounts: pd.DataFrame, policy: Policy, *,
                                    channels: Iterable[str] | None = None,
                                    offers: Iterable[str] | None = None,
                                    catalog_offers: Iterable[str] | None = None,
                                    min_incremental_margin: float = 0.0,
                                    exclude_accounts: Iterable[str] = ()) -> pd.DataFrame:
    """The campaign's candidate pairs (columns ``CANDIDATE_COLUMNS``) from recommendation rows.

    Keeps actions (not ``none``) on ``channels`` and ``offers`` (all when None; checked against
    ``catalog_offers`` when given) whose expected
    incremental margin exceeds ``min_incremental_margin`` (and 0), drops ``exclude_accounts`` and
    rep-executed actions of accounts without an owning rep (nobody could execute them).
    """
    channels = _checked(channels, policy.channel_names, "channels")
    offers = _checked(offers, None if catalog_offers is None else [str(o) for o in catalog_offers], "offers")
    if min_incremental_margin < 0:
        raise InputError(f"min_incremental_margin must be >= 0 (no campaign action may be worth less "
                         f"than doing nothing), got {min_incremental_margin}")
    rows = recs.loc[(recs["channel"] != NONE_CHANNEL)
                    & (recs["expected_incremental_margin"] > max(min_incremental_margin, 0.0))]
    if channels is not None:
        rows = rows.loc[rows["channel"].isin(channels)]
    if offers is not None:
        rows = rows.loc[rows["offer_id"].astype(str).isin(offers)]
    excluded = set(map(str, exclude_accounts))
    if excluded:
        rows = rows.loc[~rows["account_id"].astype(str).isin(excluded)]
    unowned_rep_action = (rows["executed_by"] == "rep") & rows["rep_id"].isna()
    rows = rows.loc[~unowned_rep_action]
    region = accounts.assign(account_id=accounts["account_id"].astype(str)).set_index("account_id")["region"]
    out = pd.DataFrame({
        "account_id": rows["account_id"].astype(str).to_numpy(dtype=object),
        "region": region.reindex(rows["account_id"].astype(str)).to_numpy(dtype=object),
        "rep_id": rows["rep_id"].to_numpy(dtype=object),
        "channel": rows["channel"].astype(str).to_numpy(dtype=object),
        "offer_id": rows["offer_id"].astype(str).to_numpy(dtype=object),
        "discount_pct": rows["discount_pct"].to_numpy(dtype=np.float64),
        "category": rows["category"].to_numpy(dtype=object) if "category" in rows
        else np.full(len(rows), None, dtype=object),
        "p_convert": rows["p_convert"].to_numpy(dtype=np.float64),
        "p_convert_baseline": rows["p_convert_baseline"].to_numpy(dtype=np.float64),
        "expected_incremental_margin": rows["expected_incremental_margin"].to_numpy(dtype=np.float64),
        "executed_by": rows["executed_by"].to_numpy(dtype=object),
        "cost": np.array([policy.rule(c).cost for c in rows["channel"].astype(str)], dtype=np.float64),
    })
    out["rep_id"] = out["rep_id"].where(out["rep_id"].notna(), None)
    return out.reset_index(drop=True)[CANDIDATE_COLUMNS]


def _checked(values: Iterable[str] | None, allowed: list[str] | None, what: str) -> list[str] | None:
    """The non-empty names of ``values`` (None = no restriction); unknown names are an error."""
    if values is None:
        return None
    names = [str(v).strip() for v in values if str(v).strip()]
    if not names:
        return None
    unknown = [v for v in names if allowed is not None and v not in allowed]
    if unknown:
        raise InputError(f"{what}: unknown {unknown}; expected some of: {', '.join(allowed or [])}")
    return names
