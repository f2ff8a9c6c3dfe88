"""The monitoring profile's account sample: seeded by account id, every row of the kept accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.monitoring.reference import sample_accounts


def _hash_order_ids(ids: pd.Series, n: int, seed: int) -> set[str]:
    order = np.argsort(pd.util.hash_array(ids.to_numpy(dtype=object), hash_key=f"{seed:016d}"), kind="stable")
    return set(ids.iloc[order[:n]])


def test_sample_keeps_the_hash_chosen_accounts_with_all_their_rows(small_dataset) -> None:
    ids = small_dataset.accounts["account_id"].astype(str)
    n = len(ids) // 3
    sample = sample_accounts(small_dataset, n, seed=3)
    chosen = _hash_order_ids(ids, n, 3)
    assert set(sample.accounts["account_id"]) == chosen and len(sample.accounts) == n
    for name in ("accounts", "orders", "touches", "web_events"):
        table = getattr(small_dataset, name)
        expected = table[table["account_id"].astype(str).isin(chosen)].reset_index(drop=True)
        pd.testing.assert_frame_equal(getattr(sample, name), expected, check_index_type=False)


def test_sample_of_at_least_every_account_is_the_data_set(small_dataset) -> None:
    assert sample_accounts(small_dataset, len(small_dataset.accounts)) is small_dataset
    assert sample_accounts(small_dataset, None) is small_dataset
