"""Security headers of the rep pages: a Content-Security-Policy without inline script or
style, no MIME sniffing, no framing, and referrers kept on this site.

A plain ASGI middleware that touches only responses under ``/ui`` (the JSON API is left alone).
Charts are SVG images with their own ``<style>``: they get a policy that allows that style and
nothing else (no script, no loads).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/ui"
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds :data:`COMMON` and a Content-Security-Policy to every response under ``/ui``."""

    def __init__(self, app: ASGIApp, prefix: str = PREFIX) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                svg = headers.get("content-type", "").startswith("image/svg+xml")
                headers.setdefault("Content-Security-Policy", SVG_POLICY if svg else PAGE_POLICY)
            await send(message)

        await self.app(scope, receive, with_headers)
