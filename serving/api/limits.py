"""Request size limits, enforced before any route, authentication or body parsing.

A plain ASGI middleware (no per-request objects beyond two closures): headers larger than
``max_header_bytes`` answer 431; a body announced by ``Content-Length`` above ``max_body_bytes``
answers 413 before a byte of it is read; a body streamed without ``Content-Length`` (chunked) is
counted while the app reads it and answers 413 as soon as it passes the limit, so the server
never holds more than one limit's worth of it. Both answers close the connection: the unread
rest of the body must not be taken for the next request.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised inside the app's ``receive`` once a streamed body passes the limit."""


async def reject(send: Send, status: int, detail: str) -> None:
    """Send a JSON error answer with ``Connection: close``."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """Refuses requests whose headers or body are larger than configured (see the module text)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = 0
        announced: bytes | None = None
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value) + 4
            if name == b"content-length":
                announced = value
        if header_bytes > self.max_header_bytes:
            await reject(send, 431, f"request headers of {header_bytes} bytes: expected at most "
                                    f"{self.max_header_bytes} (SYMBIOSE_MAX_HEADER_BYTES)")
            return
        limit = self.max_body_bytes
        if announced is not None and announced.isdigit() and int(announced) > limit:
            await reject(send, 413, _too_large(f"{int(announced)} bytes", limit))
            return
        await self._counting(scope, receive, send, limit)

    async def _counting(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app with a ``receive`` that stops a body at ``limit`` bytes; then answer 413
        in place of whatever the app made of the interruption."""
        received = 0
        over = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(_too_large(f"more than {limit} bytes", limit))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await reject(send, 413, _too_large(f"more than {limit} bytes", limit))


def _too_large(size: str, limit: int) -> str:
    return f"request body of {size}: expected at most {limit} bytes (SYMBIOSE_MAX_BODY_BYTES)"
