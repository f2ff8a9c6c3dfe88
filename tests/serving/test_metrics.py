"""``GET /metrics`` on SQLite and PostgreSQL: off without a metrics token, refused without the right
one, Prometheus' text format, and values that move with requests, suggestions, feedback and a
hot reload of the model."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from models.registry import MODEL_NAME
from serving.metrics import sample_value
from serving.model_watch import ChampionWatcher
from tests.serving.conftest import BACKENDS, Api, fresh_database, running_api

METRICS_TOKEN = "scrape-token-0123456789abcdef"
ROUTE = "/v1/accounts/{account_id}/suggestions"


@pytest.fixture(scope="module", params=BACKENDS)
def metered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, serving_snapshot
            ) -> Iterator[Api]:
    """The app with a metrics token, on each backend."""
    with fresh_database(request.param, tmp_path_factory.mktemp("metrics")) as url, \
            running_api(url, serving_snapshot, metrics_token=METRICS_TOKEN) as running:
        yield running


def scrape(api: Api) -> str:
    answer = api.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.text


def value(text: str, name: str, **labels: str) -> float:
    found = sample_value(text, name, labels)
    return 0.0 if found is None else found


def served_total(text: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "symbiose_suggestions_served_total")


def test_metrics_are_off_without_a_token(api) -> None:
    answer = api.client.get("/metrics", headers=api.headers("admin"))
    assert answer.status_code == 404
    assert "SYMBIOSE_METRICS_TOKEN" in answer.json()["detail"]


def test_metrics_need_the_metrics_token(metered) -> None:
    for headers in ({}, metered.headers("admin"), {"Authorization": f"Bearer {METRICS_TOKEN}x"},
                    {"Authorization": f"Basic {METRICS_TOKEN}"}):
        answer = metered.client.get("/metrics", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "symbiose_" not in answer.text
    answer = metered.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE symbiose_http_request_duration_seconds histogram" in answer.text
    assert "/metrics" not in metered.client.get("/openapi.json").json()["paths"]


def test_a_metrics_token_must_be_long_enough() -> None:
    from pydantic import ValidationError

    from serving.settings import Settings

    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(metrics_token="short")


def test_requests_and_served_suggestions_are_counted(metered) -> None:
    account = str(metered.runtime.snapshot.suggestions.accounts[5])
    before = scrape(metered)
    answer = metered.client.get(f"/v1/accounts/{account}/suggestions?k=2", headers=metered.headers("admin"))
    assert answer.status_code == 200
    denied = metered.client.get(f"/v1/accounts/{account}/suggestions", headers={"Authorization": "Bearer nope"})
    assert denied.status_code == 401
    after = scrape(metered)

    count = "symbiose_http_request_duration_seconds_count"
    assert value(after, count, route=ROUTE, method="GET", status="200") == \
        value(before, count, route=ROUTE, method="GET", status="200") + 1
    assert value(after, count, route=ROUTE, method="GET", status="401") == \
        value(before, count, route=ROUTE, method="GET", status="401") + 1
    assert account not in after, "routes are templates, never raw paths"

    shown = answer.json()["suggestions"]
    version = answer.json()["model_version"]
    assert served_total(after) == served_total(before) + len(shown)
    for channel in {s["channel"] for s in shown}:
        labels = {"channel": channel, "model_version": version}
        assert value(after, "symbiose_suggestions_served_total", **labels) == \
            value(before, "symbiose_suggestions_served_total", **labels) + sum(
                s["channel"] == channel for s in shown)
    commits = "symbiose_decision_log_write_seconds_count"
    assert value(after, commits) >= value(before, commits) + 1
    assert sample_value(after, "symbiose_decision_log_queue_depth") == 0.0


def test_feedback_is_counted_once_per_stored_feedback(metered) -> None:
    account = str(metered.runtime.snapshot.suggestions.accounts[6])
    shown = metered.client.get(f"/v1/accounts/{account}/suggestions?k=1", headers=metered.headers("admin"))
    suggestion_id = shown.json()["suggestions"][0]["suggestion_id"]
    before = scrape(metered)
    headers = metered.headers("admin") | {"Idempotency-Key": "metrics-feedback-1"}
    body = {"suggestion_id": suggestion_id, "status": "dismissed", "reason": "wrong_timing"}
    assert metered.client.post("/v1/feedback", json=body, headers=headers).status_code == 201
    assert metered.client.post("/v1/feedback", json=body, headers=headers).status_code == 201  # replay
    after = scrape(metered)
    assert value(after, "symbiose_feedback_total", status="dismissed") == \
        value(before, "symbiose_feedback_total", status="dismissed") + 1
    assert value(after, "symbiose_feedback_total", status="accepted") == \
        value(before, "symbiose_feedback_total", status="accepted")


def test_model_info_and_snapshot_age_follow_a_hot_reload(metered, serving_snapshot) -> None:
    snap = metered.runtime.snapshot
    before = scrape(metered)
    info = {"version": snap.model.version, "scoring_version": snap.suggestions.model_version,
            "trained_at": snap.model.trained_at, "trained_as_of": snap.model.trained_as_of}
    assert sample_value(before, "symbiose_model_info", info) == 1.0
    as_of = snap.as_of.tz_localize("UTC").timestamp()
    assert sample_value(before, "symbiose_snapshot_as_of_timestamp_seconds") == pytest.approx(as_of)
    assert sample_value(before, "symbiose_snapshot_age_seconds") == pytest.approx(time.time() - as_of, abs=60)

    app_state = metered.client.app.state
    original = app_state.runtime
    promoted = dataclasses.replace(
        serving_snapshot, model=dataclasses.replace(serving_snapshot.model, version=f"{MODEL_NAME}/99"),
        as_of=serving_snapshot.as_of + pd.Timedelta(days=1))
    watcher = ChampionWatcher(app_state, 1.0, load=lambda _settings: promoted, champion=lambda: 99)
    try:
        assert watcher.check_once()
        after = scrape(metered)
    finally:
        app_state.runtime = original
    assert sample_value(after, "symbiose_model_info", info) is None, "the replaced model is gone"
    assert sample_value(after, "symbiose_model_info", {**info, "version": f"{MODEL_NAME}/99"}) == 1.0
    assert sample_value(after, "symbiose_snapshot_as_of_timestamp_seconds") == pytest.approx(as_of + 86400)
    count = "symbiose_http_request_duration_seconds_count"
    labels = {"route": "/metrics", "method": "GET", "status": "200"}
    assert value(after, count, **labels) == value(before, count, **labels) + 1, "counts survive a reload"


def test_the_decision_log_counts_commits_failures_and_its_queue(tmp_path) -> None:
    import threading

    from sqlalchemy import event

    from serving.decision_log import DecisionLog, DecisionLogUnavailable
    from serving.log_writer import WriterInThisProcess
    from serving.metrics import ServiceMetrics
    from serving.store.db import Database
    from tests.serving.test_store import _decision

    url = f"sqlite:///{tmp_path / 'log.db'}"
    Database.open(url).close()
    metrics = ServiceMetrics()
    log = DecisionLog(WriterInThisProcess(Database.open_log(url)), timeout=5.0, metrics=metrics)
    entered, release, failing = threading.Event(), threading.Event(), threading.Event()

    def stall_or_fail(*_args) -> None:
        entered.set()
        release.wait(5)
        if failing.is_set():
            raise RuntimeError("disk full")

    try:
        rows = [_decision("m1"), _decision("m2")]
        log.write(rows)
        registry = metrics.registry
        assert registry.get_sample_value("symbiose_decision_log_write_seconds_count") == 1
        labels = {"channel": rows[0]["channel"], "model_version": rows[0]["model_version"]}
        assert registry.get_sample_value("symbiose_suggestions_served_total", labels) == 2

        event.listen(log._writer.database.engine, "begin", stall_or_fail)
        stalled = [log.submit([_decision("m3")])]
        assert entered.wait(5), "the writer took the first batch and waits in its transaction"
        stalled.append(log.submit([_decision("m4")]))
        assert log.queue_depth() == 1
        failing.set()
        release.set()
        for future in stalled:
            assert "disk full" in str(future.exception(timeout=5))
        assert log.queue_depth() == 0
        assert registry.get_sample_value("symbiose_decision_log_write_failures_total") >= 1
        assert registry.get_sample_value("symbiose_decision_log_write_seconds_count") == 1
        assert registry.get_sample_value("symbiose_suggestions_served_total", labels) == 2
        with pytest.raises(DecisionLogUnavailable, match="disk full"):
            log.write([_decision("m5")])
    finally:
        release.set()
        log.close()
