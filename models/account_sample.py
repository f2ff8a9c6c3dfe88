"""A stratified, seeded sample of accounts to train on when a data set is larger than training needs.

Training cost grows with the number of accounts (every account adds logged decisions and untreated
history windows), while the model's quality stops improving long before 100,000 accounts. With
``TrainingConfig.sample_accounts = N`` (``symbiose train --sample-accounts N``) training keeps ``N``
accounts and all of their orders, touches and web events; offers, reps and the policy stay whole.

The sample is stratified so that it has the data set's mix: strata are the combinations of the
accounts' ``region`` and ``segment`` (when the data has those columns; an empty cell is a level of
its own), whether the account ordered and whether it was touched (a touch other than a `none`
holdout) before the as-of time. Each stratum gets its proportional share of ``N`` (largest
remainders; every stratum rounds to at least its share's floor), and within a stratum the accounts
with the smallest seeded random keys are kept, so the sample depends only on the data and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.dataset import Dataset, restrict_accounts
from features.policy import NONE_CHANNEL

#: Account columns whose levels stratify the sample (those the data has).
STRATA_COLUMNS = ("region", "segment")


@dataclass(frozen=True)
class AccountSample:
    """Which accounts training kept: ``sampled`` of ``total``, over ``strata`` strata."""

    total: int
    sampled: int
    strata: int
    columns: tuple[str, ...]
    seed: int

    @property
    def is_sample(self) -> bool:
        return self.sampled < self.total

    def describe(self) -> str:
        """One line for the command's output."""
        if not self.is_sample:
            return f"trained on all {self.total:,} accounts"
        by = ", ".join([*self.columns, "ordered", "touched"])
        return (f"trained on a stratified sample of {self.sampled:,} of {self.total:,} accounts "
                f"({self.strata} strata by {by}; seed {self.seed})")

    def as_params(self) -> dict[str, int]:
        """MLflow parameters: the accounts trained on and the accounts in the data."""
        return {"accounts_sampled": self.sampled, "accounts_total": self.total}


def account_strata(data: Dataset) -> tuple[np.ndarray, tuple[str, ...]]:
    """Stratum code of each account (in ``data.accounts`` order) and the account columns used."""
    accounts = data.accounts
    columns = tuple(c for c in STRATA_COLUMNS if c in accounts.columns)
    ids = pd.Index(accounts["account_id"])
    ordered = ids.isin(pd.unique(data.orders["account_id"].dropna()))
    touches = data.touches
    contacts = touches.loc[(touches["channel"] != NONE_CHANNEL).to_numpy(dtype=bool, na_value=True), "account_id"]
    touched = ids.isin(pd.unique(contacts.dropna()))
    keys = [accounts[c].astype("str").fillna("") for c in columns]
    frame = pd.DataFrame({f"k{i}": k.to_numpy() for i, k in enumerate(keys)} | {"ordered": ordered, "touched": touched})
    codes = frame.groupby(list(frame.columns), sort=True, dropna=False).ngroup().to_numpy()
    return codes, columns


def proportional_allocation(sizes: np.ndarray, n: int) -> np.ndarray:
    """``n`` split over strata of ``sizes`` in proportion (largest remainders; never above a size)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    total = int(sizes.sum())
    if n >= total:
        return sizes.copy()
    exact = sizes * (n / total)
    alloc = np.floor(exact).astype(np.int64)
    left = n - int(alloc.sum())
    order = np.lexsort((np.arange(len(sizes)), -(exact - alloc)))  # largest remainder first, then stratum order
    alloc[order[:left]] += 1
    return np.minimum(alloc, sizes)


def sample_accounts(data: Dataset, n: int | None, seed: int = 0) -> tuple[Dataset, AccountSample]:
    """``data`` restricted to a stratified sample of ``n`` accounts (all of them when ``n`` is None or
    at least the number of accounts), and what was kept."""
    total = len(data.accounts)
    if n is not None and n < 1:
        raise ValueError(f"sample_accounts must be a positive number of accounts or None; got {n}")
    if n is None or n >= total:
        return data, AccountSample(total, total, 1, (), seed)
    strata, columns = account_strata(data)
    sizes = np.bincount(strata)
    quota = proportional_allocation(sizes, n)
    key = np.random.default_rng(seed).random(total)
    order = np.lexsort((key, strata))                      # by stratum, then by random key
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(total, dtype=np.int64)
    rank[order] = np.arange(total) - np.repeat(starts, sizes)
    keep = rank < quota[strata]
    sample = AccountSample(total, int(keep.sum()), len(sizes), columns, seed)
    return restrict_accounts(data, data.accounts["account_id"][keep]), sample
