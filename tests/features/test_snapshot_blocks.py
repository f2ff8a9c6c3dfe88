"""Snapshots in blocks of accounts: the same rows as one snapshot of the whole data set."""

from __future__ import annotations

import pandas as pd
import pytest

from features.actions import action_space
from features.definitions import feature_specs
from features.snapshot import AccountBlocks, build_snapshot


def test_blocks_split_accounts_and_their_rows_in_order(small_dataset) -> None:
    blocks = list(AccountBlocks(small_dataset, 70))
    n_acc = len(small_dataset.accounts)
    assert [len(b.accounts) for b in blocks] == [min(70, n_acc - s) for s in range(0, n_acc, 70)]
    pd.testing.assert_frame_equal(pd.concat([b.accounts for b in blocks], ignore_index=True), small_dataset.accounts)
    for name in ("orders", "touches", "web_events"):
        parts = [getattr(b, name) for b in blocks]
        for block, part in zip(blocks, parts, strict=True):
            assert part["account_id"].isin(block.accounts["account_id"]).all()
        whole = getattr(small_dataset, name)
        assert sum(len(p) for p in parts) == len(whole)
        # Each account's rows keep their order of the whole table.
        order = pd.concat(parts, ignore_index=True).sort_values("account_id", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(order, whole.sort_values("account_id", kind="stable").reset_index(drop=True))
    assert all(b.offers is small_dataset.offers and b.policy is small_dataset.policy for b in blocks)


def test_one_block_is_the_data_set_itself_and_bad_sizes_are_refused(small_dataset) -> None:
    assert list(AccountBlocks(small_dataset, len(small_dataset.accounts))) == [small_dataset]
    with pytest.raises(ValueError, match="block_accounts must be >= 1, got 0"):
        list(AccountBlocks(small_dataset, 0))


def test_snapshots_of_blocks_equal_the_whole_snapshot(small_dataset, as_of) -> None:
    data = small_dataset.before(as_of)
    specs = feature_specs(data)
    categories = sorted(set(action_space(data)["category"]))
    whole = build_snapshot(data, as_of, specs, categories)
    parts = pd.concat([build_snapshot(b, as_of, specs, categories) for b in AccountBlocks(data, 45)],
                      ignore_index=True)
    pd.testing.assert_frame_equal(parts, whole, check_exact=True)
