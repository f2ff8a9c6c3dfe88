"""Durability: feedback acknowledged with 201 survives a SIGKILL of the server, stored exactly once.

A real server (``symbiose serve`` in a subprocess, loopback, free port) takes 2,000 feedback POSTs
from 16 concurrent clients; it is killed with SIGKILL mid-run and restarted on the same database;
clients then retry what was not acknowledged with the same ``Idempotency-Key``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from serving.store.db import Database
from serving.store.tables import Feedback
from serving.store.users import add_user

ROOT = Path(__file__).resolve().parents[2]
N_FEEDBACK = 2000
CLIENTS = 16
KILL_AFTER = 600
STATUSES = ("accepted", "dismissed", "done")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(data: Path, model: str, db_url: str, home: Path, port: int, log: Path,
           limit: float = 60.0) -> subprocess.Popen:
    env = {**os.environ, "SYMBIOSE_HOME": str(home), "SYMBIOSE_DATABASE_URL": db_url,
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "serving.cli", "serve", "--data", str(data), "--model", model,
                             "--port", str(port)], cwd=ROOT, env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start within {limit:g} s: {log.read_text()[-2000:]}")


@pytest.mark.slow
def test_acknowledged_feedback_survives_sigkill_exactly_once(tmp_path, small_data_dir, trained_run,
                                                             symbiose_home) -> None:
    db_url = f"sqlite:///{tmp_path / 'durable.db'}"
    sessions = Database.open(db_url)
    with sessions() as s:
        _user, token = add_user(s, name="loader", role="admin")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    log = tmp_path / "server.log"
    server = _start(small_data_dir, trained_run.model_uri, db_url, symbiose_home, port, log)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            sids = []
            for i in range(60):
                got = client.get(f"/v1/accounts/A{i + 1:06d}/suggestions?k=10")
                assert got.status_code == 200, got.text
                sids += [s["suggestion_id"] for s in got.json()["suggestions"]]
        items = [(f"durability-{i}", sids[i % len(sids)], STATUSES[i % 3]) for i in range(N_FEEDBACK)]
        acked: dict[str, int] = {}
        lock = threading.Lock()
        killed = threading.Event()

        def post(item: tuple[str, str, str], client: httpx.Client) -> None:
            key, sid, status = item
            try:
                resp = client.post("/v1/feedback", json={"suggestion_id": sid, "status": status},
                                   headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                return  # no answer: not acknowledged, the client will retry
            if resp.status_code == 201:
                with lock:
                    assert acked.setdefault(key, resp.json()["id"]) == resp.json()["id"]
                    if len(acked) >= KILL_AFTER and not killed.is_set():
                        killed.set()
                        os.kill(server.pid, signal.SIGKILL)
            else:
                raise AssertionError(f"{key}: {resp.status_code} {resp.text}")

        def run(batch: list[tuple[str, str, str]]) -> None:
            local = threading.local()

            def worker(item: tuple[str, str, str]) -> None:
                if not hasattr(local, "client"):
                    local.client = httpx.Client(base_url=base, headers=headers, timeout=10)
                post(item, local.client)

            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(worker, batch))

        started = time.monotonic()
        run(items)
        assert killed.is_set(), "the server was never killed"
        server.wait(timeout=10)
        assert server.returncode == -signal.SIGKILL
        first_round = dict(acked)
        assert KILL_AFTER <= len(first_round) < N_FEEDBACK

        server = _start(small_data_dir, trained_run.model_uri, db_url, symbiose_home, port, log)
        # Retry everything with the same keys: acknowledged ones must replay, not duplicate.
        run(items)
        assert len(acked) == N_FEEDBACK
        elapsed = time.monotonic() - started
    finally:
        server.kill()
        server.wait(timeout=10)

    with sessions() as s:
        rows = s.execute(select(Feedback.idempotency_key, Feedback.id)).all()
        per_key = dict(s.execute(select(Feedback.idempotency_key, func.count()).group_by(Feedback.idempotency_key)).all())
    sessions.close()
    stored = dict(rows)
    assert len(rows) == N_FEEDBACK and set(per_key.values()) == {1}
    # Every 201 from before the kill is stored, with the id the client was given.
    assert all(stored[key] == fid for key, fid in first_round.items())
    assert all(stored[key] == fid for key, fid in acked.items())
    assert elapsed < 60
