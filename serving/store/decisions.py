"""Decision log: every suggestion shown, with propensity, model version, as-of and request time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Dialect, Table, insert, select, text
from sqlalchemy.orm import Session

from serving.store.db import writing
from serving.store.tables import Decision

if TYPE_CHECKING:  # the decision log's writer process imports this module without pandas
    import pandas as pd

    from models.suggestion import Suggestion

DECISION_FIELDS = ("suggestion_id", "account_id", "rank", "channel", "offer_id", "discount_pct",
                   "executed_by", "p_convert", "p_convert_baseline", "expected_incremental_margin",
                   "propensity", "model_version", "as_of", "requested_at", "user_id")

#: The decision log's table, for Core inserts.
DECISIONS: Table = Decision.__table__  # type: ignore[assignment]


def decision_rows(suggestions: Sequence[Suggestion], *, model_version: str, as_of: pd.Timestamp,
                  requested_at: datetime, user_id: int | None) -> list[dict[str, Any]]:
    """Decision-log rows (``store.decisions.DECISION_FIELDS``) of shown ``suggestions``."""
    import pandas as pd

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
        connection = session.connection()
        plan = _positional_insert(connection.dialect)
        if plan is None:
            # Core insert of plain rows: several times cheaper per row than the ORM's bulk path.
            connection.execute(insert(DECISIONS), list(rows))
        else:
            statement, converters = plan
            connection.exec_driver_sql(statement, _positional_rows(rows, converters))
        session.commit()


@cache
def _positional_insert(dialect: Dialect) -> tuple[str, tuple[tuple[str, Callable[[Any], Any] | None], ...]] | None:
    """The decision insert as driver SQL with ``?`` placeholders in :data:`DECISION_FIELDS` order
    and each column's own bind conversion (how Core would store the value), for drivers taking
    positional parameters (SQLite); None for others (Core builds their parameters).

    Core's executemany builds each row's parameters through several generic layers, which cost
    twice the insert itself; the service writes three rows per answered request."""
    if dialect.paramstyle != "qmark":
        return None
    converters = tuple((name, DECISIONS.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                       for name in DECISION_FIELDS)
    statement = (f"INSERT INTO {DECISIONS.name} ({', '.join(DECISION_FIELDS)}) "
                 f"VALUES ({', '.join('?' for _ in DECISION_FIELDS)})")
    return statement, converters


def _positional_rows(rows: Sequence[dict[str, Any]],
                     converters: tuple[tuple[str, Callable[[Any], Any] | None], ...]) -> list[tuple[Any, ...]]:
    """``rows`` as tuples of converted values; a value repeated across rows (the as-of and request
    times of one answer) is converted once (equal times in other time zones are not the same value)."""
    converted: dict[tuple[int, Any, Any], Any] = {}
    out = []
    for row in rows:
        values = []
        for i, (name, convert) in enumerate(converters):
            value = row[name]
            if convert is not None and value is not None:
                key = (i, value, getattr(value, "tzinfo", None))
                found = converted.get(key)
                if found is None:
                    found = converted[key] = convert(value)
                value = found
            values.append(value)
        out.append(tuple(values))
    return out


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
