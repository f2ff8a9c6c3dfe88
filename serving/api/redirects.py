"""Redirects that stay on the site the client asked for, whatever its ``Host`` header says.

Starlette builds some redirects (a path with or without its trailing slash) from the request's
URL, whose host comes from the client's ``Host`` header: ``Host: evil.example`` would send the
client to ``http://evil.example/...``. This plain ASGI middleware turns every absolute
``Location`` that points at the request's own host into the relative path and query it names.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RelativeRedirects:
    """Rewrites absolute same-host ``Location`` headers of redirects to relative ones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = [(name, _relative(value, scope) if name == b"location" else value)
                                      for name, value in message["headers"]]
            await send(message)

        await self.app(scope, receive, relative)


def _relative(location: bytes, scope: Scope) -> bytes:
    """``location`` without scheme and host when it names the request's own host (as the client
    gave it, or the server's address); any other location as it is."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.netloc:
        return location
    own = {value.decode("latin-1").lower() for name, value in scope["headers"] if name == b"host"}
    server = scope.get("server")
    if server:
        own |= {f"{server[0]}:{server[1]}".lower(), str(server[0]).lower()}
    if parts.netloc.lower() not in own:
        return location
    path = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return ("/" + path.lstrip("/")).encode("latin-1")
