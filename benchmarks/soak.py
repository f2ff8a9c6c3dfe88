"""Soak test: a long day of mixed traffic against a real ``symbiose serve``, with promotions and a rollback.

    python benchmarks/soak.py --dir WORKDIR [--minutes 10] [--db sqlite|postgres] [--accounts 3000]
                              [--clients 16] [--rate 30]

Prepares a world once per work directory (``symbiose generate``, then ``symbiose train`` once per
learner in ``--learners``, each a registered version; reused on later runs), creates an empty
feedback database (a SQLite file, or a PostgreSQL schema created for the run and dropped after),
users for an admin and one rep per client, and starts ``symbiose serve`` following the champion
(hot reload, ``serving.model_watch``). Then, for ``--minutes``:

* API clients read suggestions (``GET /v1/accounts/{id}/suggestions``, ``/v1/reps/{id}/suggestions``,
  ``/v1/model``) and post feedback (``POST /v1/feedback`` with an ``Idempotency-Key``) on what they
  were shown; a few ask for an account outside their scope and expect the 404;
* web clients sign in on ``/ui/login`` and view pages (my accounts, an account, the scoreboard) and
  send feedback from the account page (``POST /ui/feedback`` with the page's CSRF token);
* the champion moves three times: ``symbiose promote --force`` of the second version, of the third,
  then ``symbiose rollback`` (back to the second).

Checked and printed as a results table with a verdict (exit code 1 when a criterion fails):

* no failed request: any answer other than 2xx/3xx that the request did not expect, or no answer;
* memory flat: the server's mean RSS over the last window within 10 % of the second window's;
* p99 steady: no window's p99 latency above 3 times the median window's p99;
* feedback stored: every feedback answered 2xx is in the database exactly once, with its status
  (API: by idempotency key and id; pages: as many rows per suggestion and status as acknowledged),
  and nothing else is;
* model follows: ``/health`` names the versions in the order the champion took them, and the
  server logged no failed reload.

A window is ``--window-seconds`` long (default a minute). Beside the clients' latencies, each window
shows the p99 of the durations the server logged for the same requests (its access lines, joined by
``X-Request-ID``) and the longest delay of the load generator's own event loop, so that a slow
window can be told apart: the service, or the process measuring it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import table_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STATUSES = ("accepted", "dismissed", "done")
DISMISS_REASONS = ("not_relevant", "already_in_contact", "customer_declined", "wrong_timing", "other")
HIDDEN = re.compile(r'name="(csrf_token|suggestion_id)" value="([^"]+)"')
ACCOUNT_LINK = re.compile(r'href="/ui/accounts/([^"?#]+)"')
#: Criteria thresholds (see the module docstring).
MEMORY_TOLERANCE = 0.10
P99_FACTOR = 3.0


@dataclass(frozen=True)
class SoakPlan:
    """How long, how hard, and when the champion moves (fractions of the run)."""

    seconds: float
    clients: int = 16
    rate: float = 30.0
    window_seconds: float = 60.0
    events: tuple[tuple[float, str, int | None], ...] = ()
    poll_seconds: float = 2.0
    promote_with: str = "cli"
    """"cli": ``symbiose promote --force`` and ``symbiose rollback``; "api": the registry functions
    they end with (``make_champion``, ``rollback_champion``), without the evaluation"""
    seed: int = 0


@dataclass
class Outcome:
    """What the load generator saw."""

    requests: list[tuple[float, str, int, float, bool, str, str]] = field(default_factory=list)
    """(start second, kind, status (0 = no answer), latency ms, failed, detail, the server's
    request id (``X-Request-ID``; "" without an answer))"""
    api_feedback: dict[str, tuple[int, str]] = field(default_factory=dict)
    """idempotency key -> (feedback id, status) of every acknowledged API feedback"""
    web_feedback: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(suggestion id, status) -> acknowledged page feedback"""
    versions: list[tuple[float, str]] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    lags: list[tuple[float, float]] = field(default_factory=list)
    """(second, ms): how late the load generator's own event loop woke from a 10 ms sleep"""
    seconds: float = 0.0
    """how long the run lasted"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line")


def cli(*args: str, env: dict[str, str], log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``symbiose ARGS`` (this interpreter's) and fail with its output when it fails."""
    done = subprocess.run([sys.executable, "-m", "serving.cli", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True)
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"$ symbiose {' '.join(args)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise RuntimeError(f"symbiose {' '.join(args)} exited with {done.returncode}:\n"
                           f"{(done.stdout + done.stderr)[-3000:]}")
    return done


