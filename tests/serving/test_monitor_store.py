"""Reading the decision log and feedback for monitoring, on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd

from serving.monitoring import read_decisions, read_feedback
from serving.store.db import Database
from tests.monitoring_worlds import write_decisions


def _decisions() -> pd.DataFrame:
    as_of = pd.Timestamp("2025-07-01")
    return pd.DataFrame({
        "suggestion_id": ["s1", "s1", "s2"], "account_id": ["A1", "A1", "A2"], "rank": [1, 1, 2],
        "channel": ["phone", "phone", "email"], "offer_id": ["OF1", "OF1", None],
        "discount_pct": [5.0, 5.0, 0.0], "executed_by": ["rep", "rep", "marketing"],
        "p_convert": [0.25, 0.25, 0.1], "p_convert_baseline": 0.05, "expected_incremental_margin": 3.0,
        "propensity": 1.0, "model_version": ["m/1", "m/1", "m/2"], "as_of": as_of,
        "requested_at": [as_of, as_of + pd.Timedelta(hours=1), as_of], "user_id": None})


def test_each_suggestion_once_with_its_feedback(database_url: str):
    write_decisions(database_url, _decisions(), {"s1": "accepted", "s2": "dismissed"})
    with Database.open(database_url) as database, database() as session:
        decisions, feedback = read_decisions(session), read_feedback(session)
    decisions = decisions.sort_values("suggestion_id").reset_index(drop=True)
    assert decisions["suggestion_id"].tolist() == ["s1", "s2"]
    assert decisions["model_version"].tolist() == ["m/1", "m/2"]
    assert decisions["offer_id"].iloc[0] == "OF1" and pd.isna(decisions["offer_id"].iloc[1])
    assert decisions["p_convert"].tolist() == [0.25, 0.1]
    assert (decisions["as_of"] == pd.Timestamp("2025-07-01")).all()
    pairs = feedback[["suggestion_id", "status"]].to_numpy().tolist()
    assert sorted(map(tuple, pairs)) == [("s1", "accepted"), ("s2", "dismissed")]


def test_feedback_taken_back_is_no_answer(database_url: str):
    from models.monitoring.feedback import feedback_shares

    write_decisions(database_url, _decisions(),
                    {"s1": ["accepted", "done", "undone"], "s2": ["dismissed", "undone", "accepted"]})
    with Database.open(database_url) as database, database() as session:
        decisions, feedback = read_decisions(session), read_feedback(session)
    assert feedback["id"].is_monotonic_increasing and len(feedback) == 6
    table = feedback_shares(decisions, feedback.sample(frac=1.0, random_state=1)).set_index("model_version")
    assert table.loc["m/1", ["shown", "answered", "accepted", "dismissed", "done"]].tolist() == [1, 0, 0, 0, 0]
    assert table.loc["m/2", ["shown", "answered", "accepted", "dismissed", "done"]].tolist() == [1, 1, 1, 0, 0]
