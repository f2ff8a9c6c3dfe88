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

While the logger's only way out is the service's own handler (:func:`log_to_stderr`: no other
handler, no filter, not propagated), the line is built by :func:`serving.json_logs.json_line` and
written by that handler directly, one write and flush per line, without a log record: the same
text, at a tenth of the cost. Any other set-up (handlers or filters of one's own, ``propagate``)
gets a log record as before.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from functools import lru_cache
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.json_logs import JsonLines, json_line, log_fields
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
                fields = {"event": "request", "request_id": request_id.decode("ascii"), "method": method,
                          "route": template, "status": status, "duration_ms": round(seconds * 1000, 2),
                          "role": (scope.get("state") or {}).get("role", "-")}
                handler = _own_handler()
                if handler is None:
                    log_fields(LOGGER, fields)
                else:
                    handler.write_fields(fields)


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


class AccessLines(logging.StreamHandler):
    """The service's handler of access lines: a stream handler formatting with
    :class:`~serving.json_logs.JsonLines` that also writes a line straight from its fields."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.setFormatter(JsonLines())

    def write_fields(self, fields: dict[str, Any]) -> None:
        """Write the line a record of ``fields`` logged now at INFO would be, and flush, as
        :meth:`emit` does for a record (a failed write is reported as ``logging`` reports it)."""
        created = time.time()
        line = json_line(created, "INFO", LOGGER.name, fields)
        with self.lock:  # type: ignore[union-attr]
            try:
                self.stream.write(line + self.terminator)
                self.flush()
            except RecursionError:
                raise
            except Exception:
                record = LOGGER.makeRecord(LOGGER.name, logging.INFO, __file__, 0, "%s", (line,), None)
                record.created = created
                self.handleError(record)


def _own_handler() -> AccessLines | None:
    """The logger's :class:`AccessLines` handler when a record would reach it alone, unfiltered."""
    handlers = LOGGER.handlers
    if len(handlers) != 1 or LOGGER.propagate or LOGGER.filters:
        return None
    handler = handlers[0]
    if type(handler) is not AccessLines or handler.filters or handler.level > logging.INFO:
        return None
    return handler


def log_to_stderr() -> None:
    """Send access lines to standard error, one JSON object each, unless the logger was
    configured already."""
    if LOGGER.handlers:
        return
    LOGGER.addHandler(AccessLines(sys.stderr))
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
