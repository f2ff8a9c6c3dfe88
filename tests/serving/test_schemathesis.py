"""Property-based API tests from the OpenAPI schema: no request may produce a server error,
every answer must match the documented schema and status codes (bounded examples per operation)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from serving.app import create_api
from tests.serving.conftest import fresh_database, running_api

MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, serving_snapshot) -> Iterator:
    with fresh_database("sqlite", tmp_path_factory.mktemp("schemathesis")) as url, \
            running_api(url, serving_snapshot) as api:
        account = str(serving_snapshot.suggestions.accounts[0])
        # Some shown suggestions, so feedback can hit existing ids as well as unknown ones.
        api.client.get(f"/v1/accounts/{account}/suggestions?k=10", headers=api.headers("admin"))
        yield api


# The schema comes from the routes alone; requests go to the app with model and database loaded.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_api())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_server_errors_and_schema_conformance(case, running) -> None:
    response = case.call_and_validate(app=running.client.app, headers=running.headers("admin"))
    assert response.status_code < 500, response.text
