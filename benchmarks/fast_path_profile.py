"""CPU per request of ``GET /v1/accounts/{id}/suggestions`` inside one process, without HTTP: the
whole ASGI app (access log, fast path, decision log) called directly, and where the time goes.

    python benchmarks/fast_path_profile.py --data DIR --scores FILE --home DIR [--calls 20000] [--profile]

Loads the service as ``symbiose serve --scores`` does (model from ``--home``'s registry), signs in
one admin, answers each account once (first renders), then times ``--calls`` requests for random
accounts from ``--clients`` concurrent callers (CPU time, ``time.process_time``; the decision log's thread included, access lines to
``/dev/null``). With ``--profile`` it prints cProfile's top functions of the timed calls.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _scope(account: str, token: str) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": f"/v1/accounts/{account}/suggestions", "raw_path": f"/v1/accounts/{account}/suggestions".encode(),
            "query_string": b"k=3", "root_path": "", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
            "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode())]}


async def _call(app, scope: dict) -> int:
    status = 0

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


async def _run(app, scopes: list[dict], clients: int) -> None:
    """Answer ``scopes`` with ``clients`` concurrent callers (the decision log commits in groups)."""
    queue = list(reversed(scopes))

    async def caller() -> None:
        while queue:
            scope = queue.pop()
            status = await _call(app, scope)
            if status != 200:
                raise SystemExit(f"{scope['path']}: expected 200, got {status}")

    await asyncio.gather(*(caller() for _ in range(clients)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--scores", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True, help="SYMBIOSE_HOME holding the registered model")
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=64, help="concurrent callers")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ["SYMBIOSE_HOME"] = str(args.home)
    workdir = Path(tempfile.mkdtemp(prefix="symbiose-fast-path-"))
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the access lines go here for the whole run

    from serving.app import create_app
    from serving.settings import Settings
    from serving.store.users import add_user

    settings = Settings(data=args.data, scores=args.scores, database_url=f"sqlite:///{workdir / 'service.db'}",
                        model_poll_seconds=0)
    app = create_app(settings)
    runtime = app.state.runtime
    runtime.snapshot.start_background()
    with runtime.sessions() as session:
        _user, token = add_user(session, name="profile", role="admin")
    accounts = [str(a) for a in runtime.snapshot.suggestions.accounts]
    loop = asyncio.new_event_loop()
    started = time.process_time()
    loop.run_until_complete(_run(app, [_scope(a, token) for a in accounts], args.clients))
    first = (time.process_time() - started) / len(accounts)
    rng = np.random.default_rng(0)
    scopes = [_scope(a, token) for a in rng.choice(accounts, size=args.calls)]
    profiler = cProfile.Profile() if args.profile else None
    started = time.process_time()
    if profiler is not None:
        profiler.enable()
    loop.run_until_complete(_run(app, scopes, args.clients))
    if profiler is not None:
        profiler.disable()
    each = (time.process_time() - started) / args.calls
    runtime.close()
    print(f"{len(accounts):,} accounts: first answer {first * 1e6:.0f} µs CPU each; "
          f"{args.calls:,} answers after: {each * 1e6:.0f} µs CPU each (load average {os.getloadavg()[0]:.1f})")
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
