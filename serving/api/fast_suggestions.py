"""The common case of ``GET /v1/accounts/{account_id}/suggestions`` answered without the
framework's per-request machinery (routing, dependency solving, exception middleware).

The account endpoint is the one clients call at high rates; for a cached token and a visible
account, the framework's machinery costs several times the work of the answer itself. This
plain ASGI middleware sits just inside the access log (which logs, times and numbers its answers
like any other) and outside the other middleware, whose work it does itself for its answers:
the security headers (``serving.web.headers``), gzip for clients that accept it (Starlette's own
middleware, run on the finished answer) and, for the others, the ``Vary: Accept-Encoding`` that
middleware adds to answers it could have compressed. It answers exactly what the route would —
the same view, decision-log write, JSON body and headers (``serving.api.routers.accounts``).
Everything else goes on down the stack unchanged: another path or method, an unusual query, a
request with a body or with headers beyond the request limits (``serving.api.limits`` answers
it), a token not checked in the last ``auth_cache_seconds`` (one in use is checked again shortly
before, beside the requests: ``serving.api.deps.refresh_ahead``), an account the caller may not see, a
decision log that could not be written (the route then tries again and answers with its own
errors).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.access import Access
from serving.api import views
from serving.api.access_log import set_role
from serving.api.deps import MAX_TOKEN_LENGTH, refresh_ahead
from serving.api.routers import ID_PATTERN, MAX_K, accounts
from serving.api.suggestion_json import account_suggestions_json
from serving.auth import hash_token
from serving.decision_log import DecisionLogUnavailable
from serving.errors import NotFoundError
from serving.runtime import Runtime
from serving.web.headers import SecurityHeaders, security_headers

PREFIX, SUFFIX = "/v1/accounts/", "/suggestions"
_ACCOUNT_ID = re.compile(ID_PATTERN)
_LANGS = (None, "en", "de")
_DEFAULT_K = 3


class AccountSuggestionsFastPath:
    """Answers the account-suggestions route's common case itself (see the module text); the
    limits and gzip settings are those of the middleware it stands in for."""

    def __init__(self, app: ASGIApp, *, max_header_bytes: int, gzip_min_bytes: int, gzip_level: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.gzip_min_bytes = gzip_min_bytes
        self.gzip_level = gzip_level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = _parse(scope) if scope["type"] == "http" else None
        plain = request is not None and _within_limits(scope["headers"], self.max_header_bytes)
        body = await self._answer(scope, *request) if plain and request is not None else None
        if body is None:
            await self.app(scope, receive, send)
            return
        if _accepts_gzip(scope["headers"]):
            await self._compressed(scope, receive, send, body)
            return
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        if len(body) >= self.gzip_min_bytes:
            headers.append((b"vary", b"Accept-Encoding"))
        headers += security_headers(scope["path"], "application/json")
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _compressed(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        """Send ``body`` through the gzip and security-header middleware, as the route's is."""
        async def answer(_scope: Scope, _receive: Receive, inner_send: Send) -> None:
            await inner_send({"type": "http.response.start", "status": 200,
                              "headers": [(b"content-length", str(len(body)).encode()),
                                          (b"content-type", b"application/json")]})
            await inner_send({"type": "http.response.body", "body": body})

        gzip = GZipMiddleware(answer, minimum_size=self.gzip_min_bytes, compresslevel=self.gzip_level)
        await SecurityHeaders(gzip)(scope, receive, send)

    async def _answer(self, scope: Scope, account_id: str, k: int, lang: str | None, token: str) -> bytes | None:
        """The body of the answer, with its suggestions logged; None to leave it to the route."""
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is None:
            return None
        key = hash_token(token)
        principal = runtime.principals.get(key)
        if principal is None:
            return None
        refresh_ahead(runtime, key, token)
        try:
            answer = views.account_suggestions(runtime, Access(principal), account_id, k, lang)
        except NotFoundError:
            return None
        try:
            await runtime.decision_log.write_async(answer.log_rows)
        except DecisionLogUnavailable:
            return None
        scope["route"], scope["path_params"] = ROUTE, {"account_id": account_id}
        set_role(scope, principal.role)
        body = answer.body
        return account_suggestions_json(body["account_id"], body["model_version"], body["as_of"],
                                        body["suggestions"])


def _parse(scope: Scope) -> tuple[str, int, str | None, str] | None:
    """(account_id, k, lang, bearer token) of a plain account-suggestions request, else None."""
    path: str = scope["path"]
    if scope["method"] != "GET" or not path.startswith(PREFIX) or not path.endswith(SUFFIX) \
            or scope.get("root_path"):
        return None
    account_id = path[len(PREFIX):-len(SUFFIX)]
    if not _ACCOUNT_ID.fullmatch(account_id):
        return None
    query = _query(scope["query_string"])
    if query is None:
        return None
    k_text, lang = query.get("k"), query.get("lang")
    if lang not in _LANGS or (k_text is not None and not (k_text.isascii() and k_text.isdigit())):
        return None
    k = _DEFAULT_K if k_text is None else int(k_text)
    if not 1 <= k <= MAX_K:
        return None
    token = _bearer(scope["headers"])
    return None if token is None else (account_id, k, lang, token)


def _query(raw: bytes) -> dict[str, str] | None:
    """The query's ``k`` and ``lang``, each given at most once; None for anything else."""
    if not raw:
        return {}
    found: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name not in ("k", "lang") or name in found:
            return None
        found[name] = value
    return found


def _within_limits(headers: Any, max_header_bytes: int) -> bool:
    """Whether the request has no body and headers within ``max_header_bytes``, counted as
    ``serving.api.limits.RequestLimits`` counts them (anything else is that middleware's case)."""
    size = 0
    for name, value in headers:
        if name in (b"content-length", b"transfer-encoding"):
            return False
        size += len(name) + len(value) + 4
    return size <= max_header_bytes


def _accepts_gzip(headers: Any) -> bool:
    """Whether the first ``Accept-Encoding`` header names gzip (as Starlette's gzip middleware reads it)."""
    for name, value in headers:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


def _bearer(headers: Any) -> str | None:
    """The token of the first ``Authorization: Bearer <token>`` header, if it has a usable one."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
                return None
            return token
    return None


def _route() -> BaseRoute:
    """The route whose common case this answers (named in the request's scope, as the router
    does, for the access log)."""
    for route in accounts.router.routes:
        if getattr(route, "endpoint", None) is accounts.account_suggestions:
            return route
    raise RuntimeError("serving.api.routers.accounts: expected a route for account_suggestions")


ROUTE = _route()
