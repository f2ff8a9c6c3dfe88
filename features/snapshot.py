"""The scoring snapshot: every account × offered category as of one time, in one flat frame.

One row per account × category with ``account_id``, ``category``, ``rep_id``, the contact-state
columns (consent, do-not-contact, touches per channel in the last 30 days, quiet period) and the
declared feature columns. This is the input of the decision pipeline (CLI, service and pyfunc).

Large data sets are scored in blocks of accounts (:class:`AccountBlocks`): every feature of an
account reads only that account's rows and the shared tables, so a block's snapshot rows equal
the whole data set's, while the event indexes and the scoring of one block bound the memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from features.actions import contact_state
from features.builder import build_features
from features.dataset import TIME_COLUMNS, Dataset
from features.definitions import FeatureSpec
from features.windows import codes_in

#: Accounts whose snapshot is built and scored at once when a data set is split into blocks.
BLOCK_ACCOUNTS = 25_000


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


class AccountBlocks(Sequence[Dataset]):
    """``dataset`` in blocks of at most ``block_accounts`` consecutive accounts (the accounts
    table's order): each block holds its accounts and their orders, touches and web events (in
    the table's order); offers, reps and the policy are shared. A data set of at most
    ``block_accounts`` accounts is one block, itself. Rows of accounts that the accounts table
    does not list belong to no block (no feature reads them).

    Any block can be taken on its own (``blocks[i]``): which account owns each event row is found
    once, here, so processes forked afterwards share it."""

    def __init__(self, dataset: Dataset, block_accounts: int = BLOCK_ACCOUNTS) -> None:
        if block_accounts < 1:
            raise ValueError(f"block_accounts must be >= 1, got {block_accounts}")
        self.dataset = dataset
        self.block_accounts = block_accounts
        n_acc = len(dataset.accounts)
        self._count = max(1, -(-n_acc // block_accounts))
        self._owner: dict[str, np.ndarray] = {}
        if self._count > 1:
            accounts = pd.Index(dataset.accounts["account_id"])
            if not accounts.is_unique:
                raise ValueError("AccountBlocks: accounts.account_id must be unique")
            self._owner = {name: codes_in(getattr(dataset, name)["account_id"], accounts) for name in TIME_COLUMNS}

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: int) -> Dataset:  # type: ignore[override]
        if not isinstance(i, int | np.integer):
            raise TypeError(f"AccountBlocks: expected a block number, got {type(i).__name__}")
        if not -self._count <= i < self._count:
            raise IndexError(f"block {i} of {self._count}")
        if self._count == 1:
            return self.dataset
        start = (int(i) % self._count) * self.block_accounts
        stop = min(start + self.block_accounts, len(self.dataset.accounts))
        tables = {name: _rows_where(getattr(self.dataset, name), (code >= start) & (code < stop))
                  for name, code in self._owner.items()}
        return replace(self.dataset, accounts=self.dataset.accounts.iloc[start:stop].reset_index(drop=True), **tables)

    def __iter__(self) -> Iterator[Dataset]:
        return (self[i] for i in range(self._count))


def _rows_where(table: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    return table.loc[mask].reset_index(drop=True)