def registry_env(home: Path) -> dict[str, str]:
    """The environment of CLI commands and the server using the registry under ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    return {**env, "SYMBIOSE_HOME": str(home), "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}


def prepare_world(workdir: Path, accounts: int, seed: int, learners: list[str]) -> tuple[Path, list[int]]:
    """(data directory, registered versions): generated and trained once, reused later."""
    from models.registry import MODEL_NAME, configure_tracking

    data, home = workdir / "data", workdir / "home"
    env = registry_env(home)
    log = workdir / "prepare.log"
    if not (data / "accounts.csv").exists():
        started = time.perf_counter()
        cli("generate", "--out", str(data), "--accounts", str(accounts), "--seed", str(seed), env=env, log=log)
        print(f"generated {accounts:,} accounts in {time.perf_counter() - started:.0f} s", flush=True)
    os.environ["SYMBIOSE_HOME"] = str(home)
    configure_tracking()
    from mlflow.tracking import MlflowClient

    def registered() -> list[int]:
        try:
            return sorted(int(v.version) for v in MlflowClient().search_model_versions(f"name='{MODEL_NAME}'"))
        except Exception:
            return []

    for learner in learners[len(registered()):]:
        started = time.perf_counter()
        cli("train", "--data", str(data), "--learner", learner, env=env, log=log)
        print(f"trained version {registered()[-1]} (learner {learner}) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    return data, registered()


@contextlib.contextmanager
def fresh_database(db: str, workdir: Path, postgres_url: str) -> Iterator[str]:
    """An empty feedback database: a new SQLite file, or a new PostgreSQL schema dropped after."""
    if db == "sqlite":
        path = workdir / f"soak-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink()
        return
    if db != "postgres":
        raise ValueError(f"db: expected 'sqlite' or 'postgres', got {db!r}")
    from sqlalchemy import create_engine, text

    schema = f"symbiose_soak_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass(frozen=True)
class Client:
    """One simulated user: a bearer token (API) or a signed-in browser (pages)."""

    name: str
    web: bool
    token: str
    accounts: tuple[str, ...]
    rep_id: str | None
    foreign: tuple[str, ...]
    """accounts this user may not see (their pages and suggestions answer 404)"""


def make_clients(db_url: str, accounts: pd.DataFrame, n: int, seed: int) -> list[Client]:
    """An admin API client, then reps (half API, half pages), each with their own accounts."""
    from serving.store.db import Database
    from serving.store.users import add_user

    rng = random.Random(seed)
    owned = accounts.dropna(subset=["rep_id"]).groupby("rep_id")["account_id"].apply(
        lambda ids: tuple(map(str, ids)))
    reps = sorted(owned.index, key=lambda rep: -len(owned[rep]))
    all_ids = tuple(accounts["account_id"].astype(str))
    database = Database.open(db_url)
    clients = []
    try:
        with database() as session:
            _user, token = add_user(session, name="soak-admin", role="admin")
            clients.append(Client("admin", False, token, all_ids, None, ()))
            for i in range(1, n):
                rep = str(reps[(i - 1) % len(reps)])
                _user, token = add_user(session, name=f"soak-rep-{i}", role="rep", rep_id=rep)
                other = str(reps[i % len(reps)])
                clients.append(Client(f"rep-{i}", i % 2 == 1, token, owned[rep], rep,
                                      tuple(rng.sample(owned[other], min(5, len(owned[other]))))
                                      if other != rep else ()))
    finally:
        database.close()
    return clients


class Traffic:
    """The load generator: clients paced to ``plan.rate`` requests per second in total."""

    def __init__(self, base: str, plan: SoakPlan, clients: list[Client], outcome: Outcome, data: Path) -> None:
        self.base = base
        self.data = data
        self.plan = plan
        self.clients = clients
        self.outcome = outcome
        self.started = 0.0
        self.deadline = 0.0

    def now(self) -> float:
        return time.monotonic() - self.started

    async def request(self, http: Any, kind: str, method: str, path: str, *, expect: tuple[int, ...] = (),
                      **kwargs: Any) -> Any:
        """Send one request and record it; the response, or None when there was no answer."""
        import httpx

        start = self.now()
        t0 = time.perf_counter()
        try:
            response = await http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.outcome.requests.append((start, kind, 0, (time.perf_counter() - t0) * 1000, True,
                                          f"{type(exc).__name__}: {exc}", ""))
            return None
        latency = (time.perf_counter() - t0) * 1000
        signed_out = response.headers.get("location", "").startswith("/ui/login")  # a lost web session
        failed = signed_out or not (200 <= response.status_code < 400 or response.status_code in expect)
        detail = f"{method} {path} -> {response.status_code} {response.text[:200]}" if failed else ""
        self.outcome.requests.append((start, kind, response.status_code, latency, failed, detail,
                                      response.headers.get("x-request-id", "")))
        return response

    async def run_client(self, client: Client, index: int) -> None:
        import httpx

        rng = random.Random(self.plan.seed * 1000 + index)
        interval = self.plan.clients / self.plan.rate
        headers = {} if client.web else {"Authorization": f"Bearer {client.token}"}
        async with httpx.AsyncClient(base_url=self.base, headers=headers, timeout=30,
                                     follow_redirects=False) as http:
            csrf = ""  # a web client's comes with its first account page
            if client.web:
                await self.sign_in(http, client)
            shown: list[str] = []
            next_at = self.now() + rng.uniform(0, interval)
            while True:
                await asyncio.sleep(max(0.0, next_at - self.now()))
                if self.now() >= self.deadline:
                    return
                next_at = max(next_at + interval, self.now())
                if client.web:
                    csrf = await self.web_step(http, client, rng, shown, csrf)
                else:
                    await self.api_step(http, client, rng, shown)

    async def sign_in(self, http: Any, client: Client) -> None:
        """Sign in through the form, as a browser does (the session cookie stays in ``http``)."""
        form = await self.request(http, "web_login", "GET", "/ui/login")
        token = dict(HIDDEN.findall(form.text)).get("csrf_token", "") if form is not None else ""
        await self.request(http, "web_login", "POST", "/ui/login",
                           data={"token": client.token, "csrf_token": token})

    async def api_step(self, http: Any, client: Client, rng: random.Random, shown: list[str]) -> None:
        draw = rng.random()
        if draw < 0.25 and shown:
            sid = shown.pop(rng.randrange(len(shown)))
            status = rng.choice(STATUSES)
            key = f"soak-{uuid.uuid4().hex}"
            body: dict[str, str] = {"suggestion_id": sid, "status": status}
            if status == "dismissed":
                body["reason"] = rng.choice(DISMISS_REASONS)
            got = await self.request(http, "api_feedback", "POST", "/v1/feedback", json=body,
                                     headers={"Idempotency-Key": key})
            if got is not None and got.status_code == 201:
                self.outcome.api_feedback[key] = (int(got.json()["id"]), status)
        elif draw < 0.28 and client.foreign:
            await self.request(http, "api_foreign", "GET",
                               f"/v1/accounts/{rng.choice(client.foreign)}/suggestions?k=3", expect=(404,))
        elif draw < 0.33 and client.rep_id:
            await self.request(http, "api_rep", "GET", f"/v1/reps/{client.rep_id}/suggestions?k=2&limit=20")
        elif draw < 0.36:
            await self.request(http, "api_model", "GET", "/v1/model")
        else:
            got = await self.request(http, "api_read", "GET",
                                     f"/v1/accounts/{rng.choice(client.accounts)}/suggestions?k=3")
            if got is not None and got.status_code == 200:
                shown.extend(s["suggestion_id"] for s in got.json()["suggestions"] if s["channel"] != "none")
                del shown[:-30]

    async def web_step(self, http: Any, client: Client, rng: random.Random, shown: list[str], csrf: str) -> str:
        draw = rng.random()
        if draw < 0.25 and shown and csrf:
            sid = shown.pop(rng.randrange(len(shown)))
            status = rng.choice(STATUSES)
            action = f"dismissed:{rng.choice(DISMISS_REASONS)}" if status == "dismissed" else status
            htmx = rng.random() < 0.5
            got = await self.request(http, "web_feedback", "POST", "/ui/feedback",
                                     data={"suggestion_id": sid, "action": action, "csrf_token": csrf},
                                     headers={"HX-Request": "true"} if htmx else None)
            if got is not None and got.status_code in (200, 303):
                self.outcome.web_feedback[(sid, status)] += 1
        elif draw < 0.28 and client.foreign:
            await self.request(http, "web_foreign", "GET", f"/ui/accounts/{rng.choice(client.foreign)}",
                               expect=(404,))
        elif draw < 0.36:
            await self.request(http, "web_scoreboard", "GET", "/ui/scoreboard")
        elif draw < 0.55:
            await self.request(http, "web_listing", "GET", "/ui/")
        else:
            got = await self.request(http, "web_account", "GET", f"/ui/accounts/{rng.choice(client.accounts)}")
            if got is not None and got.status_code == 200:
                fields = HIDDEN.findall(got.text)
                csrf = next((value for name, value in fields if name == "csrf_token"), csrf)
                shown.extend(value for name, value in fields if name == "suggestion_id")
                del shown[:-30]
        return csrf

    async def watch(self, pid: int) -> None:
        """Every half second: the served version (``/health``); every second: RSS and load."""
        import httpx

        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            tick = 0
            while self.now() < self.deadline:
                try:
                    got = await http.get("/health")
                    self.outcome.versions.append((self.now(), got.json()["model_version"]))
                except (httpx.HTTPError, ValueError, KeyError):
                    self.outcome.versions.append((self.now(), "?"))
                if tick % 2 == 0:
                    self.outcome.rss.append((self.now(), rss_mib(pid)))
                    self.outcome.load.append(os.getloadavg()[0])
                tick += 1
                await asyncio.sleep(0.5)

    async def watch_lag(self) -> None:
        """Every 10 ms: how late this process's event loop wakes (its own stalls delay every
        answer it is waiting for, and show in the clients' latencies as if the server were slow)."""
        while self.now() < self.deadline:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.outcome.lags.append((self.now(), (time.perf_counter() - before - 0.01) * 1000))

    async def move_champion(self, env: dict[str, str], log: Path, expected: list[str]) -> None:
        """At each planned fraction of the run: promote a version (forced) or roll back, with the
        commands (``symbiose promote``/``rollback``) or the registry functions they end with; then
        wait until ``/health`` names the new champion before the next move (a move made before the
        service followed the previous one could undo it unseen)."""
        from models.registry import (
            CHALLENGER,
            make_champion,
            rollback_champion,
            set_alias,
            version_label,
        )

        last_fraction = 0.0
        for (fraction, action, version), wanted in zip(self.plan.events, expected[1:], strict=True):
            await asyncio.sleep(max(0.0, fraction * self.plan.seconds - self.now()))
            started = self.now()
            self.deadline = max(self.deadline, started + 2 * self.plan.seconds)  # open until it is served
            if self.plan.promote_with == "api" and action == "promote":
                await asyncio.to_thread(make_champion, version, {"promotion": "soak"})
            elif self.plan.promote_with == "api":
                await asyncio.to_thread(rollback_champion)
            else:
                args = ["rollback"]
                if action == "promote":
                    assert version is not None
                    await asyncio.to_thread(set_alias, CHALLENGER, version)
                    args = ["promote", "--data", str(self.data), "--force",
                            "--reason", f"soak: scheduled promotion of {version_label(version)}"]
                await asyncio.to_thread(cli, *args, env=env, log=log)
            done = self.now()
            served = await self.until_served(wanted)
            self.outcome.events.append({"action": action, "version": version, "at_s": started, "done_s": done,
                                        "served_s": served})
            if served is None:
                self.deadline = min(self.deadline, max(self.plan.seconds, self.now()))
                return
            last_fraction = fraction
        # The run lasts the planned time, or longer when the moves came late: then as long after
        # the last move as planned (the last windows must show the service settled).
        tail = (1 - last_fraction) * self.plan.seconds
        self.deadline = max(self.plan.seconds, (self.outcome.events[-1]["served_s"] if self.outcome.events else 0) + tail)

    async def until_served(self, version: str) -> float | None:
        """Second of the run at which ``/health`` named ``version`` (the run is held open meanwhile,
        up to ``plan.seconds`` more); None when it never did."""
        limit = self.now() + self.plan.seconds
        while self.now() < limit:
            if self.outcome.versions and self.outcome.versions[-1][1] == version:
                return self.outcome.versions[-1][0]
            await asyncio.sleep(0.2)
        return None

    async def run(self, pid: int, env: dict[str, str], log: Path, expected: list[str]) -> float:
        """Drive the run; its length in seconds."""
        self.started = time.monotonic()
        self.deadline = self.plan.seconds
        tasks = [self.run_client(c, i) for i, c in enumerate(self.clients)]
        await asyncio.gather(self.watch(pid), self.watch_lag(), self.move_champion(env, log, expected), *tasks)
        return self.now()


