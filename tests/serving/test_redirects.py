"""Redirects never send a client to the host named in its ``Host`` header: they are relative."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("path", "target"), [
    ("/v1/model/", "/v1/model"),
    ("/health/", "/health"),
    ("/v1/attribution/?from=2024-01-01&to=2024-02-01", "/v1/attribution?from=2024-01-01&to=2024-02-01"),
    ("/ui/login/", "/ui/login"),
    ("/ui", "/ui/"),
])
def test_redirects_are_relative_whatever_the_host_header(api, path: str, target: str) -> None:
    for host in ("evil.example", "evil.example:8443", "testserver"):
        answer = api.client.get(path, headers={"Host": host}, follow_redirects=False)
        assert answer.status_code in (301, 302, 303, 307, 308), (path, answer.status_code)
        assert answer.headers["location"] == target, (host, answer.headers["location"])


def test_relative_redirects_are_never_protocol_relative() -> None:
    from serving.api.redirects import _relative

    scope = {"headers": [(b"host", b"evil.example")], "server": ("127.0.0.1", 8000)}
    assert _relative(b"http://evil.example//other.example/x?y=1", scope) == b"/other.example/x?y=1"
    assert _relative(b"https://elsewhere.example/x", scope) == b"https://elsewhere.example/x"
    assert _relative(b"/already/relative", scope) == b"/already/relative"
