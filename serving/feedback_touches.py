"""The calls and visits reps reported done in the service, as touches for training
(``symbiose train --feedback-db URL``).

A ``done`` feedback on a rep-executed action with outcome ``reached`` or ``order_expected`` is a
touch of that account on that channel with that offer and discount at the time it was reported
(propensity unknown, ``rep_id`` the reporting user's rep). ``not_reached`` is a contact attempt,
not an exposure: the touches table has no place for it (docs/data-contract.md §1), so it is only
counted. A ``done`` without an outcome says nothing about whether anybody was reached and is left
out. Feedback undone later (``undone`` on the same suggestion) does not count. Training adds these
touches where the export has none of the same account and channel on that day
(``features.extra_touches``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from features.dataset import TOUCH_COLUMNS
from features.errors import InputError
from features.extra_touches import ReportedTouches
from serving.store.db import Database, make_engine
from serving.store.tables import Feedback, User

#: Outcomes of a carried-out rep action that mean the customer was reached (an exposure).
EXPOSURE_OUTCOMES = ("reached", "order_expected")
#: Feedback columns read, in this order (plus the reporting user's ``rep_id``).
COLUMNS = ("id", "suggestion_id", "account_id", "channel", "offer_id", "discount_pct", "status",
           "executed_by", "outcome", "created_at", "rep_id")


def feedback_touches(rows: Iterable[tuple]) -> ReportedTouches:
    """The touches and not-reached attempts of feedback ``rows`` (tuples of :data:`COLUMNS`)."""
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    if frame.empty:
        return ReportedTouches(pd.DataFrame(columns=TOUCH_COLUMNS))
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    undone = frame.loc[frame["status"] == "undone"].groupby("suggestion_id")["created_at"].max()
    undone_at = undone.reindex(frame["suggestion_id"].to_numpy()).to_numpy(dtype="datetime64[ns]")
    cancelled = frame["created_at"].to_numpy(dtype="datetime64[ns]") <= undone_at  # NaT (never undone): False
    done = frame.loc[~cancelled & (frame["status"] == "done").to_numpy(dtype=bool)
                     & (frame["executed_by"] == "rep").to_numpy(dtype=bool)]
    attempts = int((done["outcome"] == "not_reached").sum())
    exposed = done.loc[done["outcome"].isin(EXPOSURE_OUTCOMES)].sort_values("id")
    touches = pd.DataFrame({
        "touch_id": "feedback-" + exposed["id"].astype(str),
        "account_id": exposed["account_id"].astype(object),
        "touched_at": pd.to_datetime(exposed["created_at"]),
        "channel": exposed["channel"].astype(object),
        "offer_id": exposed["offer_id"].astype(object),
        "discount_pct": exposed["discount_pct"].astype(np.float64),
        "rep_id": exposed["rep_id"].astype(object),
        "campaign_id": None,
        "propensity": np.nan,
    }).reindex(columns=TOUCH_COLUMNS).reset_index(drop=True)
    return ReportedTouches(touches, attempts=attempts)


def read_feedback_touches(url: str, before: datetime | None = None) -> ReportedTouches:
    """The reported touches of the service database at ``url`` (feedback created before
    ``before`` when given); the database is only read (no migration, nothing written)."""
    parsed = make_url(url) if "://" in url else None
    if parsed is None:
        raise InputError(f"--feedback-db {url!r}: expected a database URL such as "
                         "sqlite:////var/lib/symbiose/symbiose.db or postgresql://user@host/db")
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
        raise InputError(f"--feedback-db: no database file at {parsed.database!r}; expected the file "
                         "of the service's SYMBIOSE_DATABASE_URL")
    query = (select(*(getattr(Feedback, c) for c in COLUMNS[:-1]), User.rep_id)
             .join(User, User.id == Feedback.user_id, isouter=True).order_by(Feedback.id))
    if before is not None:
        query = query.where(Feedback.created_at < before)
    database = Database(make_engine(url))
    try:
        with database() as session:
            rows = [tuple(r) for r in session.execute(query)]
    except SQLAlchemyError as exc:
        raise InputError(f"--feedback-db {parsed.render_as_string(hide_password=True)!r}: cannot read "
                         f"its feedback ({type(exc).__name__}); expected the database of `symbiose serve`") from None
    finally:
        database.close()
    return feedback_touches(rows)
