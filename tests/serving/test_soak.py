"""The soak in short: a real ``symbiose serve`` under mixed API and page traffic while the champion
is promoted and rolled back (``benchmarks/soak.py``), on SQLite and PostgreSQL; and its checks,
which must catch lost, duplicated or unacknowledged feedback and a model that does not follow."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.soak import (
    Outcome,
    SoakPlan,
    check_feedback,
    plan_events,
    report,
    run_soak,
    server_durations,
    verdict,
    version_sequence,
    window_table,
)
from models.registry import register_challenger
from tests.registry_fixtures import add_version, model_source, separate_registry
from tests.serving.conftest import BACKENDS, fresh_database


def stored(rows: list[tuple[int, str | None, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "idempotency_key", "suggestion_id", "status"])


ACKED_API = {"k1": (1, "done"), "k2": (2, "accepted")}
ACKED_WEB = Counter({("s9", "dismissed"): 2})
ALL_STORED = [(1, "k1", "s1", "done"), (2, "k2", "s2", "accepted"), (3, None, "s9", "dismissed"),
              (4, None, "s9", "dismissed")]


def test_feedback_check_passes_only_when_every_acknowledged_row_is_stored_once() -> None:
    ok = check_feedback(stored(ALL_STORED), ACKED_API, ACKED_WEB)
    assert ok == {"acknowledged": 4, "stored": 4, "missing": 0, "duplicated": 0, "wrong": 0, "not_acknowledged": 0}
    lost = check_feedback(stored(ALL_STORED[1:3]), ACKED_API, ACKED_WEB)
    assert lost["missing"] == 2 and lost["stored"] == 2
    twice = check_feedback(stored([*ALL_STORED, (5, "k2", "s2", "accepted")]), ACKED_API, ACKED_WEB)
    assert twice["duplicated"] == 1
    wrong = check_feedback(stored([(1, "k1", "s1", "accepted"), *ALL_STORED[1:]]), ACKED_API, ACKED_WEB)
    assert wrong["wrong"] == 1
    extra = check_feedback(stored([*ALL_STORED, (6, None, "s7", "done"), (7, "k3", "s3", "done")]),
                           ACKED_API, ACKED_WEB)
    assert extra["not_acknowledged"] == 2


def test_verdict_fails_each_criterion_on_its_own() -> None:
    windows = pd.DataFrame({"requests": [100] * 4, "failed": [0] * 4, "p99_ms": [20.0, 25.0, 22.0, 24.0],
                            "rss_mib": [400.0, 410.0, 412.0, 420.0]})
    feedback = {"acknowledged": 4, "stored": 4, "missing": 0, "duplicated": 0, "wrong": 0, "not_acknowledged": 0}
    served = ["m/1", "m/2", "m/1"]
    assert (verdict(windows, feedback, served, served, 0)["verdict"] == "pass").all()

    def failed(**changes: object) -> list[str]:
        args = {"table": windows, "feedback": feedback, "served": served, "expected": served,
                "reload_errors": 0, **changes}
        table = verdict(**args)
        return table.loc[table["verdict"] == "FAIL", "criterion"].tolist()

    assert failed(table=windows.assign(failed=[0, 1, 0, 0])) == ["failed requests"]
    assert failed(table=windows.assign(rss_mib=[400.0, 410.0, 430.0, 460.0])) == ["memory flat"]
    assert failed(table=windows.assign(p99_ms=[20.0, 25.0, 22.0, 80.0])) == ["p99 steady"]
    assert failed(feedback={**feedback, "missing": 1, "stored": 3}) == ["feedback stored exactly once"]
    assert failed(served=["m/1", "m/2"]) == ["model follows the champion"]
    assert failed(reload_errors=1) == ["model follows the champion"]
    assert version_sequence([(0, "m/1"), (1, "?"), (2, "m/1"), (3, "m/2"), (4, "m/1")]) == served
    assert plan_events([4, 5])[1] == [4, 5, 4] and plan_events([4, 5, 6])[1] == [4, 5, 6, 5]


def test_windows_show_the_servers_own_durations_and_the_load_generators_delays() -> None:
    log = "\n".join([
        '{"time": "t", "level": "INFO", "logger": "symbiose.access", "event": "request", "request_id": "a1", '
        '"route": "/health", "status": 200, "duration_ms": 2.5}',
        "now serving symbiose-nba/2 (was symbiose-nba/1)",
        '{"event": "request", "request_id": "b2", "duration_ms": 40.0}',
        '{"event": "request", "request_id": "c3"}',
    ])
    durations = server_durations(log)
    assert durations == {"a1": 2.5, "b2": 40.0}
    outcome = Outcome(seconds=20.0)
    outcome.requests = [(1.0, "api_read", 200, 900.0, False, "", "a1"), (12.0, "api_read", 200, 45.0, False, "", "b2"),
                        (13.0, "api_read", 0, 30_000.0, True, "no answer", "")]
    outcome.lags = [(2.0, 850.0), (15.0, 1.5)]
    table = window_table(outcome, SoakPlan(seconds=20.0, clients=2, rate=1.0, window_seconds=10.0), durations)
    assert table["p99_ms"].tolist() == [900.0, 45.0]  # what the clients saw (answered requests)
    assert table["server_p99_ms"].tolist() == [2.5, 40.0]  # what the server took for the same ones
    assert table["client_lag_max_ms"].tolist() == [850.0, 1.5]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_short_soak_loses_nothing_and_follows_promotion_and_rollback(
        backend: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, trained_run,
        small_data_dir: Path) -> None:
    source = model_source(trained_run.model_version)
    with separate_registry(tmp_path / "home", tmp_path_factory.getbasetemp()) as home, \
            fresh_database(backend, tmp_path) as url:
        versions = [add_version(source), add_version(source)]
        register_challenger(versions[0])
        plan = SoakPlan(seconds=30, clients=8, rate=16, window_seconds=10, poll_seconds=0.5, promote_with="api")
        result = run_soak(small_data_dir, home, versions, url, plan, tmp_path)
    text = report(result, plan, f"short soak on {backend}")
    print(text)
    assert result.feedback["acknowledged"] >= 20, text
    assert result.feedback["stored"] == result.feedback["acknowledged"], text
    assert result.served == result.expected, text
    assert not [r for r in result.outcome.requests if r[4]], text
    # p99 steadiness and flat memory are timing and memory targets: checked by the 10-minute
    # benchmark (benchmarks/soak.py, docs/benchmarks.md), not by a 30-second run on a shared machine
    correctness = result.criteria[~result.criteria["criterion"].isin(["p99 steady", "memory flat"])]
    assert len(correctness) == 3 and (correctness["verdict"] == "pass").all(), text
