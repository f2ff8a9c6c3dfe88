"""Errors of the service's requests; ``serving.api.errors`` turns them into 4xx answers with a
``detail`` (the rep pages into their 404 page)."""

from __future__ import annotations

from features.errors import SymbioseError


class NotFoundError(SymbioseError, LookupError):
    """Unknown, or outside the caller's scope (the two are not told apart) -> 404."""


class ConflictError(SymbioseError, ValueError):
    """The request contradicts stored state (e.g. a reused idempotency key) -> 409."""


class InvalidField(SymbioseError, ValueError):
    """One field of a request cannot be accepted as given (with the others) -> 422 naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
