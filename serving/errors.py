"""Errors the request handlers raise; the app turns them into 4xx answers with a ``detail``."""

from __future__ import annotations


class NotFoundError(LookupError):
    """Unknown, or outside the caller's scope (the two are not told apart) -> 404."""


class ConflictError(ValueError):
    """The request contradicts stored state (e.g. a reused idempotency key) -> 409."""
