"""One JSON log line per request, without tokens or personal data, a request id to match it, and
the request's duration in the service's metrics.

A plain ASGI middleware. The line (logger ``symbiose.access``, level INFO, formatted by
:class:`serving.json_logs.JsonLines`) holds ``event`` ("request"), ``request_id``, ``method``,
the route's path ``template`` (``/v1/accounts/{account_id}``, never the raw path with its ids,
nor the query), ``status``, ``duration_ms`` and the caller's ``role`` (``-`` before sign-in);
never a header, a body or a query value. The id is the client's ``X-Request-ID`` when it is a
short plain token (letters, digits, ``._:-``, at most 64), else a fresh random one; it is always
sent back as ``X-Request-ID``. The same duration goes to the runtime's
:class:`serving.metrics.ServiceMetrics` (per route template, method and status).
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from functools import lru_cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.json_logs import JsonLines, log_fields
from serving.metrics import ServiceMetrics

LOGGER = logging.getLogger("symbiose.access")
REQUEST_ID_HEADER = b"x-request-id"
#: Route label of a request that matched no route (any raw path would make the labels unbounded).
NO_ROUTE = "(no route)"
#: Methods named as they are in logs and metrics; any other counts as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CLIENT_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_CONVERTER = re.compile(r":[a-z]+}")


def set_role(scope: Scope, role: str) -> None:
    """Note the caller's role for the access log line of this request."""
    scope.setdefault("state", {})["role"] = role


class AccessLog:
    """Logs and times each HTTP request once it is answered (see the module text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None)
            template = _template(route) if route else NO_ROUTE
            method = scope["method"] if scope["method"] in METHODS else "other"
            metrics = _metrics(scope)
            if metrics is not None:
                metrics.observe_request(template, method, status, seconds)
            if LOGGER.isEnabledFor(logging.INFO):
                log_fields(LOGGER, {"event": "request", "request_id": request_id.decode("ascii"),
                                    "method": method, "route": template, "status": status,
                                    "duration_ms": round(seconds * 1000, 2),
                                    "role": (scope.get("state") or {}).get("role", "-")})


def _metrics(scope: Scope) -> ServiceMetrics | None:
    """The metrics of the runtime the app serves (none before one is attached)."""
    app = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    return getattr(runtime, "metrics", None)


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _CLIENT_ID.fullmatch(value):
            return value
    return secrets.token_hex(8).encode("ascii")


@lru_cache(maxsize=256)
def _template(path: str) -> str:
    """``path`` without Starlette's converters: ``/a/{id:path}`` -> ``/a/{id}``."""
    return _CONVERTER.sub("}", path)


def log_to_stderr() -> None:
    """Send access lines to standard error, one JSON object each, unless the logger was
    configured already."""
    if LOGGER.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
