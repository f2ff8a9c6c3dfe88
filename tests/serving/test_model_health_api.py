"""``GET /v1/model/health``: admin and manager only, the checks as JSON, answered from a short cache."""

from __future__ import annotations

import pandas as pd
import pytest

from models.monitoring.report import MonitorReport
from models.monitoring.thresholds import MonitorThresholds
from serving.monitoring import HealthCache
from tests.serving.conftest import Api

PATH = "/v1/model/health"


def test_roles(api: Api):
    assert api.client.get(PATH).status_code == 401
    assert api.client.get(PATH, headers=api.headers("revoked")).status_code == 401
    for user in ("rep", "marketing"):
        answer = api.client.get(PATH, headers=api.headers(user))
        assert answer.status_code == 403, user
        assert "admin or manager" in answer.json()["detail"]


def test_checks_as_json_from_the_cache(api: Api):
    answer = api.client.get(PATH, headers=api.headers("admin"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    snapshot = api.runtime.snapshot
    assert body["model_version"] == snapshot.model.version
    assert body["verdict"] in ("ok", "watch", "not enough data")
    checks = {c["name"]: c for c in body["checks"]}
    # The service scores its data at the model's own as-of time: nothing has moved.
    feature = checks["feature stability"]
    assert feature["verdict"] == "ok" and feature["value"] == pytest.approx(0.0, abs=1e-9)
    assert feature["threshold"] == MonitorThresholds().psi_drift
    assert checks["prediction stability: rank1_p_convert"]["verdict"] == "ok"
    # No suggestion was logged yet: calibration cannot be judged.
    assert checks["calibration"]["verdict"] == "not enough data" and checks["calibration"]["value"] is None
    assert all(set(c) == {"name", "value", "threshold", "verdict", "detail"} for c in body["checks"])
    again = api.client.get(PATH, headers=api.headers("manager"))
    assert again.status_code == 200 and again.json() == body
    assert api.runtime.sessions.shared("model_health", HealthCache).passes == 1


def _report(version: str) -> MonitorReport:
    empty = pd.DataFrame()
    return MonitorReport(version, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01"), "test",
                         MonitorThresholds(), empty, empty, empty, empty)


def test_cache_expires_and_follows_the_snapshot():
    now = [0.0]
    cache = HealthCache(seconds=60, clock=lambda: now[0])
    made: list[str] = []

    def compute(name: str):
        return lambda: made.append(name) or _report(name)

    assert cache.get(("a",), compute("a1")).model_version == "a1"
    now[0] = 59
    assert cache.get(("a",), compute("a2")).model_version == "a1"
    assert cache.get(("b",), compute("b1")).model_version == "b1"
    now[0] = 200
    assert cache.get(("b",), compute("b2")).model_version == "b2"
    assert made == ["a1", "b1", "b2"] and cache.passes == 3
