"""Who owned an account when: the optional ownership history and lookups into it.

A data directory may hold an extra table ``account_owners`` (``account_owners.csv`` or
``account_owners.parquet``, read with the contract's conventions: ISO 8601 timestamps, ids as
text, an empty cell is empty):

| column | type | required | meaning |
|---|---|---|---|
| account_id | string | yes | must exist in accounts |
| rep_id | string | no | owning rep from ``valid_from`` on; empty = unassigned |
| region | string | yes | the account's sales region from ``valid_from`` on |
| valid_from | timestamp | yes | when this ownership takes effect (inclusive) |

An ownership record applies from its ``valid_from`` (inclusive) until the account's next
record. Before an account's first record, and for accounts without records, the current owner
from ``accounts`` (``rep_id``, ``region``) applies. Each (account_id, valid_from) pair may
appear only once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import Column, Table
from features.loading import _read_table
from features.validation import (
    CheckedTable,
    ContractError,
    Problem,
    _row_problem,
    check_table,
    is_in,
)
from features.windows import codes_in, to_us

ACCOUNT_OWNERS = Table("account_owners", required=False, columns=(
    Column("account_id", "string", required=True),
    Column("rep_id", "string"),
    Column("region", "string", required=True),
    Column("valid_from", "timestamp", required=True),
))
OWNER_COLUMNS = ACCOUNT_OWNERS.column_names


def load_account_owners(data_dir: str | Path, accounts: pd.DataFrame | None = None
                        ) -> pd.DataFrame | None:
    """The ownership history of the data directory at ``data_dir``; ``None`` when it has none.

    With ``accounts``, every ``account_id`` must also exist there. Raises ``ContractError``
    naming the table, column, rows and expectation when the file breaks these rules.
    Rows come back sorted by (account_id, valid_from) with a fresh index.
    """
    directory = Path(data_dir)
    problems: list[Problem] = []
    raw = _read_table(directory, ACCOUNT_OWNERS, problems)
    if problems:
        raise ContractError(problems)
    if raw is None:
        return None
    checked = check_table(raw, ACCOUNT_OWNERS, None)
    problems = list(checked.problems) + _history_problems(checked, accounts)
    if problems:
        raise ContractError(problems)
    frame = checked.frame[OWNER_COLUMNS]
    return frame.sort_values(["account_id", "valid_from"], kind="stable").reset_index(drop=True)


def _history_problems(checked: CheckedTable, accounts: pd.DataFrame | None) -> list[Problem]:
    """Duplicate (account_id, valid_from) pairs and accounts unknown to ``accounts``."""
    frame, name = checked.frame, ACCOUNT_OWNERS.name
    problems: list[Problem] = []
    if {"account_id", "valid_from"} <= set(checked.file_columns):
        pair = frame[["account_id", "valid_from"]]
        dup = pair.duplicated(keep=False).to_numpy() & pair.notna().all(axis=1).to_numpy()
        problems += _row_problem(name, "valid_from", dup, frame["valid_from"].astype("str"),
                                 "one ownership record per account_id and valid_from")
    if accounts is not None and "account_id" in checked.file_columns:
        ids = frame["account_id"]
        unknown = ids.notna().to_numpy() & ~is_in(ids, accounts["account_id"])
        problems += _row_problem(name, "account_id", unknown, ids,
                                 "an account_id that exists in accounts")
    return problems


def last_at_or_before(event_keys: np.ndarray, event_times_us: np.ndarray,
                      query_keys: np.ndarray, query_times_us: np.ndarray,
                      *, strict: bool = False) -> np.ndarray:
    """For each query, the position of the latest event with the same key at or before its time.

    ``strict=True`` looks only at events strictly before the query time. Among events of one key
    at the same time, the one that comes last in the given order wins. Keys are non-negative
    integer codes (negative = no key); the answer is -1 where no event qualifies. Vectorised:
    one sort of the events and one binary search per query.
    """
    event_keys = np.asarray(event_keys, dtype=np.int64)
    event_times_us = np.asarray(event_times_us, dtype=np.int64)
    query_keys = np.asarray(query_keys, dtype=np.int64)
    answer = np.full(len(query_keys), -1, dtype=np.int64)
    keep = np.flatnonzero(event_keys >= 0)
    if len(keep) == 0 or len(query_keys) == 0:
        return answer
    times = np.unique(event_times_us[keep])
    radix = np.int64(len(times) + 1)
    if (int(event_keys[keep].max()) + 1) * int(radix) >= 2**62:
        raise ValueError(f"too many keys × distinct times for int64 keys ({len(times)} times)")
    rank = np.searchsorted(times, event_times_us[keep], side="left")
    order = keep[np.lexsort((rank, event_keys[keep]))]
    composite = event_keys[order] * radix + np.searchsorted(times, event_times_us[order])
    query_rank = np.searchsorted(times, np.asarray(query_times_us, dtype=np.int64),
                                 side="left" if strict else "right")
    probe = np.where(query_keys < 0, -1, query_keys * radix + query_rank)
    found = np.searchsorted(composite, probe, side="left") - 1
    safe = np.clip(found, 0, len(order) - 1)
    valid = (found >= 0) & (query_keys >= 0) & (event_keys[order[safe]] == query_keys)
    answer[valid] = order[safe[valid]]
    return answer


def owners_at(accounts: pd.DataFrame, owners: pd.DataFrame | None, account_ids: pd.Series,
              times: pd.Series) -> pd.DataFrame:
    """The owning ``rep_id`` and ``region`` of each account at each time (positionally aligned).

    An ownership record applies from its ``valid_from`` on (inclusive); before an account's
    first record and without records, ``accounts`` gives the owner. Accounts unknown to both
    get empty cells. Returns columns ``rep_id`` and ``region`` on a fresh index.
    """
    current = accounts.drop_duplicates("account_id").set_index("account_id")
    vocabulary = pd.Index(current.index)
    position = codes_in(account_ids, vocabulary)
    rep = current["rep_id"].array.take(position, allow_fill=True)
    region = current["region"].array.take(position, allow_fill=True)
    rep_series = pd.Series(rep, dtype="str")
    region_series = pd.Series(region, dtype="str")
    if owners is not None and len(owners):
        owner_vocab = pd.Index(pd.unique(owners["account_id"]))
        record = last_at_or_before(codes_in(owners["account_id"], owner_vocab),
                                   to_us(owners["valid_from"]),
                                   codes_in(account_ids, owner_vocab), to_us(times))
        has = record >= 0
        if has.any():
            rep_series = rep_series.mask(has, pd.Series(
                owners["rep_id"].array.take(record, allow_fill=True), dtype="str"))
            region_series = region_series.mask(has, pd.Series(
                owners["region"].array.take(record, allow_fill=True), dtype="str"))
    return pd.DataFrame({"rep_id": rep_series, "region": region_series})

