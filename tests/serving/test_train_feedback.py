"""Calls and visits reps reported done reach training: ``symbiose train --feedback-db URL`` turns
those with outcome reached / order expected into touches (the export wins on the same account,
channel and day), counts not-reached attempts without a touch, trains and logs the counts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from serving.feedback_touches import COLUMNS, feedback_touches

NOW = datetime(2025, 5, 20, 10, 0)


def _row(fid: int, status: str, *, sid: str = "s1", account: str = "A", channel: str = "phone",
         by: str = "rep", outcome: str | None = None, at: datetime = NOW, rep: str | None = "R1") -> tuple:
    return (fid, sid, account, channel, "O1", 5.0, status, by, outcome, at, rep)


def test_only_reached_rep_actions_become_touches_and_not_reached_is_counted() -> None:
    rows = [_row(1, "accepted", sid="s1"), _row(2, "done", sid="s1", outcome="reached"),
            _row(3, "done", sid="s2", account="B", outcome="order_expected", channel="visit"),
            _row(4, "done", sid="s3", account="C", outcome="not_reached"),
            _row(5, "done", sid="s4", account="D"),                                   # no outcome
            _row(6, "done", sid="s5", account="E", by="marketing", channel="email"),  # not a rep action
            _row(7, "done", sid="s6", account="F", outcome="reached"),
            _row(8, "undone", sid="s6", account="F", at=NOW + timedelta(minutes=1)),  # taken back
            _row(9, "dismissed", sid="s7", account="G")]
    reported = feedback_touches(rows)
    touches = reported.touches
    assert touches["touch_id"].tolist() == ["feedback-2", "feedback-3"]
    assert touches[["account_id", "channel", "offer_id", "rep_id"]].values.tolist() == [
        ["A", "phone", "O1", "R1"], ["B", "visit", "O1", "R1"]]
    assert touches["discount_pct"].tolist() == [5.0, 5.0] and touches["propensity"].isna().all()
    assert touches["campaign_id"].isna().all() and (touches["touched_at"] == pd.Timestamp(NOW)).all()
    assert reported.attempts == 1
    assert feedback_touches([]).touches.empty and len(COLUMNS) == len(rows[0])


@pytest.fixture
def feedback_db(tmp_path, small_dataset) -> tuple[str, dict[str, int]]:
    """A service database whose feedback holds: one reached call on a day without a call in the
    export, one reached call on a day the export has a call (a duplicate), one not reached."""
    from serving.store.db import Database
    from serving.store.tables import Feedback
    from serving.store.users import add_user

    touches = small_dataset.touches
    as_of = small_dataset.default_as_of()
    calls = touches.loc[(touches["channel"] == "phone") & (touches["touched_at"] < as_of - pd.Timedelta(days=60))]
    known = calls.iloc[0]
    called = set(zip(calls["account_id"], calls["touched_at"].dt.normalize(), strict=True))
    day = (as_of - pd.Timedelta(days=40)).normalize()
    fresh = next(a for a in small_dataset.accounts["account_id"] if (a, day) not in called)
    url = f"sqlite:///{tmp_path / 'service.db'}"
    with Database.open(url) as database, database() as session:
        user, _token = add_user(session, name="rep one", role="rep", rep_id="R001")
        base = {"offer_id": None, "discount_pct": 0.0, "executed_by": "rep", "user_id": user.id}
        session.add_all([
            Feedback(suggestion_id="a" * 16, account_id=fresh, channel="phone", status="done", outcome="reached",
                     created_at=(day + pd.Timedelta(hours=10)).to_pydatetime(), **base),
            Feedback(suggestion_id="b" * 16, account_id=str(known["account_id"]), channel="phone", status="done",
                     outcome="order_expected",
                     created_at=(known["touched_at"].normalize() + pd.Timedelta(hours=23)).to_pydatetime(), **base),
            Feedback(suggestion_id="c" * 16, account_id=fresh, channel="visit", status="done", outcome="not_reached",
                     created_at=(day + pd.Timedelta(hours=12)).to_pydatetime(), **base),
        ])
        session.commit()
    return url, {"added": 1, "duplicates": 1, "not_reached": 1}


def test_train_reads_the_feedback_store_and_logs_how_many_touches_came_from_it(
        symbiose_home, small_data_dir, feedback_db, capsys) -> None:
    from mlflow.tracking import MlflowClient

    from models.registry import configure_tracking, ensure_experiment
    from serving.cli import main

    url, expected = feedback_db
    try:
        main(["train", "--data", str(small_data_dir), "--feedback-db", url, "--sample-accounts", "200"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    text = " ".join(out.split())
    assert "feedback: 1 reported calls/visits added as touches (1 already in the export on the same day" in text
    assert "1 not reached (no touch)" in text
    configure_tracking()
    run = MlflowClient().search_runs([ensure_experiment()], "attributes.run_name LIKE 'train as of%'",
                                     order_by=["attributes.start_time DESC"], max_results=1)[0]
    metrics = run.data.metrics
    assert metrics["feedback_touches_added"] == expected["added"]
    assert metrics["feedback_touches_duplicates"] == expected["duplicates"]
    assert metrics["feedback_attempts_not_reached"] == expected["not_reached"]
    assert run.data.params["feedback_db"] == url


def test_a_config_naming_a_feedback_db_without_its_touches_is_refused(small_dataset) -> None:
    from models.tracking import train_and_log
    from models.training_config import ConfigError, TrainingConfig

    with pytest.raises(ConfigError, match="read_feedback_touches"):
        train_and_log(small_dataset, config=TrainingConfig(feedback_db="sqlite:////nowhere.db"))


def test_a_missing_feedback_database_is_one_clear_error(small_data_dir, tmp_path, capsys) -> None:
    from serving.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["train", "--data", str(small_data_dir), "--feedback-db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert stop.value.code != 0
    assert "no database file" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "none.db").exists()


def test_the_password_of_the_feedback_db_is_not_logged() -> None:
    from models.training_config import TrainingConfig

    params = TrainingConfig(feedback_db="postgresql://symbiose:s3cret@db.example/symbiose").as_params()
    assert params["feedback_db"] == "postgresql://symbiose:***@db.example/symbiose"
