"""Server time of the rep workspace's account page with a large snapshot loaded.

    python benchmarks/account_page.py --accounts 20000 [--dir WORKDIR] [--requests 200]

Generates a data set and trains a model (reused when ``--dir`` already has them, as in
``serving_load.py``), loads the service in-process, signs in through the sign-in form and
requests ``/ui/accounts/{id}`` for random accounts (each page logs its suggestions to the
decision log, as in production). Server time is measured by an ASGI wrapper from the request's
arrival to the last body byte, so the client's own work is not counted. Also times the
accounts list (a rep's and an admin's, over all accounts) and the scoreboard, the latter after
``--log-rows`` synthetic decision-log rows were added (its cost must not grow with the log).
Target: account page p95 <= 150 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from report import table_text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_MS = 150.0


class ServerTimer:
    """ASGI wrapper: milliseconds from a request's arrival to its last response byte."""

    def __init__(self, app) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.last_ms = (time.perf_counter() - started) * 1000.0

        await self.app(scope, receive, timed_send)


def _sign_in(client, token: str) -> None:
    form = client.get("/ui/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = client.post("/ui/login", data={"token": token, "csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def _measure(client, timer: ServerTimer, urls: list[str]) -> np.ndarray:
    times = []
    for url in urls:
        answer = client.get(url)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: {answer.status_code} {answer.text[:300]}")
        times.append(timer.last_ms)
    return np.asarray(times)


def fill_decision_log(runtime, n: int, seed: int) -> None:
    """Add ``n`` decision-log rows spread over all accounts (a few distinct suggestions each)."""
    from datetime import datetime, timedelta

    from sqlalchemy import insert

    from serving.store.tables import Decision

    accounts = runtime.snapshot.suggestions.account_ids.astype(str)
    picked = np.random.default_rng(seed).integers(0, len(accounts), size=n)
    start = datetime(2026, 1, 1)
    for lo in range(0, n, 50_000):
        rows = [{"suggestion_id": f"log-{a}-{i % 5}", "account_id": str(accounts[a]), "rank": 1,
                 "channel": "phone", "offer_id": None, "discount_pct": 0.0, "executed_by": "rep",
                 "p_convert": 0.1, "p_convert_baseline": 0.05, "expected_incremental_margin": 1.0,
                 "propensity": 1.0, "model_version": "log", "as_of": start,
                 "requested_at": start + timedelta(seconds=i), "user_id": None}
                for i, a in enumerate(picked[lo:lo + 50_000].tolist(), start=lo)]
        with runtime.sessions() as session:
            session.execute(insert(Decision), rows)
            session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--log-rows", type=int, default=200_000,
                        help="decision-log rows added before the scoreboard is timed")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (kept and reused)")
    parser.add_argument("--model", default=None,
                        help="serve this model URI instead of training one on the generated data "
                             "(page time depends on the snapshot's size, not on the model's training set)")
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="symbiose-account-page-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SYMBIOSE_HOME", str(workdir / "home"))

    from fastapi.testclient import TestClient
    from serving_load import prepare

    from features.loading import load_dataset
    from models.recommend import load_model
    from serving.app import create_app
    from serving.runtime import open_runtime
    from serving.settings import Settings
    from serving.snapshot import build_snapshot_state
    from serving.store.users import add_user

    if args.model:
        from features.sample_data import generate

        data, uri = workdir / "data", args.model
        if not (data / "accounts.csv").exists():
            generate(data, n_accounts=args.accounts, seed=args.seed, truth_path=workdir / "truth.parquet")
    else:
        data, uri = prepare(workdir, args.accounts, args.seed)
    started = time.perf_counter()
    dataset = load_dataset(data)
    pipeline, version = load_model(uri)
    snapshot = build_snapshot_state(dataset, pipeline, version, as_of=dataset.default_as_of())
    load_s = time.perf_counter() - started
    db = workdir / f"web-{os.getpid()}.db"
    runtime = open_runtime(Settings(database_url=f"sqlite:///{db}"), snapshot)
    accounts = snapshot.suggestions.account_ids
    directory = snapshot.directory
    rep = max(directory.rep_names or {r: r for r in directory.rep_id if r}, key=lambda r: len(directory.rep_accounts(r)))
    with runtime.sessions() as session:
        _admin, admin_token = add_user(session, name=f"bench-admin-{os.getpid()}", role="admin")
        _rep, rep_token = add_user(session, name=f"bench-rep-{os.getpid()}", role="rep", rep_id=rep)
    timer = ServerTimer(create_app(runtime=runtime))
    rng = np.random.default_rng(args.seed)
    picked = rng.choice(accounts, size=min(args.requests, len(accounts)), replace=False)
    rows = []
    try:
        with TestClient(timer) as admin:
            _sign_in(admin, admin_token)
            _measure(admin, timer, [f"/ui/accounts/{a}" for a in picked[:20]])  # warm-up
            pages = _measure(admin, timer, [f"/ui/accounts/{a}" for a in picked])
            rows.append(("account page (admin, random accounts)", pages))
            rows.append(("accounts list, admin (all accounts)", _measure(admin, timer, ["/ui/"] * 20)))
            fill_decision_log(runtime, args.log_rows, args.seed)
            board = f"/ui/scoreboard?rep_id={rep}"
            rows.append((f"scoreboard of one rep, first request (attribution tables; the {args.log_rows:,}-row log read once)",
                         _measure(admin, timer, [board])))
            rows.append(("scoreboard of one rep, later requests", _measure(admin, timer, [board] * 20)))
        with TestClient(timer) as rep_client:
            _sign_in(rep_client, rep_token)
            own = [str(accounts[p]) for p in directory.rep_accounts(rep)]
            rows.append(("account page (rep, own accounts)",
                         _measure(rep_client, timer, [f"/ui/accounts/{a}" for a in (own * 3)[:args.requests]])))
            rows.append(("accounts list, rep", _measure(rep_client, timer, ["/ui/"] * 20)))
    finally:
        runtime.close()
    table = pd.DataFrame([{"page": name, "requests": len(t), "p50 ms": np.percentile(t, 50),
                           "p95 ms": np.percentile(t, 95), "p99 ms": np.percentile(t, 99),
                           "max ms": t.max()} for name, t in rows])
    print(f"\nmodel {uri}; {len(accounts):,} accounts, {len(snapshot.attributed_lines()):,} order lines; snapshot loaded and "
          f"scored in {load_s:.1f} s; rep {rep} owns {len(directory.rep_accounts(rep)):,} accounts")
    print(table_text(table, floatfmt=".1f"))
    p95 = float(np.percentile(pages, 95))
    print(f"\naccount page p95 {p95:.1f} ms: {'meets' if p95 <= TARGET_MS else 'MISSES'} the "
          f"{TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
