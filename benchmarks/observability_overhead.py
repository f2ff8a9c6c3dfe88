"""What the access log and the metrics cost a suggestion request, measured in one run.

    python benchmarks/observability_overhead.py --accounts 2000 [--dir WORKDIR] [--rounds 10] [--requests 300]

Generates a data set and trains a model (reused when ``--dir`` already has them, as in
``serving_load.py``), loads one snapshot in-process and serves it from two apps: the service as shipped (JSON access line per request, formatted and written to
``/dev/null``; request histogram; suggestions, feedback and decision-log commits counted) and the
same app without the access log middleware and with a decision log that counts nothing (each on
its own SQLite file). Both
answer ``GET /v1/accounts/{id}/suggestions?k=3`` for random accounts in alternating rounds, the
order swapped every round (so that a change of machine load hits both alike). Server time is taken by an ASGI wrapper from a
request's arrival to its last body byte. On a busy machine that comparison is noisy, so the
middleware's own cost is also timed alone: a no-op ASGI app with and without it, best of seven
repeats. Also times ``GET /metrics`` after the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from report import table_text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
METRICS_TOKEN = "benchmark-metrics-token-0123456789"


def _bare_app(runtime):
    """The app without the access log middleware, serving ``runtime`` with a decision log that
    counts nothing."""
    from serving.api.access_log import AccessLog
    from serving.app import create_api
    from serving.decision_log import DecisionLog
    from serving.log_writer import WriterInChild

    app = create_api(settings=runtime.settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not AccessLog]
    runtime.decision_log.close()
    log = DecisionLog(WriterInChild(runtime.settings.resolved_database_url()))
    app.state.runtime = dataclasses.replace(runtime, decision_log=log)
    return app


def middleware_cost(runtime, calls: int = 20_000, repeats: int = 7) -> tuple[float, float]:
    """Microseconds per request of a no-op ASGI app alone and inside the access log middleware
    (request timed into the metrics, JSON line formatted and written), best of ``repeats``: the
    fastest repeat is the one least disturbed by other work on the machine."""
    import asyncio
    from types import SimpleNamespace

    from serving.api.access_log import AccessLog

    async def noop(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message) -> None:
        return None

    app = SimpleNamespace(state=SimpleNamespace(runtime=runtime))
    route = SimpleNamespace(path="/v1/accounts/{account_id:path}/suggestions")

    async def run(asgi) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            scope = {"type": "http", "method": "GET", "path": "/v1/accounts/A1/suggestions", "app": app,
                     "headers": [(b"authorization", b"Bearer token")], "route": route, "state": {"role": "rep"}}
            await asgi(scope, receive, send)
        return (time.perf_counter() - started) / calls * 1e6

    logged = AccessLog(noop)
    best = {"bare": float("inf"), "logged": float("inf")}
    for _ in range(repeats):
        best["bare"] = min(best["bare"], asyncio.run(run(noop)))
        best["logged"] = min(best["logged"], asyncio.run(run(logged)))
    return best["bare"], best["logged"]


def _timed(client, timer, urls: list[str], headers: dict[str, str]) -> list[float]:
    times = []
    for url in urls:
        answer = client.get(url, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: {answer.status_code} {answer.text[:300]}")
        times.append(timer.last_ms)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds per app")
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (kept and reused)")
    parser.add_argument("--control", action="store_true",
                        help="serve the second app as shipped too: the difference two like apps show")
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="symbiose-observability-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SYMBIOSE_HOME", str(workdir / "home"))

    from account_page import ServerTimer
    from fastapi.testclient import TestClient
    from serving_load import prepare

    from features.loading import load_dataset
    from models.recommend import load_model
    from serving.api.access_log import LOGGER
    from serving.app import create_app
    from serving.json_logs import JsonLines
    from serving.runtime import open_runtime, settle_heap
    from serving.settings import Settings
    from serving.snapshot import build_snapshot_state
    from serving.store.users import add_user

    data, uri = prepare(workdir, args.accounts, args.seed)
    dataset = load_dataset(data)
    pipeline, version = load_model(uri)
    snapshot = build_snapshot_state(dataset, pipeline, version, as_of=dataset.default_as_of())
    runtimes, headers = [], []
    for variant in ("shipped", "bare"):  # one SQLite file each: their decision logs never wait on each other
        db = workdir / f"observability-{os.getpid()}-{variant}.db"
        runtimes.append(open_runtime(Settings(database_url=f"sqlite:///{db}", metrics_token=METRICS_TOKEN),
                                     snapshot))
        with runtimes[-1].sessions() as session:
            _user, token = add_user(session, name=f"bench-{os.getpid()}", role="admin")
        headers.append({"Authorization": f"Bearer {token}"})

    sink = open(os.devnull, "w")  # open for the whole run
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonLines())
    LOGGER.addHandler(handler)  # create_app then adds no stderr handler of its own
    bare = create_app(runtime=runtimes[1]) if args.control else _bare_app(runtimes[1])
    apps = {"as shipped (access log + metrics)": ServerTimer(create_app(runtime=runtimes[0])),
            "as shipped, second app (control)" if args.control else "without access log and metrics":
                ServerTimer(bare)}
    headers_of = dict(zip(apps, headers, strict=True))
    accounts = snapshot.suggestions.account_ids.astype(str)
    rng = np.random.default_rng(args.seed)
    times: dict[str, list[float]] = {name: [] for name in apps}
    try:
        clients = {name: TestClient(timer).__enter__() for name, timer in apps.items()}
        for name, client in clients.items():  # warm-up
            _timed(client, apps[name], [f"/v1/accounts/{a}/suggestions?k=3" for a in accounts[:50]],
                   headers_of[name])
        settle_heap()  # as `symbiose serve` does once the snapshot is loaded
        for round_no in range(args.rounds):
            for name, client in sorted(clients.items(), reverse=round_no % 2 == 1):
                urls = [f"/v1/accounts/{a}/suggestions?k=3" for a in rng.choice(accounts, size=args.requests)]
                times[name] += _timed(client, apps[name], urls, headers_of[name])
        shipped = clients["as shipped (access log + metrics)"]
        scrape = []
        for _ in range(20):
            started = time.perf_counter()
            answer = shipped.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            scrape.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
        for client in clients.values():
            client.__exit__(None, None, None)
        bare_us, logged_us = middleware_cost(runtimes[0])
    finally:
        runtimes[0].close()
        bare.state.runtime.close()
        LOGGER.removeHandler(handler)
        sink.close()

    rows = [{"app": name, "requests": len(t), "mean ms": np.mean(t), "p50 ms": np.percentile(t, 50),
             "p95 ms": np.percentile(t, 95), "p99 ms": np.percentile(t, 99)} for name, t in times.items()]
    table = pd.DataFrame(rows)
    shipped_t, bare_t = (np.asarray(t) for t in times.values())
    print(f"\nmodel {uri}; {len(accounts):,} accounts; {args.rounds} alternating rounds of {args.requests} "
          "GET /v1/accounts/{id}/suggestions?k=3 per app (server time)")
    print(table_text(table, floatfmt=".3f"))
    print(f"\nratio as shipped / without: mean {shipped_t.mean() / bare_t.mean():.3f}, "
          f"p50 {np.percentile(shipped_t, 50) / np.percentile(bare_t, 50):.3f}, "
          f"p95 {np.percentile(shipped_t, 95) / np.percentile(bare_t, 95):.3f}; "
          f"difference of means {1000 * (shipped_t.mean() - bare_t.mean()):.0f} µs per request")
    print(f"access log middleware around a no-op app (best of 7 x 20,000 calls): {logged_us - bare_us:.1f} µs "
          f"per request ({bare_us:.1f} µs without, {logged_us:.1f} µs with); that is "
          f"{(logged_us - bare_us) / 10 / np.percentile(bare_t, 50):.1f} % of the median suggestion request above")
    print(f"GET /metrics after the run (client-side time, 20 scrapes): median {np.median(scrape):.2f} ms, "
          f"{len(answer.content):,} bytes")


if __name__ == "__main__":
    main()
