"""User repository: add (returns the token once), find by token, list, revoke."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from features.errors import InputError
from serving.auth import Principal, check_scope, hash_token, new_token
from serving.errors import NotFoundError
from serving.store.tables import User, WebSignIn


def utcnow() -> datetime:
    """Naive UTC now (the database stores naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def add_user(session: Session, *, name: str, role: str, rep_id: str | None = None,
             region: str | None = None) -> tuple[User, str]:
    """Create a user; returns (user, token). The token is not stored, only its hash."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError(f"--name {name!r}: expected 1 to 100 characters")
    check_scope(role, rep_id, region)
    active = session.scalar(select(User).where(User.name == name, User.revoked_at.is_(None)))
    if active is not None:
        raise InputError(f"--name {name!r}: an active user with this name exists (id {active.id}); "
                         "revoke it first or choose another name")
    token = new_token()
    user = User(name=name, role=role, rep_id=rep_id, region=region, token_hash=hash_token(token),
                created_at=utcnow())
    session.add(user)
    session.commit()
    return user, token


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The active user holding ``token``, or None for unknown and revoked tokens."""
    return active_principal(session.scalar(select(User).where(User.token_hash == hash_token(token))))


def principal_for_user(session: Session, user_id: int) -> Principal | None:
    """The active user with id ``user_id``, or None for unknown and revoked users."""
    return active_principal(session.get(User, user_id))


def active_principal(user: User | None) -> Principal | None:
    """The caller ``user`` is, unless there is none or it was revoked."""
    if user is None or user.revoked_at is not None:
        return None
    return Principal(user_id=user.id, name=user.name, role=user.role,  # type: ignore[arg-type]
                     rep_id=user.rep_id, region=user.region)


def list_users(session: Session) -> list[User]:
    """All users, oldest first (revoked ones included, marked by ``revoked_at``)."""
    return list(session.scalars(select(User).order_by(User.id)))


def revoke_user(session: Session, name: str | None = None, *, user_id: int | None = None) -> list[User]:
    """Revoke the active users named ``name``, or the active user with id ``user_id`` (give
    exactly one: a name is never taken for an id) and end their sign-ins of the rep pages;
    returns them."""
    if (name is None) == (user_id is None):
        raise InputError("revoke a user by name or by id (exactly one)")
    query = select(User).where(User.revoked_at.is_(None))
    query = query.where(User.name == name) if name is not None else query.where(User.id == user_id)
    users = list(session.scalars(query))
    if not users:
        which = f"name {name!r}" if name is not None else f"id {user_id}"
        raise NotFoundError(f"no active user with {which}; see `symbiose users list`")
    now = utcnow()
    for user in users:
        user.revoked_at = now
    session.execute(delete(WebSignIn).where(WebSignIn.user_id.in_([user.id for user in users])))
    session.commit()
    return users
