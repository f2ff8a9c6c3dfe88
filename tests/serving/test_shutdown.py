"""A service stopped under load (SIGTERM) has logged every suggestion it answered with: no
decision-log row of an answered request is lost."""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from serving.store.db import Database
from serving.store.tables import Decision
from serving.store.users import add_user
from tests.serving.test_durability import _free_port, _start

CLIENTS = 16
STOP_AFTER = 300


@pytest.mark.slow
def test_every_answered_suggestion_is_logged_when_the_service_stops_under_load(
        tmp_path, small_data_dir, trained_run, symbiose_home) -> None:
    db_url = f"sqlite:///{tmp_path / 'shutdown.db'}"
    sessions = Database.open(db_url)
    with sessions() as s:
        _user, token = add_user(s, name="loader", role="admin")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(small_data_dir, trained_run.model_uri, db_url, symbiose_home, port, tmp_path / "server.log",
                    limit=180)
    answered: list[str] = []
    lock = threading.Lock()
    stopped = threading.Event()

    def client(worker: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
            i = worker
            while True:
                try:
                    got = http.get(f"/v1/accounts/A{i % 200 + 1:06d}/suggestions?k=3")
                except httpx.HTTPError:
                    return  # the server has stopped listening
                if got.status_code != 200:
                    assert stopped.is_set(), got.text
                    return
                with lock:
                    answered.extend(s["suggestion_id"] for s in got.json()["suggestions"])
                    if len(answered) >= 3 * STOP_AFTER and not stopped.is_set():
                        stopped.set()
                        server.send_signal(signal.SIGTERM)
                i += CLIENTS

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
        assert stopped.is_set()
        # uvicorn finishes the requests in flight, then exits by the signal it caught.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        server.kill()
        server.wait(timeout=10)
    with sessions() as s:
        logged = s.scalars(select(Decision.suggestion_id)).all()
    sessions.close()
    assert len(answered) >= 3 * STOP_AFTER
    missing = set(answered) - set(logged)
    assert not missing, f"{len(missing)} answered suggestions are not in the decision log"
    assert len(logged) >= len(answered), "one row per suggestion shown"
