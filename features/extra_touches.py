"""Touches reported elsewhere than the CRM export (e.g. the calls and visits reps report done in
the service) added to a data set's touches table, the export winning over duplicates.

The caller converts its reports into a frame of the touches table's columns
(docs/data-contract.md §1); this module only checks and merges it, so that training can take
such touches without knowing where they come from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.dataset import TOUCH_COLUMNS, Dataset
from features.policy import NONE_CHANNEL


@dataclass(frozen=True)
class ReportedTouches:
    """Touches reported outside the export (``touches``: a frame of the touches table's columns)
    and how many contact attempts were reported that are no exposure (e.g. a call where nobody
    was reached): counted for the record, never a touch."""

    touches: pd.DataFrame
    attempts: int = 0


@dataclass(frozen=True)
class MergedTouches:
    """What :func:`add_touches` did: the data set with the added touches and the counts."""

    dataset: Dataset
    given: int
    added: int
    duplicates: int
    unknown: int
    later: int = 0

    def counts(self, prefix: str) -> dict[str, int]:
        """The counts as named numbers (``<prefix>_given`` ...), e.g. for MLflow metrics."""
        return {f"{prefix}_given": self.given, f"{prefix}_added": self.added,
                f"{prefix}_duplicates": self.duplicates, f"{prefix}_unknown": self.unknown,
                f"{prefix}_later": self.later}


def add_touches(dataset: Dataset, extra: pd.DataFrame, before: pd.Timestamp | None = None) -> MergedTouches:
    """``dataset`` with the touches of ``extra`` (columns of the touches table; ``touch_id``,
    ``account_id``, ``touched_at`` and ``channel`` required) that the export does not hold yet.

    A touch of ``extra`` is left out when the touches table already has a touch of the same
    account on the same channel on the same day (the export wins), when an earlier row of
    ``extra`` has (first come, first kept), when it names an account, a channel (``none``
    included) or an offer the data set does not know (counted as ``unknown``), or when it is at
    or after ``before`` (counted as ``later``: e.g. after the as-of time training uses).
    """
    missing = [c for c in ("touch_id", "account_id", "touched_at", "channel") if c not in extra]
    if missing:
        raise ValueError(f"extra touches lack columns {missing}; expected the touches table's columns "
                         f"{TOUCH_COLUMNS}")
    frame = extra.reindex(columns=TOUCH_COLUMNS).reset_index(drop=True)
    frame["touched_at"] = pd.to_datetime(frame["touched_at"])
    for column in ("discount_pct", "propensity"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["discount_pct"] = frame["discount_pct"].fillna(0.0)
    known = (frame["account_id"].isin(dataset.accounts["account_id"])
             & frame["channel"].isin(dataset.policy.channel_names) & (frame["channel"] != NONE_CHANNEL)
             & (frame["offer_id"].isna() | frame["offer_id"].isin(dataset.offers["offer_id"])))
    given, unknown = len(frame), int((~known).sum())
    frame = frame.loc[known.to_numpy(dtype=bool)]
    later = 0
    if before is not None:
        due = (frame["touched_at"] < pd.Timestamp(before)).to_numpy(dtype=bool)
        later = int((~due).sum())
        frame = frame.loc[due]
    existing = dataset.touches
    taken = set(zip(existing["account_id"].astype(str), existing["channel"].astype(str),
                    existing["touched_at"].dt.normalize(), strict=True))
    keys = list(zip(frame["account_id"].astype(str), frame["channel"].astype(str),
                    frame["touched_at"].dt.normalize(), strict=True))
    fresh = np.array([key not in taken for key in keys], dtype=bool)
    first = ~pd.Series(keys, dtype=object).duplicated().to_numpy(dtype=bool) if keys else fresh
    frame = frame.loc[fresh & first]
    clash = frame["touch_id"].astype(str).isin(existing["touch_id"].astype(str))
    if clash.any():
        raise ValueError(f"extra touches reuse touch_id(s) of the touches table: "
                         f"{frame.loc[clash, 'touch_id'].head(5).tolist()}; expected ids of their own")
    added = len(frame)
    if added:
        frame = frame.astype({c: existing[c].dtype for c in TOUCH_COLUMNS if c in existing}, errors="ignore")
        dataset = replace(dataset, touches=pd.concat([existing, frame], ignore_index=True))
    return MergedTouches(dataset, given=given, added=added, duplicates=given - unknown - later - added,
                         unknown=unknown, later=later)
