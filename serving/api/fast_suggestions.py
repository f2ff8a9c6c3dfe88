"""The common case of ``GET /v1/accounts/{account_id}/suggestions`` answered without the
framework's per-request machinery (routing, dependency solving, exception middleware).

The account endpoint is the one clients call at high rates; for a cached token and a visible
account, the framework's machinery costs several times the work of the answer itself. This
plain ASGI middleware sits innermost, inside every other middleware (access log, security
headers, request limits), and answers exactly what the route would — the same view, decision-log
write and JSON body (``serving.api.routers.accounts``). Everything else goes on to the route
unchanged: another path or method, an unusual query, a token not checked in the last
``auth_cache_seconds``, an account the caller may not see, a decision log that could not be
written (the route then tries again and answers with its own errors).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.access import Access
from serving.api import views
from serving.api.access_log import set_role
from serving.api.deps import MAX_TOKEN_LENGTH
from serving.api.routers import ID_PATTERN, MAX_K, accounts
from serving.api.suggestion_json import account_suggestions_json
from serving.auth import hash_token
from serving.decision_log import DecisionLogUnavailable
from serving.errors import NotFoundError
from serving.runtime import Runtime

PREFIX, SUFFIX = "/v1/accounts/", "/suggestions"
_ACCOUNT_ID = re.compile(ID_PATTERN)
_LANGS = (None, "en", "de")
_DEFAULT_K = 3


class AccountSuggestionsFastPath:
    """Answers the account-suggestions route's common case itself (see the module text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = _parse(scope) if scope["type"] == "http" else None
        body = await self._answer(scope, *request) if request is not None else None
        if body is None:
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode()),
                                (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, account_id: str, k: int, lang: str | None, token: str) -> bytes | None:
        """The body of the answer, with its suggestions logged; None to leave it to the route."""
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is None:
            return None
        principal = runtime.principals.get(hash_token(token))
        if principal is None:
            return None
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
