"""Decision log: every suggestion shown, with propensity, model version, as-of and request time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from models.suggestion import Suggestion
from serving.store.db import writing
from serving.store.tables import Decision

DECISION_FIELDS = ("suggestion_id", "account_id", "rank", "channel", "offer_id", "discount_pct",
                   "executed_by", "p_convert", "p_convert_baseline", "expected_incremental_margin",
                   "propensity", "model_version", "as_of", "requested_at", "user_id")

#: The decision log's table, for Core inserts.
DECISIONS: Table = Decision.__table__  # type: ignore[assignment]


def decision_rows(suggestions: Sequence[Suggestion], *, model_version: str, as_of: pd.Timestamp,
                  requested_at: datetime, user_id: int | None) -> list[dict[str, Any]]:
    """Decision-log rows (``store.decisions.DECISION_FIELDS``) of shown ``suggestions``."""
    ts = pd.Timestamp(as_of).to_pydatetime()
    return [{"suggestion_id": s.suggestion_id, "account_id": s.account_id, "rank": s.rank,
             "channel": s.channel, "offer_id": s.offer_id, "discount_pct": s.discount_pct,
             "executed_by": s.executed_by, "p_convert": s.p_convert, "p_convert_baseline": s.p_convert_baseline,
             "expected_incremental_margin": s.expected_incremental_margin, "propensity": s.propensity,
             "model_version": model_version, "as_of": ts, "requested_at": requested_at, "user_id": user_id}
            for s in suggestions]


def log_decisions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the shown suggestions ``rows`` (keys: ``DECISION_FIELDS``) and commit.

    The log favours speed over power-loss durability: on PostgreSQL the commit does not wait for
    the WAL flush (``synchronous_commit off``: a server crash may lose the last fraction of a
    second of log, never corrupt it); feedback commits always wait.
    """
    if not rows:
        return
    with writing(session):
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        # Core insert of plain rows: several times cheaper per row than the ORM's bulk path.
        session.connection().execute(insert(DECISIONS), list(rows))
        session.commit()


def find_shown(session: Session, suggestion_id: str) -> Decision | None:
    """The first logged showing of ``suggestion_id`` (None when it was never shown)."""
    return session.scalar(select(Decision).where(Decision.suggestion_id == suggestion_id)
                          .order_by(Decision.id).limit(1))


def count_decisions(session: Session, account_id: str | None = None) -> int:
    """How many suggestions were logged (for one account when given)."""
    from sqlalchemy import func

    query = select(func.count()).select_from(Decision)
    if account_id is not None:
        query = query.where(Decision.account_id == account_id)
    return int(session.scalar(query) or 0)
