"""Load benchmark of the HTTP service against ``mlflow models serve`` on the same pyfunc model.

    python benchmarks/serving_load.py --accounts 20000 [--dir WORKDIR] [--data DIR] [--requests 4000]

Generates a data set (or takes ``--data``), trains and registers a model (reused when ``--dir``
already has them), writes the batch scores with ``symbiose recommend --top-k 20`` (with the
service's ``--explain-depth`` and ``--later-days``; reused while
their sidecar matches model, data and as-of; ``--no-scores`` scores at start instead), starts
``symbiose serve --scores`` alone (on a fresh service database) and times it from process start to the first 200 on
``/health``, then starts ``mlflow models serve --env-manager local`` on loopback, and drives
both with a bounded load generator (asyncio; fixed request count and time limit):
our ``GET /v1/accounts/{id}/suggestions?k=3`` (random accounts) and mlflow's ``/invocations``
scoring one account per request (its ``build_snapshot`` rows as ``dataframe_split``), at 16 and
64 concurrent clients, ``--repeat`` runs each for our service. Our service is driven by ``wrk``
(``--client wrk``, the default; ``make wrk`` installs it; script ``benchmarks/wrk_suggestions.lua``:
random accounts, bearer token) so that the load generator takes little CPU from the server;
mlflow, a hundred times slower, by aiohttp in this process. ``--floor`` first drives bare
uvicorn serving a constant answer (``benchmarks/constant_app.py``) with the same ``wrk`` runs.
Prints throughput, p50/p95/p99 latency, the server's CPU time per request and the load
generator's own CPU share for each server and concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
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


def _wait(url: str, proc: subprocess.Popen, log: Path, limit: float = 300.0, started: float | None = None) -> float:
    """Seconds from ``started`` (default: now) until ``url`` answers 200."""
    import httpx

    started = time.perf_counter() if started is None else started
    while time.perf_counter() - started < limit:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{url} not up after {limit:.0f} s:\n{log.read_text()[-3000:]}")


def prepare(workdir: Path, n_accounts: int, seed: int, data: Path | None = None) -> tuple[Path, str]:
    """(data directory, model URI): generated (unless ``data`` is given) and trained once, reused on later runs."""
    from features.loading import load_dataset
    from features.sample_data import DEFAULT_AS_OF, generate
    from models.registry import configure_tracking, resolve_model_uri
    from models.tracking import train_and_log

    given = data is not None
    data = data or workdir / "data"
    if not given and not (data / "accounts.csv").exists():
        t = time.perf_counter()
        generate(data, n_accounts=n_accounts, seed=seed, truth_path=workdir / "truth.parquet")
        print(f"generated {n_accounts:,} accounts in {time.perf_counter() - t:.1f} s", flush=True)
    configure_tracking()
    try:
        uri, _version = resolve_model_uri(None)
    except LookupError:
        t = time.perf_counter()
        dataset = load_dataset(data)
        run = train_and_log(dataset, dataset.default_as_of() if given else pd.Timestamp(DEFAULT_AS_OF))
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
    # Only the sampled accounts' rows: an account's snapshot rows come from its own history.
    tables = {name: getattr(data_before, name).loc[lambda t: t["account_id"].astype(str).isin(accounts)]
              for name in ("accounts", "orders", "touches", "web_events")}
    snap = build_snapshot(replace(data_before, **tables), as_of, pipeline.specs, categories)
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


def batch_scores(data: Path, uri: str, path: Path, env: dict[str, str], candidates: int = 20) -> float | None:
    """Make sure ``path`` holds the batch scores of ``uri`` over ``data`` as the service would
    score them (``symbiose recommend --top-k candidates`` with the service's explain depth and
    rep's-day look-ahead); seconds the command took, None when the file was still valid."""
    from features.loading import load_dataset
    from models.recommend import load_model
    from serving.scores import ScoresError, data_fingerprint, read_scores_meta, scores_mismatches
    from serving.settings import Settings

    served = Settings()
    try:
        meta = read_scores_meta(path)
        _pipeline, version = load_model(uri)
        if meta.later_days == served.rep_day_days and not scores_mismatches(
                meta, model_version=version, as_of=load_dataset(data).default_as_of(),
                fingerprint=data_fingerprint(data), candidates=candidates, explore=0.0, explore_seed=None):
            return None
    except ScoresError:
        pass
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "serving.cli", "recommend", "--data", str(data), "--model", uri,
                    "--top-k", str(candidates), "--explain-depth", str(served.explain_depth),
                    "--later-days", str(served.rep_day_days), "--out", str(path)], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


WRK_SCRIPT = Path(__file__).with_name("wrk_suggestions.lua")


