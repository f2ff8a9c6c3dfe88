"""Bearer tokens and roles: who may see which accounts.

Tokens are ``secrets.token_urlsafe(32)``; only their SHA-256 is stored. Roles: ``rep`` (accounts
whose rep_id is theirs), ``manager`` (accounts of their region), ``marketing`` and ``admin`` (all).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Literal

from features.errors import InputError

Role = Literal["rep", "manager", "marketing", "admin"]
ROLES: tuple[str, ...] = ("rep", "manager", "marketing", "admin")


def new_token() -> str:
    """A fresh random bearer token (shown once, never stored)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and the slice of accounts they may see."""

    user_id: int
    name: str
    role: Role
    rep_id: str | None = None
    region: str | None = None

    def sees(self, account_rep_id: str | None, account_region: str | None) -> bool:
        """May this caller see an account owned by ``account_rep_id`` in ``account_region``?"""
        if self.role == "rep":
            return account_rep_id is not None and account_rep_id == self.rep_id
        if self.role == "manager":
            return account_region is not None and account_region == self.region
        return True


def check_scope(role: str, rep_id: str | None, region: str | None) -> None:
    """Raise ValueError unless the role has exactly the scope attribute it needs."""
    if role not in ROLES:
        raise InputError(f"role {role!r}: expected one of: {', '.join(ROLES)}")
    if role == "rep" and not rep_id:
        raise InputError("role rep needs --rep-id (the rep's id in the accounts table)")
    if role == "manager" and not region:
        raise InputError("role manager needs --region (the region whose accounts they manage)")
    if role != "rep" and rep_id:
        raise InputError(f"--rep-id is only for role rep, not {role}")
    if role != "manager" and region:
        raise InputError(f"--region is only for role manager, not {role}")


#: The last share of a cached token's time in which one request checks it again ahead of expiry.
REFRESH_AHEAD_SHARE = 0.25


class PrincipalCache:
    """Recently authenticated tokens (by hash) for ``ttl`` seconds, so a request needs no user
    lookup; a revoked token stops working at the latest ``ttl`` seconds later (0 = no caching).

    In the last ``REFRESH_AHEAD_SHARE`` of an entry's time, :meth:`due_for_refresh` hands one
    caller the job of checking the token again while the others keep the cached answer: a token
    in steady use is renewed before it expires instead of sending every request that arrives at
    the expiry to the database at once."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        # token hash -> (expires, refresh from, principal), times of time.monotonic()
        self._entries: dict[str, tuple[float, float, Principal]] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Principal | None:
        """The cached caller for ``token_hash`` while fresh, else None."""
        entry = self._entries.get(token_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[2]

    def due_for_refresh(self, token_hash: str) -> bool:
        """Whether the fresh entry of ``token_hash`` is in the last part of its time with no
        check of it under way; True hands that check to the caller, who ends it with
        :meth:`refreshed` or :meth:`refresh_failed`."""
        entry = self._entries.get(token_hash)
        if entry is None or not entry[1] <= time.monotonic() <= entry[0]:
            return False
        with self._lock:
            if token_hash in self._refreshing:
                return False
            self._refreshing.add(token_hash)
            return True

    def refreshed(self, token_hash: str, principal: Principal | None, checked_at: float) -> None:
        """The result of the check handed out by :meth:`due_for_refresh`, started at
        ``checked_at`` (``time.monotonic()``): the caller again for ``ttl`` seconds from then, or
        gone (None). Nothing changes when the entry was dropped meanwhile."""
        with self._lock:
            if token_hash not in self._refreshing:
                return
            self._refreshing.discard(token_hash)
            if principal is None:
                self._entries.pop(token_hash, None)
            else:
                self._entries[token_hash] = self._entry(checked_at, principal)

    def refresh_failed(self, token_hash: str) -> None:
        """The check handed out by :meth:`due_for_refresh` could not be made; the entry keeps its
        expiry (a later request may try again)."""
        with self._lock:
            self._refreshing.discard(token_hash)

    def drop(self, token_hash: str) -> None:
        """Forget ``token_hash`` at once (its sign-in ended)."""
        with self._lock:
            self._entries.pop(token_hash, None)
            self._refreshing.discard(token_hash)

    def put(self, token_hash: str, principal: Principal) -> None:
        """Remember an authenticated caller (oldest entries are dropped beyond ``max_entries``)."""
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[token_hash] = self._entry(time.monotonic(), principal)
            self._refreshing.discard(token_hash)

    def _entry(self, checked_at: float, principal: Principal) -> tuple[float, float, Principal]:
        """(expires, refresh from, principal) of a check made at ``checked_at``."""
        return checked_at + self.ttl, checked_at + self.ttl * (1 - REFRESH_AHEAD_SHARE), principal
