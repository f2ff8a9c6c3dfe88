"""One suggestion as a value: a ranked action for one account, as the recommendations file holds
it (contract, docs/data-contract.md §3) plus what the service shows, logs and lets reps answer.

The pipeline scores in columns (``DecisionPipeline.recommend`` returns a frame whose columns are
:data:`SUGGESTION_COLUMNS` and more); wherever single suggestions travel — the service's answers,
the decision log, the rep pages — they are :class:`Suggestion` objects, never dicts of fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

import pandas as pd

from features.policy import NONE_CHANNEL

_SEP = "\x1f"


def suggestion_id(model_version: str, as_of: pd.Timestamp, account_id: str, channel: str,
                  offer_id: str | None, discount_pct: float) -> str:
    """Stable id of one suggestion: a SHA-256 over model version, as-of, account and action."""
    text = _SEP.join([model_version, pd.Timestamp(as_of).isoformat(), account_id, channel, offer_id or "",
                      f"{float(discount_pct):g}"])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def suggestion_ids(model_version: str, as_of: pd.Timestamp, account_ids: Iterable[str], channels: Iterable[str],
                   offer_ids: Iterable[str | None], discount_pcts: Iterable[float]) -> list[str]:
    """:func:`suggestion_id` of many suggestions of one model version and as-of (the shared part
    of the text is formatted once)."""
    prefix = _SEP.join([model_version, pd.Timestamp(as_of).isoformat(), ""])
    sha256 = hashlib.sha256
    return [sha256(f"{prefix}{a}{_SEP}{c}{_SEP}{o or ''}{_SEP}{float(d):g}".encode()).hexdigest()[:32]
            for a, c, o, d in zip(account_ids, channels, offer_ids, discount_pcts, strict=True)]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A ranked action (channel, offer, discount, or ``none``) for one account."""

    suggestion_id: str
    account_id: str
    rank: int
    channel: str
    offer_id: str | None
    discount_pct: float
    p_convert: float
    p_convert_baseline: float
    expected_incremental_margin: float
    executed_by: str | None
    reasons: tuple[str, ...] = ()
    offer_name: str | None = None
    category: str | None = None
    #: Probability with which the account's decision (its first suggestion) was taken.
    propensity: float = 1.0
    #: Drawn at random by exploration (or a ``none`` holdout).
    explored: bool = False

    @property
    def is_none(self) -> bool:
        """Whether this is the ``none`` action (no outreach)."""
        return self.channel == NONE_CHANNEL

    def with_reasons(self, reasons: Iterable[str]) -> Suggestion:
        """The same suggestion with other reason sentences (e.g. in another language)."""
        return replace(self, reasons=tuple(reasons))


#: Field names of :class:`Suggestion`, in order.
SUGGESTION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Suggestion))


def split_reasons(text: object) -> tuple[str, ...]:
    """The pipeline's ``; ``-joined reasons as a tuple (empty parts dropped)."""
    if not isinstance(text, str):
        return ()
    return tuple(part.strip() for part in text.split("; ") if part.strip())
