"""Security headers of every answer: no MIME sniffing, no framing, referrers kept on this site,
and a Content-Security-Policy fitting what is answered.

A plain ASGI middleware. The rep pages under ``/ui`` get a policy without inline script or
style; their charts are SVG images with their own ``<style>`` and get a policy that allows that
style and nothing else. The API documentation (``/docs``, ``/redoc``) loads its viewer from
``cdn.jsdelivr.net`` and starts it with a small inline script, which its policy allows; every
other answer (the JSON API, ``/openapi.json``, ``/health``) may load nothing at all.
"""

from __future__ import annotations

from functools import lru_cache

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/ui"
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc")
DOCS_POLICY = ("default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
               "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
               "https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def policy_for(path: str, content_type: str) -> str:
    """The Content-Security-Policy of an answer to ``path`` with ``content_type``."""
    if content_type.startswith("image/svg+xml"):
        return SVG_POLICY
    if path == PREFIX or path.startswith(PREFIX + "/"):
        return PAGE_POLICY
    if path in DOCS:
        return DOCS_POLICY
    return API_POLICY


def security_headers(path: str, content_type: str) -> list[tuple[bytes, bytes]]:
    """The raw headers :class:`SecurityHeaders` adds to an answer to ``path`` with ``content_type``
    that has none of them yet, in the order it adds them (for answers sent without it)."""
    return list(_encoded(policy_for(path, content_type)))


@lru_cache(maxsize=8)
def _encoded(policy: str) -> tuple[tuple[bytes, bytes], ...]:
    return (*((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in COMMON.items()),
            (b"content-security-policy", policy.encode("latin-1")))


class SecurityHeaders:
    """Adds :data:`COMMON` and a Content-Security-Policy (:func:`policy_for`) to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy",
                                   policy_for(scope.get("path", ""), headers.get("content-type", "")))
            await send(message)

        await self.app(scope, receive, with_headers)
