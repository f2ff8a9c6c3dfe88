"""One log line per request, without tokens or personal data, and a request id to match it.

A plain ASGI middleware. The line (logger ``symbiose.access``, level INFO) holds the method, the
route's path template (``/v1/accounts/{account_id}``, never the raw path with its ids, nor the
query), the status, the duration in milliseconds, the caller's role (``-`` before sign-in) and
the request id. The id is the client's ``X-Request-ID`` when it is a short plain token, else a
fresh random one; it is sent back as ``X-Request-ID``.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from functools import lru_cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = logging.getLogger("symbiose.access")
REQUEST_ID_HEADER = b"x-request-id"
_CLIENT_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_CONVERTER = re.compile(r":[a-z]+}")


def set_role(scope: Scope, role: str) -> None:
    """Note the caller's role for the access log line of this request."""
    scope.setdefault("state", {})["role"] = role


class AccessLog:
    """Logs each HTTP request once it is answered (see the module text)."""

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
            if LOGGER.isEnabledFor(logging.INFO):
                route = getattr(scope.get("route"), "path", None)
                role = (scope.get("state") or {}).get("role", "-")
                LOGGER.info("%s %s %d %.1fms role=%s request_id=%s", scope["method"],
                            _template(route) if route else "(no route)", status,
                            (time.perf_counter() - started) * 1000, role, request_id.decode("ascii"))


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
    """Send access lines to standard error unless the logger was configured already."""
    if LOGGER.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