def start_server(data: Path, env: dict[str, str], port: int, log: Path, limit: float = 600.0) -> subprocess.Popen[bytes]:
    """``symbiose serve`` following the champion; returns once ``/health`` answers 200."""
    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "serving.cli", "serve", "--data", str(data), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server not up after {limit:.0f} s:\n{log.read_text()[-3000:]}")


def stored_feedback(db_url: str) -> pd.DataFrame:
    """Every stored feedback row: id, idempotency key, suggestion id and status."""
    from sqlalchemy import select

    from serving.store.db import Database
    from serving.store.tables import Feedback

    database = Database.open(db_url)
    try:
        with database() as session:
            rows = session.execute(select(Feedback.id, Feedback.idempotency_key, Feedback.suggestion_id,
                                          Feedback.status)).all()
    finally:
        database.close()
    return pd.DataFrame(rows, columns=["id", "idempotency_key", "suggestion_id", "status"])


def check_feedback(stored: pd.DataFrame, api: dict[str, tuple[int, str]],
                   web: Counter[tuple[str, str]]) -> dict[str, int]:
    """Acknowledged against stored feedback: counts of acknowledged, stored, missing, duplicated,
    wrong (other id or status) and unacknowledged rows; all of the last four must be 0."""
    keyed = stored.dropna(subset=["idempotency_key"])
    per_key = keyed.groupby("idempotency_key").size()
    missing = sum(1 for key in api if key not in per_key.index)
    duplicated = int((per_key[per_key.index.isin(list(api))] - 1).sum())
    first = keyed.drop_duplicates("idempotency_key").set_index("idempotency_key")
    wrong = sum(1 for key, (fid, status) in api.items()
                if key in first.index and (int(first.at[key, "id"]) != fid or first.at[key, "status"] != status))
    unkeyed = stored[stored["idempotency_key"].isna()]
    web_stored = Counter(zip(unkeyed["suggestion_id"], unkeyed["status"], strict=True))
    missing += sum((web - web_stored).values())
    extra = sum((web_stored - web).values()) + int(per_key[~per_key.index.isin(list(api))].sum())
    return {"acknowledged": len(api) + sum(web.values()), "stored": len(stored), "missing": missing,
            "duplicated": duplicated, "wrong": wrong, "not_acknowledged": extra}


