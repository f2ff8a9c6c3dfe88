"""Campaign rep actions for the reps' suggestion lists, read from the database at most every
``REFRESH_SECONDS`` (and at once after a campaign is planned through this service), so that listing
a rep's accounts does not query the database on every request.

Only contacted members whose action a rep executes appear; marketing-executed actions and holdout
members never do. A campaign's rep actions are listed for ``EXECUTION_WINDOW`` after it was planned
(one week: the reps' capacity the plan used is weekly).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from serving.store.campaigns import campaign_rep_actions_since
from serving.store.db import Database
from serving.store.users import utcnow

REFRESH_SECONDS = 30.0
EXECUTION_WINDOW = timedelta(days=7)


class CampaignRepActions:
    """A per-database cache: account_id -> the campaign rep actions on it."""

    def __init__(self, sessions: Database, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._sessions = sessions
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._loaded_at = -float("inf")
        self._by_account: dict[str, list[dict[str, Any]]] = {}

    def for_accounts(self, account_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The campaign rep actions of ``account_ids`` (only accounts that have some)."""
        if time.monotonic() - self._loaded_at > self._refresh:
            self.reload()
        by_account = self._by_account
        return {a: by_account[a] for a in account_ids if a in by_account}

    def reload(self) -> None:
        with self._lock, self._sessions() as session:
            self._by_account = campaign_rep_actions_since(session, utcnow() - EXECUTION_WINDOW)
            self._loaded_at = time.monotonic()


def rep_actions(database: Database) -> CampaignRepActions:
    """The cache of ``database`` (created on first use)."""
    return database.shared("campaign_rep_actions", lambda: CampaignRepActions(database))