def measure_wrk(base: str, token: str, accounts: Path, concurrency: int, seconds: float, pid: int,
                run: int = 1, server: str = "symbiose serve") -> dict[str, object]:
    """One ``wrk`` run of ``seconds`` against our suggestions endpoint (after a 2-second warm-up
    run); the row of the results table, as :func:`measure` gives it."""
    env = {**os.environ, "SYMBIOSE_WRK_TOKEN": token, "SYMBIOSE_WRK_ACCOUNTS": str(accounts)}

    def wrk(clients: int, duration: float) -> dict[str, float]:
        command = ["wrk", "-t", "1", "-c", str(clients), "-d", f"{duration:g}s", "--timeout", "30s",
                   "-s", str(WRK_SCRIPT), base]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        raise SystemExit(f"wrk printed no RESULT line:\n{done.stdout}\n{done.stderr}")

    wrk(min(concurrency, 8), 2)
    cpu_before, child_before = _cpu_seconds(pid), _children_cpu_seconds()
    got = wrk(concurrency, seconds)
    cpu, client = _cpu_seconds(pid) - cpu_before, _children_cpu_seconds() - child_before
    wall, answered = float(got["seconds"]), int(got["requests"]) - int(got["errors"])
    return {"server": server, "run": run, "clients": concurrency, "requests": answered,
            "errors": int(got["errors"]), "throughput_rps": answered / wall, "p50_ms": got["p50_ms"],
            "p95_ms": got["p95_ms"], "p99_ms": got["p99_ms"], "max_ms": got["max_ms"],
            "server_cpu_ms": 1000 * cpu / max(answered, 1), "server_cpu_pct": 100 * cpu / wall,
            "client_cpu_pct": 100 * client / wall, "load_avg_1m": os.getloadavg()[0]}


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu_seconds() -> float:
    usage = os.times()
    return usage.user + usage.system


