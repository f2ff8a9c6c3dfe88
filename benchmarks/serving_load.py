"""Load benchmark of the HTTP service against ``mlflow models serve`` on the same pyfunc model.

    python benchmarks/serving_load.py --accounts 20000 [--dir WORKDIR] [--requests 4000]

Generates a data set, trains and registers a model (reused when ``--dir`` already has them),
starts ``symbiose serve`` and ``mlflow models serve --env-manager local`` on loopback, and drives
both with a bounded load generator (asyncio; fixed request count and time limit):
our ``GET /v1/accounts/{id}/suggestions?k=3`` (random accounts) and mlflow's ``/invocations``
scoring one account per request (its ``build_snapshot`` rows as ``dataframe_split``), at 16 and
64 concurrent clients (aiohttp, one client process). Prints throughput, p50/p95/p99 latency
and the server's CPU time per request for each server and concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from report import table_text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path, limit: float = 300.0) -> float:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"{url} not up after {limit:.0f} s:\n{log.read_text()[-3000:]}")


def prepare(workdir: Path, n_accounts: int, seed: int) -> tuple[Path, str]:
    """(data directory, model URI): generated and trained once, reused on later runs."""
    from features.loading import load_dataset
    from features.sample_data import DEFAULT_AS_OF, generate
    from models.registry import configure_tracking, resolve_model_uri
    from models.tracking import train_and_log

    data = workdir / "data"
    if not (data / "accounts.csv").exists():
        t = time.perf_counter()
        generate(data, n_accounts=n_accounts, seed=seed, truth_path=workdir / "truth.parquet")
        print(f"generated {n_accounts:,} accounts in {time.perf_counter() - t:.1f} s", flush=True)
    configure_tracking()
    try:
        uri, _version = resolve_model_uri(None)
    except LookupError:
        t = time.perf_counter()
        run = train_and_log(load_dataset(data), pd.Timestamp(DEFAULT_AS_OF))
        print(f"trained {run.model_version} in {time.perf_counter() - t:.1f} s", flush=True)
        uri, _version = resolve_model_uri(None)
    return data, uri


def mlflow_payloads(data: Path, uri: str, accounts: list[str]) -> list[bytes]:
    """One ``dataframe_split`` JSON body per account: that account's snapshot rows."""
    from features.actions import action_space
    from features.loading import load_dataset
    from features.snapshot import build_snapshot
    from models.recommend import load_model

    pipeline, _ = load_model(uri)
    dataset = load_dataset(data)
    as_of = dataset.default_as_of()
    data_before = dataset.before(as_of)
    categories = sorted(set(action_space(data_before)["category"].astype(str))) or pipeline.categories
    snap = build_snapshot(data_before, as_of, pipeline.specs, categories)
    snap = snap[snap["account_id"].isin(accounts)]
    bodies = []
    for _account, rows in snap.groupby("account_id", sort=False):
        split = json.loads(rows.to_json(orient="split", index=False, date_format="iso"))
        bodies.append(json.dumps({"dataframe_split": {"columns": split["columns"], "data": split["data"]},
                                  "params": {"top_k": 3}}).encode())
    return bodies


