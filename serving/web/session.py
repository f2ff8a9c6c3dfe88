"""Signed session cookies for the rep pages, and the CSRF tokens that go with them.

A session cookie holds a random session id, the issue time and a random CSRF token, signed
with ``SYMBIOSE_SESSION_SECRET`` (itsdangerous, HMAC-SHA1 over the payload with a derived key).
It is ``HttpOnly`` and ``SameSite=Lax``; it expires after ``session_max_age`` seconds. The
session id must also be stored on the server (``serving.store.web_sessions``): signing out or
revoking the user deletes it, and the cookie, or any copy of it, no longer works (in other
service processes within the principal cache's few seconds). Without a configured secret a
random one is made per process. The sign-in form has its own CSRF token in a short-lived signed
cookie.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from serving.settings import Settings

SESSION_COOKIE = "symbiose_session"
LOGIN_COOKIE = "symbiose_login"
LOGIN_MAX_AGE = 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_PROCESS_SECRET = secrets.token_urlsafe(32)


@dataclass(frozen=True)
class WebSession:
    """What a signed session cookie says: which stored sign-in, since when, and its CSRF token."""

    session_id: str
    issued_at: float
    csrf: str


class SessionCodec:
    """Signs and checks session and sign-in cookies with one secret."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.session_secret or _PROCESS_SECRET
        self.max_age = settings.session_max_age
        self.secure = settings.session_cookie_secure
        self._session = URLSafeTimedSerializer(secret, salt="symbiose.session")
        self._login = URLSafeTimedSerializer(secret, salt="symbiose.login")

    def new_session(self, session_id: str) -> WebSession:
        """The cookie contents of the stored sign-in ``session_id``, with a fresh CSRF token."""
        return WebSession(session_id=session_id, issued_at=time.time(), csrf=secrets.token_urlsafe(24))

    def read(self, request: Request) -> WebSession | None:
        """The valid session of ``request``, or None (no cookie, bad signature, too old)."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or len(raw) > 1000:
            return None
        try:
            data = self._session.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        sid, issued, csrf = data.get("s"), data.get("t"), data.get("c")
        if not isinstance(sid, str) or not isinstance(issued, (int, float)) or not isinstance(csrf, str):
            return None
        return WebSession(session_id=sid, issued_at=float(issued), csrf=csrf)

    def write(self, response: Response, session: WebSession) -> None:
        value = self._session.dumps({"s": session.session_id, "t": session.issued_at, "c": session.csrf})
        response.set_cookie(SESSION_COOKIE, value, max_age=self.max_age, path="/ui", httponly=True,
                            samesite="lax", secure=self.secure)

    def clear(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="lax", secure=self.secure)

    def login_token(self, request: Request) -> tuple[str, str]:
        """(CSRF token of the sign-in form, signed cookie value holding it); reuses a valid one."""
        raw = request.cookies.get(LOGIN_COOKIE)
        if raw:
            try:
                token = self._login.loads(raw, max_age=LOGIN_MAX_AGE)
                if isinstance(token, str):
                    return token, raw
            except BadSignature:
                pass
        token = secrets.token_urlsafe(24)
        return token, self._login.dumps(token)

    def write_login(self, response: Response, cookie_value: str) -> None:
        response.set_cookie(LOGIN_COOKIE, cookie_value, max_age=LOGIN_MAX_AGE, path="/ui", httponly=True,
                            samesite="lax", secure=self.secure)

    def check_login(self, request: Request, submitted: str | None) -> bool:
        """Does the sign-in form's CSRF field match its signed cookie?"""
        raw = request.cookies.get(LOGIN_COOKIE)
        if not raw or not submitted:
            return False
        try:
            token = self._login.loads(raw, max_age=LOGIN_MAX_AGE)
        except BadSignature:
            return False
        return isinstance(token, str) and hmac.compare_digest(token, submitted)


def csrf_matches(session: WebSession, submitted: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")