def version_sequence(versions: list[tuple[float, str]]) -> list[str]:
    """The served versions in the order seen, repeats collapsed."""
    sequence: list[str] = []
    for _t, version in versions:
        if version != "?" and (not sequence or sequence[-1] != version):
            sequence.append(version)
    return sequence


def server_durations(log_text: str) -> dict[str, float]:
    """request id -> the duration the server logged for it (ms), from its access lines."""
    durations = {}
    for line in log_text.splitlines():
        if '"event": "request"' not in line:
            continue
        try:
            fields = json.loads(line)
            durations[str(fields["request_id"])] = float(fields["duration_ms"])
        except (ValueError, KeyError, TypeError):
            continue
    return durations


def window_table(outcome: Outcome, plan: SoakPlan, durations: dict[str, float] | None = None) -> pd.DataFrame:
    """Per window: requests, failed, latency percentiles, mean RSS, served versions (a last
    window shorter than half a window is counted in the one before). With ``durations`` (the
    server's access lines, :func:`server_durations`), also the p99 of the time the server itself
    took for the same requests: where it stays low while the clients' p99 rises, the time went
    outside the service's request handling (the load generator, the network stack, the
    server's event loop before the request reached the app)."""
    n = max(1, round((outcome.seconds or plan.seconds) / plan.window_seconds))
    requests = pd.DataFrame(outcome.requests, columns=["t", "kind", "status", "ms", "failed", "detail", "request_id"])
    requests["server_ms"] = requests["request_id"].map(durations or {}).astype("float64")
    requests["window"] = (requests["t"] // plan.window_seconds).clip(upper=n - 1).astype(int)
    rss = pd.DataFrame(outcome.rss, columns=["t", "mib"])
    rss["window"] = (rss["t"] // plan.window_seconds).clip(upper=n - 1).astype(int)
    versions = pd.DataFrame(outcome.versions, columns=["t", "version"])
    versions["window"] = (versions["t"] // plan.window_seconds).clip(upper=n - 1).astype(int)
    lags = pd.DataFrame(outcome.lags, columns=["t", "ms"])
    lags["window"] = (lags["t"] // plan.window_seconds).clip(upper=n - 1).astype(int)
    rows = []
    for w in range(n):
        r = requests[requests["window"] == w]
        ms = r.loc[r["status"] > 0, "ms"].to_numpy()
        server_ms = r["server_ms"].dropna().to_numpy()
        served = version_sequence(list(versions.loc[versions["window"] == w, ["t", "version"]]
                                       .itertuples(index=False, name=None)))
        rows.append({"window": w + 1, "requests": len(r), "failed": int(r["failed"].sum()),
                     "feedback": int(r["kind"].isin(["api_feedback", "web_feedback"]).sum()),
                     "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
                     "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
                     "max_ms": float(ms.max()) if len(ms) else float("nan"),
                     "server_p99_ms": float(np.percentile(server_ms, 99)) if len(server_ms) else float("nan"),
                     "client_lag_max_ms": float(lags.loc[lags["window"] == w, "ms"].max()),
                     "rss_mib": float(rss.loc[rss["window"] == w, "mib"].mean()),
                     "served": " > ".join(v.rsplit("/", 1)[-1] for v in served)})
    return pd.DataFrame(rows).round({"p50_ms": 1, "p99_ms": 1, "max_ms": 1, "server_p99_ms": 1, "client_lag_max_ms": 1, "rss_mib": 1})


def verdict(table: pd.DataFrame, feedback: dict[str, int], served: list[str], expected: list[str],
            reload_errors: int) -> pd.DataFrame:
    """One row per criterion: what was measured, the threshold, pass or FAIL."""
    p99 = table["p99_ms"].dropna()
    median_p99 = float(p99.median()) if len(p99) else float("nan")
    second, last = (float(table["rss_mib"].iloc[1]), float(table["rss_mib"].iloc[-1])) if len(table) > 1 \
        else (float("nan"), float("nan"))
    change = last / second - 1
    lost = feedback["missing"] + feedback["duplicated"] + feedback["wrong"] + feedback["not_acknowledged"]
    rows = [
        ("failed requests", f"{int(table['failed'].sum())} of {int(table['requests'].sum())}", "0",
         int(table["failed"].sum()) == 0),
        ("memory flat", f"last window {last:.0f} MiB vs second {second:.0f} MiB ({change:+.1%})",
         f"within ±{MEMORY_TOLERANCE:.0%}", abs(change) <= MEMORY_TOLERANCE),
        ("p99 steady", f"max window p99 {p99.max():.0f} ms, median window p99 {median_p99:.0f} ms",
         f"max ≤ {P99_FACTOR:g} × median", bool(len(p99)) and p99.max() <= P99_FACTOR * median_p99),
        ("feedback stored exactly once",
         f"{feedback['acknowledged']} acknowledged, {feedback['stored']} stored; missing {feedback['missing']}, "
         f"duplicated {feedback['duplicated']}, wrong {feedback['wrong']}, unacknowledged "
         f"{feedback['not_acknowledged']}", "all 0, stored = acknowledged",
         lost == 0 and feedback["stored"] == feedback["acknowledged"] and feedback["acknowledged"] > 0),
        ("model follows the champion", f"served {' > '.join(served)}; failed reloads {reload_errors}",
         " > ".join(expected), served == expected and reload_errors == 0),
    ]
    return pd.DataFrame([{"criterion": c, "measured": m, "required": r, "verdict": "pass" if ok else "FAIL"}
                         for c, m, r, ok in rows])


@dataclass
class SoakResult:
    """The per-window table, the criteria with their verdicts, and what they were computed from."""

    windows: pd.DataFrame
    criteria: pd.DataFrame
    feedback: dict[str, int]
    served: list[str]
    expected: list[str]
    outcome: Outcome
    log: Path

    @property
    def passed(self) -> bool:
        return bool((self.criteria["verdict"] == "pass").all())


def plan_events(versions: list[int]) -> tuple[list[tuple[float, str, int | None]], list[int]]:
    """Champion moves for the registered ``versions`` and the served sequence they lead to:
    with three or more, promote the second at 20 %, the third at 45 %, roll back at 70 %; with
    two, promote the second at 20 % and roll back at 55 %."""
    if len(versions) >= 3:
        first, second, third = versions[:3]
        return [(0.20, "promote", second), (0.45, "promote", third), (0.70, "rollback", None)], \
            [first, second, third, second]
    if len(versions) == 2:
        first, second = versions
        return [(0.20, "promote", second), (0.55, "rollback", None)], [first, second, first]
    raise ValueError(f"registered versions: expected at least 2, got {versions}")


def run_soak(data: Path, home: Path, versions: list[int], db_url: str, plan: SoakPlan, workdir: Path) -> SoakResult:
    """Serve ``data`` following the champion of the registry in ``home`` (the current
    ``SYMBIOSE_HOME``; champion reset to the first of ``versions``), drive the traffic and champion
    moves of ``plan``, check the criteria."""
    from features.loading import load_dataset
    from models.registry import configure_tracking, make_champion, version_label

    if plan.promote_with not in ("cli", "api"):
        raise ValueError(f"promote_with: expected 'cli' or 'api', got {plan.promote_with!r}")
    events, expected = plan_events(versions)
    plan = replace(plan, events=tuple(events))
    wanted = [version_label(v) for v in expected]
    configure_tracking()
    make_champion(expected[0], {"promotion": "soak start"})
    accounts = load_dataset(data).accounts
    env = {**registry_env(home), "SYMBIOSE_DATABASE_URL": db_url,
           "SYMBIOSE_MODEL_POLL_SECONDS": f"{plan.poll_seconds:g}",
           "SYMBIOSE_SESSION_SECRET": uuid.uuid4().hex, "SYMBIOSE_FEEDBACK_REFRESH_SECONDS": "1"}
    from serving.store.db import Database

    Database.open(db_url).close()  # migrate before users are added
    clients = make_clients(db_url, accounts, plan.clients, plan.seed)
    log = workdir / f"server-{uuid.uuid4().hex[:6]}.log"
    port = free_port()
    server = start_server(data, env, port, log)
    outcome = Outcome()
    try:
        traffic = Traffic(f"http://127.0.0.1:{port}", plan, clients, outcome, data)
        outcome.seconds = asyncio.run(traffic.run(server.pid, env, log, wanted))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    text = log.read_text(errors="replace")
    reload_errors = text.count("champion check failed") + text.count("Traceback")
    feedback = check_feedback(stored_feedback(db_url), outcome.api_feedback, outcome.web_feedback)
    windows = window_table(outcome, plan, server_durations(text))
    served = version_sequence(outcome.versions)
    return SoakResult(windows, verdict(windows, feedback, served, wanted, reload_errors), feedback, served,
                      wanted, outcome, log)


def report(result: SoakResult, plan: SoakPlan, label: str) -> str:
    """The printed results: per-window table, champion moves, failures, criteria."""
    lines = [f"## {label}", "", table_text(result.windows, floatfmt=".0f"), ""]
    for event in result.outcome.events:
        lag = f"served {event['served_s'] - event['done_s']:.1f} s after" if event["served_s"] is not None \
            else "not served before the end"
        lines.append(f"- {event['action']} {event['version'] or ''} at {event['at_s']:.0f} s: the move took "
                     f"{event['done_s'] - event['at_s']:.1f} s, {lag}")
    failures = [r for r in result.outcome.requests if r[4]]
    for failure in failures[:10]:
        lines.append(f"- failed at {failure[0]:.1f} s: {failure[1]} {failure[5]}")
    load = result.outcome.load
    kinds = Counter(r[1] for r in result.outcome.requests)
    lines += ["", f"load average (1 min) during the run: mean {statistics.fmean(load):.1f}, max {max(load):.1f}"
              if load else "", "requests by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())), "",
              table_text(result.criteria), "", f"verdict: {'PASS' if result.passed else 'FAIL'}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="work directory (world reused across runs)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--window-seconds", type=float, default=60.0)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "SYMBIOSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--accounts", type=int, default=3000, help="accounts of the generated world")
    parser.add_argument("--clients", type=int, default=16, help="simulated users (an admin, then reps)")
    parser.add_argument("--rate", type=float, default=30.0, help="requests per second, all clients together")
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="SYMBIOSE_MODEL_POLL_SECONDS of the server")
    parser.add_argument("--promote-with", choices=("cli", "api"), default="cli",
                        help="move the champion with the commands (evaluating both models) or the registry API")
    parser.add_argument("--learners", nargs="+", default=["s", "t", "x"], help="one trained version each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.clients < 2 or args.rate <= 0 or args.minutes <= 0:
        parser.error(f"expected --clients >= 2, --rate > 0 and --minutes > 0, got {args.clients}, "
                     f"{args.rate}, {args.minutes}")
    args.dir.mkdir(parents=True, exist_ok=True)
    data, versions = prepare_world(args.dir, args.accounts, args.seed, args.learners)
    plan = SoakPlan(seconds=args.minutes * 60, clients=args.clients, rate=args.rate,
                    window_seconds=args.window_seconds, poll_seconds=args.poll_seconds,
                    promote_with=args.promote_with, seed=args.seed)
    with fresh_database(args.db, args.dir, args.postgres_url) as db_url:
        result = run_soak(data, args.dir / "home", versions, db_url, plan, args.dir)
    print(report(result, plan, f"{args.db}: {args.minutes:g} min, {args.clients} clients, {args.rate:g} req/s, "
                               f"{args.accounts:,} accounts"), flush=True)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
