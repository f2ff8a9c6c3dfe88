"""The "my accounts" list: the caller's visible accounts with their next best action, filtered,
searched and sorted by expected incremental margin (same picking and logging as the API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.policy import NONE_CHANNEL
from models.suggestion import Suggestion
from serving.access import Access
from serving.runtime import Runtime
from serving.snapshot import Snapshot
from serving.store.decisions import decision_rows
from serving.store.users import utcnow
from serving.suggestions import Shown

PAGE_SIZE = 50
MAX_QUERY = 100


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to (empty = no narrowing)."""

    rep_id: str = ""
    region: str = ""
    channel: str = ""
    query: str = ""
    offset: int = 0


@dataclass
class Listing:
    """One page of accounts plus what the filter menus offer."""

    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    regions: list[str] = field(default_factory=list)
    reps: list[tuple[str, str]] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    log_rows: list[dict[str, Any]] = field(default_factory=list)


def visible_reps(snap: Snapshot, access: Access,
                 positions: np.ndarray | None = None) -> list[tuple[str, str]]:
    """(rep_id, name) of the reps owning accounts the caller may see (at ``positions`` when they
    are already known), by id."""
    directory = snap.directory
    if positions is None:
        positions = access.visible_positions(directory)
    return [(r, directory.rep_names.get(r, r)) for r in _distinct(directory.rep_id[positions])]


def _distinct(values: np.ndarray) -> list[str]:
    """The distinct values of an object array as sorted text, without missing ones."""
    return sorted({str(v) for v in pd.unique(values) if v is not None and v == v})


def account_names(snap: Snapshot, positions: np.ndarray) -> np.ndarray:
    """The ``name`` attribute (an extra accounts column) of the accounts at ``positions``; "" when
    the data has none."""
    names = snap.directory.attribute("name", positions)
    return names if names is not None else np.full(len(positions), "", dtype=object)


def account_listing(runtime: Runtime, access: Access, filters: Filters,
                    limit: int = PAGE_SIZE) -> Listing:
    """The visible accounts matching ``filters``, best rank-1 value first, one page of ``limit``."""
    snap = runtime.snapshot
    directory, service = snap.directory, snap.suggestions
    positions = access.visible_positions(directory)
    regions = _distinct(directory.region[positions])
    reps = visible_reps(snap, access, positions)
    if filters.rep_id:
        positions = positions[directory.rep_id[positions] == filters.rep_id]
    if filters.region:
        positions = positions[directory.region[positions] == filters.region]
    if filters.query:
        positions = positions[_matches(snap, positions, filters.query[:MAX_QUERY])]
    ids = service.account_ids[positions].tolist()
    shown = service.pick(positions, 1, runtime.feedback.effects(ids, utcnow()))
    # One suggestion per account, in the order of ``positions``.
    assert len(shown.rows) == len(positions), "pick(k=1) gives one suggestion per account"
    channel = np.where(shown.rows >= 0, service.cols["channel"][np.maximum(shown.rows, 0)], NONE_CHANNEL)
    channels = _distinct(channel)
    if filters.channel:
        keep = channel == filters.channel
        positions = positions[keep]
        shown = Shown(shown.rows[keep], shown.accounts[keep], shown.ranks[keep])
    best = service.best_value(shown, positions)
    order = np.lexsort((service.account_ids[positions].astype(str), -best))
    offset = max(0, min(filters.offset, max(len(positions) - 1, 0)))
    page = positions[order][offset:offset + limit]
    in_page = np.isin(shown.accounts, page)
    records = service.records(Shown(shown.rows[in_page], shown.accounts[in_page], shown.ranks[in_page]))
    by_account: dict[str, Suggestion] = {r.account_id: r for r in records}
    names = account_names(snap, page)
    rows = []
    for p, name in zip(page.tolist(), names.tolist(), strict=True):
        account = str(service.account_ids[p])
        rep = directory.rep_id[p]
        rows.append({"account_id": account, "name": name,
                     "region": directory.region[p], "rep_id": rep,
                     "rep_name": directory.rep_names.get(rep, rep) if rep else None,
                     "suggestion": by_account.get(account)})
    log = decision_rows(records, model_version=service.model_version, as_of=snap.as_of,
                        requested_at=utcnow(), user_id=access.principal.user_id)
    return Listing(rows=rows, total=int(len(positions)), offset=offset, limit=limit, regions=regions,
                   reps=reps, channels=channels, log_rows=log)


def _matches(snap: Snapshot, positions: np.ndarray, query: str) -> np.ndarray:
    """Case-insensitive substring match of ``query`` in account id or name."""
    needle = query.strip().lower()
    if not needle:
        return np.ones(len(positions), dtype=bool)
    ids = pd.Series(snap.suggestions.account_ids[positions].astype(str))
    hit = ids.str.lower().str.contains(needle, regex=False).to_numpy(dtype=bool, copy=True)
    named = pd.Series(account_names(snap, positions)).str.lower().str.contains(needle, regex=False)
    return hit | named.to_numpy(dtype=bool)
