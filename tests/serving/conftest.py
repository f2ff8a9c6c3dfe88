"""Serving fixtures: the small model's snapshot scored once, and fresh databases on SQLite and
PostgreSQL (the latter when ``SYMBIOSE_TEST_POSTGRES_URL`` is set; one schema per use, dropped after)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

POSTGRES_ENV = "SYMBIOSE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def serving_snapshot(small_dataset, trained_run):
    """The small data set scored once by the session's trained model (as the service does at start)."""
    from serving.snapshot import build_snapshot_state

    return build_snapshot_state(small_dataset, trained_run.result.pipeline, trained_run.model_version,
                                as_of=small_dataset.default_as_of())


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """A database URL with nothing in it: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'symbiose-{uuid.uuid4().hex[:8]}.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    schema = f"symbiose_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test, on each backend."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@dataclass
class Api:
    """A running app (in-process client), its runtime and one token per test user."""

    client: object
    runtime: object
    tokens: dict[str, str]
    scopes: dict[str, dict[str, str | None]]

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def two_reps_in_two_regions(snapshot) -> tuple[str, str, str, str]:
    """(rep A, rep B, region of A, another region) from the snapshot's owners."""
    import pandas as pd

    directory = snapshot.directory
    owners = pd.DataFrame({"rep": directory.rep_id, "region": directory.region}).dropna()
    counts = owners.groupby(["rep", "region"]).size().sort_values(ascending=False)
    rep_a, region_a = counts.index[0]
    other = counts[[r != region_a for _, r in counts.index]]
    rep_b, region_b = other.index[0]
    return str(rep_a), str(rep_b), str(region_a), str(region_b)


@contextmanager
def running_api(url: str, snapshot, **settings_kw: object) -> Iterator[Api]:
    """The app on ``url`` with users: two reps, two managers, marketing, admin, one revoked."""
    from fastapi.testclient import TestClient

    from serving.app import create_app
    from serving.runtime import open_runtime
    from serving.settings import Settings
    from serving.store.users import add_user, revoke_user

    runtime = open_runtime(Settings(database_url=url, **settings_kw), snapshot)
    rep_a, rep_b, region_a, region_b = two_reps_in_two_regions(snapshot)
    scopes = {
        "rep": {"role": "rep", "rep_id": rep_a, "region": None},
        "rep_other": {"role": "rep", "rep_id": rep_b, "region": None},
        "manager": {"role": "manager", "rep_id": None, "region": region_a},
        "manager_other": {"role": "manager", "rep_id": None, "region": region_b},
        "marketing": {"role": "marketing", "rep_id": None, "region": None},
        "admin": {"role": "admin", "rep_id": None, "region": None},
        "revoked": {"role": "admin", "rep_id": None, "region": None},
    }
    tokens = {}
    with runtime.sessions() as session:
        for name, scope in scopes.items():
            _user, tokens[name] = add_user(session, name=name, **scope)
        revoke_user(session, "revoked")
    app = create_app(runtime=runtime)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(client, runtime, tokens, scopes)
    finally:
        runtime.close()


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, serving_snapshot
        ) -> Iterator[Api]:
    """One app per test module and backend (tests pick distinct accounts where they write)."""
    with fresh_database(request.param, tmp_path_factory.mktemp("api")) as url, \
            running_api(url, serving_snapshot) as running:
        yield running
