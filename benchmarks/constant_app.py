"""The floor under the service: a bare ASGI app that answers every request with the same JSON body,
served by ``uvicorn`` as ``symbiose serve`` serves the app (loopback, log level warning, uvicorn's
default loop and HTTP parser: uvloop and httptools when installed).

    python benchmarks/constant_app.py --port 8001 [--body-bytes 1100]

``benchmarks/serving_load.py --floor`` starts it and drives it with the same ``wrk`` script.
"""

from __future__ import annotations

import argparse

from starlette.types import Receive, Scope, Send


def constant_app(body: bytes):  # noqa: ANN201 - an ASGI callable
    """An ASGI app answering every HTTP request with 200 and ``body`` as JSON."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-bytes", type=int, default=1100,
                        help="size of the answer (about that of three suggestions)")
    args = parser.parse_args()
    if args.body_bytes < 2:
        raise SystemExit(f"--body-bytes: expected at least 2, got {args.body_bytes}")
    import uvicorn

    body = b'"' + b"x" * (args.body_bytes - 2) + b'"'
    uvicorn.run(constant_app(body), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
