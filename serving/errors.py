"""Errors of the service's requests; ``serving.api.errors`` turns them into 4xx answers with a
``detail`` (the rep pages into their 404 page)."""

from __future__ import annotations

from features.errors import SymbioseError


class NotFoundError(SymbioseError, LookupError):
    """Unknown, or outside the caller's scope (the two are not told apart) -> 404."""


class ConflictError(SymbioseError, ValueError):
    """The request contradicts stored state (e.g. a reused idempotency key) -> 409."""
