"""Sign-ins of the rep pages, kept on the server so that signing out ends them.

A sign-in gets a random session id (``secrets.token_urlsafe(32)``) that travels in the signed
session cookie; only its SHA-256 is stored, with the user and the time it expires. Each page
request checks that the id is still stored, unexpired and its user active: a copy of the cookie
stops working once the row is gone (sign-out, revocation of the user, expiry).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from serving.auth import Principal, hash_token
from serving.store.db import writing
from serving.store.tables import User, WebSignIn
from serving.store.users import active_principal, utcnow


def open_web_session(session: Session, user_id: int, max_age_seconds: int) -> str:
    """Store a new sign-in of ``user_id`` valid for ``max_age_seconds``; returns its session id
    (shown to the browser only). Expired sign-ins of every user are removed on the way."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with writing(session):
        session.execute(delete(WebSignIn).where(WebSignIn.expires_at <= now))
        session.add(WebSignIn(id_hash=hash_token(session_id), user_id=user_id, created_at=now,
                              expires_at=now + timedelta(seconds=max_age_seconds)))
        session.commit()
    return session_id


def web_session_principal(session: Session, session_id: str) -> Principal | None:
    """The active user of the stored, unexpired sign-in ``session_id``; None otherwise."""
    row = session.execute(select(WebSignIn.expires_at, User).join(User, User.id == WebSignIn.user_id)
                          .where(WebSignIn.id_hash == hash_token(session_id))).first()
    if row is None or row[0] <= utcnow():
        return None
    return active_principal(row[1])


def end_web_session(session: Session, session_id: str) -> None:
    """Forget the sign-in ``session_id`` (sign-out); nothing happens for an unknown id."""
    with writing(session):
        session.execute(delete(WebSignIn).where(WebSignIn.id_hash == hash_token(session_id)))
        session.commit()
