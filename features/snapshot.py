"""The scoring snapshot: every account × offered category as of one time, in one flat frame.

One row per account × category with ``account_id``, ``category``, ``rep_id``, the contact-state
columns (consent, do-not-contact, touches per channel in the last 30 days, quiet period) and the
declared feature columns. This is the input of the decision pipeline (CLI, service and pyfunc).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.actions import contact_state
from features.builder import build_features
from features.dataset import Dataset
from features.definitions import FeatureSpec


def build_snapshot(dataset: Dataset, as_of: pd.Timestamp, specs: list[FeatureSpec],
                   categories: list[str]) -> pd.DataFrame:
    """Features and contact state of all accounts for ``categories`` from data strictly before ``as_of``."""
    as_of = pd.Timestamp(as_of)
    data = dataset.before(as_of)
    accounts = data.accounts["account_id"].to_numpy(dtype=object)
    n_acc, n_cat = len(accounts), len(categories)
    queries = pd.DataFrame({
        "account_id": np.repeat(accounts, n_cat),
        "at": np.full(n_acc * n_cat, as_of),
        "category": np.tile(np.asarray(categories, dtype=object), n_acc),
    })
    feats = build_features(data, queries, specs).reset_index(drop=True)
    state = contact_state(data, as_of)
    state = state.reindex(accounts)
    state_rep = data.accounts.set_index("account_id")["rep_id"].reindex(accounts)
    per_account = state.assign(rep_id=state_rep.to_numpy()).reset_index(drop=True)
    repeated = per_account.iloc[np.repeat(np.arange(n_acc), n_cat)].reset_index(drop=True)
    keys = queries[["account_id", "category"]]
    feats = feats.drop(columns=[c for c in feats.columns if c in keys.columns or c in repeated.columns])
    return pd.concat([keys, repeated, feats], axis=1)
