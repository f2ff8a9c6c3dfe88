"""Policy value of a trained pipeline on the validation period, from logged randomized touches.

For each logged decision of the validation period, the pipeline decides again with the data it
would have had at that moment (features and contact state as of the decision time). Where its
choice equals the logged action, the logged outcome counts, weighted by 1 / propensity
(self-normalized IPS). Reward = margin of all order lines in the attribution window − contact cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.actions import contact_state
from features.builder import build_features
from features.dataset import Dataset
from features.outcomes import window_outcomes
from features.policy import NONE_CHANNEL
from models.metrics import SelfNormalizedIPS
from models.pipeline import DecisionPipeline

MAX_DECISIONS = 10_000


def logged_decisions(validation: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """One row per logged decision with a propensity, and its reward."""
    dec = validation.drop_duplicates("touch_id")
    dec = dec[dec["propensity"].notna()].reset_index(drop=True)
    if dec.empty:
        return dec
    out = window_outcomes(dataset, pd.DataFrame({"account_id": dec["account_id"], "at": dec["touched_at"],
                                                 "category": pd.Series([None] * len(dec), dtype=object)}))
    cost = dec["channel"].map({n: r.cost for n, r in dataset.policy.channels.items()}).fillna(0.0)
    dec["reward"] = out["margin"].to_numpy(dtype=float) - cost.to_numpy(dtype=float)
    return dec


def _decision_snapshot(dataset: Dataset, dec: pd.DataFrame, pipeline: DecisionPipeline
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    cats = pipeline.categories
    n = len(dec)
    queries = pd.DataFrame({"account_id": np.repeat(dec["account_id"].to_numpy(dtype=object), len(cats)),
                            "at": np.repeat(dec["touched_at"].to_numpy(), len(cats)),
                            "category": np.tile(np.asarray(cats, dtype=object), n)})
    feats = build_features(dataset, queries, pipeline.specs).reset_index(drop=True)
    feats = feats.drop(columns=[c for c in ("account_id", "category") if c in feats.columns])
    frame = pd.concat([pd.DataFrame({"account_id": np.repeat(dec["touch_id"].to_numpy(dtype=object), len(cats)),
                                     "category": queries["category"]}), feats], axis=1)
    days = dec["touched_at"].dt.floor("D")
    states = []
    for day, idx in dec.groupby(days).groups.items():
        st = contact_state(dataset, day)
        part = st.reindex(dec.loc[idx, "account_id"].to_numpy())
        part.index = dec.loc[idx, "touch_id"].to_numpy()
        states.append(part)
    state = pd.concat(states).reindex(dec["touch_id"].to_numpy())
    reps = dataset.accounts.set_index("account_id")["rep_id"]
    state["rep_id"] = reps.reindex(dec["account_id"].to_numpy()).to_numpy()
    return frame, state


def validation_policy_value(dataset: Dataset, pipeline: DecisionPipeline, validation: pd.DataFrame,
                            seed: int = 0) -> dict[str, float]:
    """SNIPS policy values per decision: the pipeline's policy, `none` for everyone, the logging policy."""
    dec = logged_decisions(validation, dataset)
    if dec.empty:
        return {}
    if len(dec) > MAX_DECISIONS:
        dec = dec.sample(MAX_DECISIONS, random_state=seed).reset_index(drop=True)
    frame, state = _decision_snapshot(dataset, dec, pipeline)
    recs = pipeline.recommend(frame, state, top_k=1, explain=False)
    chosen = recs[recs["rank"] == 1].set_index("account_id").reindex(dec["touch_id"])
    logged_none = (dec["channel"] == NONE_CHANNEL).to_numpy()
    chosen_none = (chosen["channel"] == NONE_CHANNEL).to_numpy()
    same = ((chosen["channel"].to_numpy() == dec["channel"].to_numpy())
            & (chosen["offer_id"].astype(object).to_numpy() == dec["offer_id"].astype(object).to_numpy())
            & np.isclose(chosen["discount_pct"].to_numpy(dtype=float),
                         dec["discount_pct"].fillna(0).to_numpy(dtype=float)))
    match = np.where(chosen_none, logged_none, same & ~logged_none)
    est = SelfNormalizedIPS()
    reward = dec["reward"].to_numpy(dtype=float)
    pscore = dec["propensity"].to_numpy(dtype=float)
    v_policy = est.estimate_policy_value(reward=reward, match=match, pscore=pscore)
    v_none = est.estimate_policy_value(reward=reward, match=logged_none, pscore=pscore)
    return {
        "valid_policy_value": v_policy,
        "valid_policy_value_none": v_none,
        "valid_policy_value_logging": float(reward.mean()),
        "valid_policy_incremental_value": v_policy - v_none,
        "valid_policy_matches": float(match.sum()),
        "valid_policy_decisions": float(len(dec)),
        "valid_policy_contact_share": float(1 - chosen_none.mean()),
    }