async def _drive(requests: list[tuple[str, str, bytes | None]], base: str, headers: dict[str, str],
                 concurrency: int, time_limit: float) -> tuple[np.ndarray, int, float]:
    """Send ``requests`` with ``concurrency`` workers; (latencies in ms, errors, wall seconds)."""
    import aiohttp

    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    started = time.perf_counter()
    deadline = started + time_limit
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector, timeout=timeout) as client:
        async def worker() -> None:
            nonlocal errors
            while not queue.empty() and time.perf_counter() < deadline:
                method, path, body = queue.get_nowait()
                t = time.perf_counter()
                try:
                    async with client.request(method, path, data=body,
                                              headers={"Content-Type": "application/json"} if body else None) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except (TimeoutError, aiohttp.ClientError):
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - t) * 1000)
                else:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return np.asarray(latencies), errors, time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid`` and its children (NaN without psutil)."""
    try:
        import psutil
    except ImportError:
        return float("nan")
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def measure(name: str, requests: list, base: str, headers: dict[str, str], concurrency: int,
            time_limit: float, pid: int, warmup: int = 100) -> dict[str, object]:
    """Warm up, then one bounded run; the row of the results table. ``server_cpu_ms`` is the
    server's CPU time per answered request, which the machine's other load does not inflate."""
    asyncio.run(_drive(requests[:warmup], base, headers, min(concurrency, 8), time_limit))
    cpu_before = _cpu_seconds(pid)
    lat, errors, wall = asyncio.run(_drive(requests, base, headers, concurrency, time_limit))
    cpu = _cpu_seconds(pid) - cpu_before
    if not len(lat):
        return {"server": name, "clients": concurrency, "requests": 0, "errors": errors}
    return {"server": name, "clients": concurrency, "requests": len(lat), "errors": errors,
            "throughput_rps": len(lat) / wall, "p50_ms": float(np.percentile(lat, 50)),
            "p95_ms": float(np.percentile(lat, 95)), "p99_ms": float(np.percentile(lat, 99)),
            "server_cpu_ms": 1000 * cpu / len(lat), "load_avg_1m": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (reused: data and model)")
    parser.add_argument("--requests", type=int, default=4000, help="requests per run (our service)")
    parser.add_argument("--mlflow-requests", type=int, default=1500, help="requests per run (mlflow)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run at most")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    args = parser.parse_args()

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="symbiose-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    os.environ["SYMBIOSE_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    data, uri = prepare(workdir, args.accounts, args.seed)

    from models.registry import configure_tracking
    from serving.store.db import Database
    from serving.store.users import add_user

    tracking = configure_tracking()
    db_url = f"sqlite:///{workdir / 'service.db'}"
    with Database.open(db_url)() as session:
        _user, token = add_user(session, name=f"load-{time.time_ns()}", role="admin")
    env = {**os.environ, "SYMBIOSE_HOME": str(home), "SYMBIOSE_DATABASE_URL": db_url,
           "MLFLOW_TRACKING_URI": tracking, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT)}
    ours_port, mlflow_port = _free_port(), _free_port()
    ours_log, mlflow_log = workdir / "service.log", workdir / "mlflow.log"
    ours = subprocess.Popen([sys.executable, "-m", "serving.cli", "serve", "--data", str(data), "--model", uri,
                             "--port", str(ours_port)], cwd=ROOT, env=env, stdout=ours_log.open("wb"),
                            stderr=subprocess.STDOUT)
    mlflow_proc = subprocess.Popen([str(BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local",
                                    "-p", str(mlflow_port), "-h", "127.0.0.1", "--workers", "1"],
                                   cwd=workdir, env=env, stdout=mlflow_log.open("wb"), stderr=subprocess.STDOUT)
    rows = []
    try:
        start_ours = _wait(f"http://127.0.0.1:{ours_port}/health", ours, ours_log)
        start_mlflow = _wait(f"http://127.0.0.1:{mlflow_port}/ping", mlflow_proc, mlflow_log)
        print(f"service up in {start_ours:.1f} s (model + snapshot of {args.accounts:,} accounts scored once); "
              f"mlflow serve up in {start_mlflow:.1f} s", flush=True)
        from features.loading import load_dataset

        account_ids = load_dataset(data).accounts["account_id"].astype(str).to_numpy()
        rng = np.random.default_rng(args.seed)
        ours_requests = [("GET", f"/v1/accounts/{a}/suggestions?k=3", None)
                         for a in rng.choice(account_ids, size=args.requests)]
        sample = rng.choice(account_ids, size=min(300, len(account_ids)), replace=False).tolist()
        bodies = mlflow_payloads(data, uri, sample)
        probe = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                                "Content-Type: application/json", "--data-binary", "@-",
                                f"http://127.0.0.1:{mlflow_port}/invocations"], input=bodies[0],
                               capture_output=True)
        if probe.stdout.decode() != "200":
            detail = subprocess.run(["curl", "-s", "-H", "Content-Type: application/json", "--data-binary", "@-",
                                     f"http://127.0.0.1:{mlflow_port}/invocations"], input=bodies[0],
                                    capture_output=True).stdout.decode()[:2000]
            print(f"mlflow /invocations rejected the snapshot rows: {detail}", flush=True)
        mlflow_requests = [("POST", "/invocations", bodies[i % len(bodies)]) for i in range(args.mlflow_requests)]
        auth = {"Authorization": f"Bearer {token}"}
        for clients in args.clients:
            rows.append(measure("symbiose serve", ours_requests, f"http://127.0.0.1:{ours_port}", auth, clients,
                                args.time_limit, ours.pid))
            print(rows[-1], flush=True)
            rows.append(measure("mlflow models serve", mlflow_requests, f"http://127.0.0.1:{mlflow_port}", {},
                                clients, args.time_limit, mlflow_proc.pid))
            print(rows[-1], flush=True)
    finally:
        for proc in (ours, mlflow_proc):
            proc.terminate()
        for proc in (ours, mlflow_proc):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    table = pd.DataFrame(rows)
    print()
    print(table_text(table, floatfmt=".1f"))


if __name__ == "__main__":
    main()