def measure(name: str, requests: list, base: str, headers: dict[str, str], concurrency: int,
            time_limit: float, pid: int, warmup: int = 100, run: int = 1) -> dict[str, object]:
    """Warm up, then one bounded run; the row of the results table. ``server_cpu_ms`` is the
    server's CPU time per answered request, which the machine's other load does not inflate;
    ``client_cpu_pct`` the load generator's CPU time over the run's wall time (100 = one core)."""
    asyncio.run(_drive(requests[:warmup], base, headers, min(concurrency, 8), time_limit))
    cpu_before, own_before = _cpu_seconds(pid), _own_cpu_seconds()
    lat, errors, wall = asyncio.run(_drive(requests, base, headers, concurrency, time_limit))
    cpu, own = _cpu_seconds(pid) - cpu_before, _own_cpu_seconds() - own_before
    if not len(lat):
        return {"server": name, "run": run, "clients": concurrency, "requests": 0, "errors": errors}
    return {"server": name, "run": run, "clients": concurrency, "requests": len(lat), "errors": errors,
            "throughput_rps": len(lat) / wall, "p50_ms": float(np.percentile(lat, 50)),
            "p95_ms": float(np.percentile(lat, 95)), "p99_ms": float(np.percentile(lat, 99)),
            "max_ms": float(lat.max()), "server_cpu_ms": 1000 * cpu / len(lat),
            "server_cpu_pct": 100 * cpu / wall, "client_cpu_pct": 100 * own / wall,
            "load_avg_1m": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (reused: data and model)")
    parser.add_argument("--data", type=Path, default=None, help="existing data directory (default: generated)")
    parser.add_argument("--scores", action=argparse.BooleanOptionalAction, default=True,
                        help="start from `symbiose recommend` batch scores (default) or score at start")
    parser.add_argument("--requests", type=int, default=4000, help="requests per run (our service)")
    parser.add_argument("--mlflow-requests", type=int, default=1500, help="requests per run (mlflow)")
    parser.add_argument("--mlflow", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure `mlflow models serve` (one run per client count)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run at most")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--repeat", type=int, default=3, help="runs per client count (our service)")
    parser.add_argument("--client", choices=("wrk", "aiohttp"), default="wrk",
                        help="load generator for our service: wrk (default; `make wrk`) or aiohttp in this process")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per wrk run")
    parser.add_argument("--floor", action="store_true",
                        help="first measure bare uvicorn with a constant app (benchmarks/constant_app.py), "
                             "the same wrk runs")
    args = parser.parse_args()
    if args.client == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make wrk` (Debian package wrk), or pass --client aiohttp")

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="symbiose-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    os.environ["SYMBIOSE_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    data, uri = prepare(workdir, args.accounts, args.seed, args.data)

    from models.registry import configure_tracking
    from serving.store.db import Database
    from serving.store.users import add_user

    tracking = configure_tracking()
    # A fresh service database per start: the decision log grows by every answered request, and
    # commits into a log of millions of rows cost more, so runs of different starts would differ.
    for leftover in workdir.glob("service.db*"):
        leftover.unlink()
    db_url = f"sqlite:///{workdir / 'service.db'}"
    with Database.open(db_url)() as session:
        _user, token = add_user(session, name=f"load-{time.time_ns()}", role="admin")
    env = {**os.environ, "SYMBIOSE_HOME": str(home), "SYMBIOSE_DATABASE_URL": db_url,
           "MLFLOW_TRACKING_URI": tracking, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT)}
    serve = [sys.executable, "-m", "serving.cli", "serve", "--data", str(data), "--model", uri]
    if args.scores:
        scores = workdir / "scores.parquet"
        took = batch_scores(data, uri, scores, env)
        print(f"batch scores {scores}: " + ("reused" if took is None else f"written in {took:.1f} s"), flush=True)
        serve += ["--scores", str(scores)]
    ours_port, mlflow_port = _free_port(), _free_port()
    ours_log, mlflow_log = workdir / "service.log", workdir / "mlflow.log"
    started = time.perf_counter()
    ours = subprocess.Popen([*serve, "--port", str(ours_port)], cwd=ROOT, env=env, stdout=ours_log.open("wb"),
                            stderr=subprocess.STDOUT)
    mlflow_proc: subprocess.Popen | None = None
    rows = []
    try:
        start_ours = _wait(f"http://127.0.0.1:{ours_port}/health", ours, ours_log, started=started)
        print(f"service up in {start_ours:.1f} s from process start ({args.accounts:,} accounts; "
              f"{'batch scores' if args.scores else 'scored at start'}):", flush=True)
        print(ours_log.read_text(errors="replace").strip()[-2000:], flush=True)
        if args.mlflow:
            mlflow_proc = subprocess.Popen(
                [str(BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local",
                 "-p", str(mlflow_port), "-h", "127.0.0.1", "--workers", "1"],
                cwd=workdir, env=env, stdout=mlflow_log.open("wb"), stderr=subprocess.STDOUT)
            start_mlflow = _wait(f"http://127.0.0.1:{mlflow_port}/ping", mlflow_proc, mlflow_log)
            print(f"mlflow serve up in {start_mlflow:.1f} s", flush=True)
        from features.loading import load_dataset

        account_ids = load_dataset(data).accounts["account_id"].astype(str).to_numpy()
        rng = np.random.default_rng(args.seed)
        ours_requests = [("GET", f"/v1/accounts/{a}/suggestions?k=3", None)
                         for a in rng.choice(account_ids, size=args.requests)]
        mlflow_requests: list = []
        if mlflow_proc is not None:
            sample = rng.choice(account_ids, size=min(300, len(account_ids)), replace=False).tolist()
            bodies = mlflow_payloads(data, uri, sample)
            _probe(bodies[0], mlflow_port)
            mlflow_requests = [("POST", "/invocations", bodies[i % len(bodies)])
                               for i in range(args.mlflow_requests)]
        auth = {"Authorization": f"Bearer {token}"}
        id_file = workdir / "account_ids.txt"
        id_file.write_text("\n".join(account_ids.tolist()) + "\n")
        if args.floor:
            if args.client != "wrk":
                raise SystemExit("--floor: measured with wrk only, got --client aiohttp")
            rows += measure_floor(workdir, token, id_file, args.clients, args.repeat, args.seconds, env)
        for clients in args.clients:
            for run in range(1, args.repeat + 1):
                if args.client == "wrk":
                    rows.append(measure_wrk(f"http://127.0.0.1:{ours_port}", token, id_file, clients,
                                            args.seconds, ours.pid, run=run))
                else:
                    rows.append(measure("symbiose serve", ours_requests, f"http://127.0.0.1:{ours_port}", auth,
                                        clients, args.time_limit, ours.pid, run=run))
                print(rows[-1], flush=True)
            if mlflow_proc is not None:
                rows.append(measure("mlflow models serve", mlflow_requests, f"http://127.0.0.1:{mlflow_port}",
                                    {}, clients, args.time_limit, mlflow_proc.pid))
                print(rows[-1], flush=True)
    finally:
        procs = [p for p in (ours, mlflow_proc) if p is not None]
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    table = pd.DataFrame(rows)
    print()
    print(f"start-up {start_ours:.1f} s")
    print(table_text(table, floatfmt=".1f"))


def measure_floor(workdir: Path, token: str, accounts: Path, clients: list[int], repeat: int, seconds: float,
                  env: dict[str, str]) -> list[dict[str, object]]:
    """The same ``wrk`` runs against bare uvicorn serving a constant answer (started, measured,
    stopped before our service is measured)."""
    port, log = _free_port(), workdir / "constant_app.log"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("constant_app.py")), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    rows = []
    try:
        _wait(f"http://127.0.0.1:{port}/health", proc, log)
        for count in clients:
            for run in range(1, repeat + 1):
                rows.append(measure_wrk(f"http://127.0.0.1:{port}", token, accounts, count, seconds, proc.pid,
                                        run=run, server="bare uvicorn, constant app"))
                print(rows[-1], flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return rows


def _probe(body: bytes, port: int) -> None:
    """Say so when mlflow rejects the snapshot rows (the benchmark would only count errors)."""
    url = f"http://127.0.0.1:{port}/invocations"
    probe = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                            "Content-Type: application/json", "--data-binary", "@-", url], input=body,
                           capture_output=True)
    if probe.stdout.decode() != "200":
        detail = subprocess.run(["curl", "-s", "-H", "Content-Type: application/json", "--data-binary", "@-", url],
                                input=body, capture_output=True).stdout.decode()[:2000]
        print(f"mlflow /invocations rejected the snapshot rows: {detail}", flush=True)


if __name__ == "__main__":
    main()
