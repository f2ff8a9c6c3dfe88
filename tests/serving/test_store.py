"""The service database on SQLite and PostgreSQL: migrations, users, feedback, decision log."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text

from serving.store.db import Database, make_engine, migrate
from serving.store.decisions import count_decisions, find_shown, log_decisions
from serving.store.feedback import IdempotencyConflict, feedback_effects, record_feedback
from serving.store.tables import Base, Feedback, User
from serving.store.users import add_user, list_users, principal_for_token, revoke_user

NOW = datetime(2026, 3, 1, 12, 0, 0)


def _decision(sid: str, account: str = "A1", channel: str = "phone", offer: str | None = "OF1",
              executed_by: str | None = "rep", discount: float = 5.0) -> dict:
    return {"suggestion_id": sid, "account_id": account, "rank": 1, "channel": channel, "offer_id": offer,
            "discount_pct": discount, "executed_by": executed_by, "p_convert": 0.3, "p_convert_baseline": 0.2,
            "expected_incremental_margin": 12.5, "propensity": 1.0, "model_version": "symbiose-nba/1",
            "as_of": datetime(2025, 7, 1), "requested_at": NOW, "user_id": None}


@pytest.fixture
def sessions(database_url: str):
    factory = Database.open(database_url)
    yield factory
    factory.close()


def test_migrations_create_the_orm_schema_and_are_idempotent(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # a second start changes nothing
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.execute(text("select version_num from alembic_version")).scalar_one()
    engine.dispose()
    assert diffs == []
    assert version == "0006"
    assert {"users", "feedback", "decisions"} <= set(inspect(make_engine(database_url)).get_table_names())


def test_sqlite_database_is_in_wal_mode(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
    engine.dispose()


def test_unknown_database_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="expected sqlite"):
        make_engine("mysql://u@h/db")


def test_tokens_are_stored_hashed_and_revocation_takes_effect(sessions) -> None:
    with sessions() as s:
        user, token = add_user(s, name="ann", role="rep", rep_id="R001")
        stored = s.scalar(select(User.token_hash).where(User.id == user.id))
        assert token not in stored and len(stored) == 64
        principal = principal_for_token(s, token)
        assert principal is not None and principal.rep_id == "R001" and principal.role == "rep"
        assert principal_for_token(s, token + "x") is None
        with pytest.raises(ValueError, match="active user with this name"):
            add_user(s, name="ann", role="admin")
        assert [u.name for u in revoke_user(s, "ann")] == ["ann"]
        assert principal_for_token(s, token) is None
        with pytest.raises(LookupError, match="no active user"):
            revoke_user(s, "ann")
        _again, token2 = add_user(s, name="ann", role="admin")  # the name is free again
        assert token2 != token and [u.name for u in list_users(s)] == ["ann", "ann"]


@pytest.mark.parametrize(("role", "rep_id", "region", "message"), [
    ("rep", None, None, "needs --rep-id"),
    ("manager", None, None, "needs --region"),
    ("boss", None, None, "expected one of"),
    ("admin", "R1", None, "only for role rep"),
    ("rep", "R1", "Nord", "only for role manager"),
])
def test_user_scope_is_checked(sessions, role, rep_id, region, message) -> None:
    with sessions() as s, pytest.raises(ValueError, match=message):
        add_user(s, name="x", role=role, rep_id=rep_id, region=region)


def test_decision_log_and_feedback_idempotency(sessions) -> None:
    with sessions() as s:
        user, _ = add_user(s, name="ann", role="admin")
        log_decisions(s, [_decision("s1"), _decision("s1"), _decision("s2", account="A2")])
        assert count_decisions(s) == 3 and count_decisions(s, "A2") == 1
        assert find_shown(s, "nope") is None
        shown = find_shown(s, "s1")
        first, created = record_feedback(s, shown=shown, status="accepted", reason=None, note="call Monday",
                                         user_id=user.id, idempotency_key="k1")
        assert created
        again, created_again = record_feedback(s, shown=shown, status="accepted", reason=None, note=None,
                                               user_id=user.id, idempotency_key="k1")
        assert not created_again and again.id == first.id
        with pytest.raises(IdempotencyConflict, match="already used"):
            record_feedback(s, shown=shown, status="dismissed", reason=None, note=None, user_id=user.id,
                            idempotency_key="k1")
        _, created_plain = record_feedback(s, shown=shown, status="done", reason="other", note=None,
                                           user_id=user.id, idempotency_key=None)
        assert created_plain
        rows = s.scalars(select(Feedback).order_by(Feedback.id)).all()
        assert [(r.status, r.channel, r.offer_id, r.executed_by) for r in rows] == [
            ("accepted", "phone", "OF1", "rep"), ("done", "phone", "OF1", "rep")]


def _feedback(s, user_id: int, sid: str, status: str, created: datetime, **kw) -> None:
    row = _decision(sid, **kw)
    s.add(Feedback(suggestion_id=sid, account_id=row["account_id"], channel=row["channel"],
                   offer_id=row["offer_id"], discount_pct=row["discount_pct"], executed_by=row["executed_by"],
                   status=status, user_id=user_id, created_at=created))
    s.commit()


def test_feedback_effects_windows(sessions) -> None:
    with sessions() as s:
        user, _ = add_user(s, name="ann", role="admin")
        _feedback(s, user.id, "d1", "dismissed", NOW - timedelta(days=13, hours=23), offer="OF1")
        _feedback(s, user.id, "d2", "dismissed", NOW - timedelta(days=14, hours=1), offer="OF2")
        _feedback(s, user.id, "a1", "accepted", NOW - timedelta(days=29), channel="visit", offer="OF3")
        _feedback(s, user.id, "a1", "done", NOW - timedelta(days=2), channel="visit", offer="OF3")
        _feedback(s, user.id, "a2", "accepted", NOW - timedelta(days=31), channel="visit", offer="OF4")
        _feedback(s, user.id, "m1", "accepted", NOW - timedelta(days=1), channel="email", offer="OF5",
                  executed_by="marketing")
        _feedback(s, user.id, "x1", "dismissed", NOW - timedelta(days=1), account="A9")
        effects = feedback_effects(s, ["A1"], now=NOW, suppress_days=14)
    # Within 14 days: suppressed; older: not. done (within window) also suppresses.
    assert effects.suppressed == {("A1", "phone", "OF1"), ("A1", "visit", "OF3")}
    # Accepted-then-done of one suggestion is one contact; older than 30 days and marketing ones do not count.
    assert effects.contacts == {("A1", "visit"): 1}
    assert feedback_effects(s, [], now=NOW, suppress_days=14).suppressed == frozenset()


def test_campaigns_leave_out_accounts_whose_rep_action_is_still_taken_on(sessions) -> None:
    from serving.store.campaigns import accounts_with_accepted_rep_actions

    since = NOW - timedelta(days=14)
    with sessions() as s:
        user, _ = add_user(s, name="ann", role="admin")
        _feedback(s, user.id, "kept", "accepted", NOW - timedelta(days=3), account="A1")
        _feedback(s, user.id, "undone", "accepted", NOW - timedelta(days=3), account="A2")
        _feedback(s, user.id, "undone", "undone", NOW - timedelta(days=2), account="A2")
        _feedback(s, user.id, "again", "done", NOW - timedelta(days=4), account="A3")
        _feedback(s, user.id, "again", "undone", NOW - timedelta(days=3), account="A3")
        _feedback(s, user.id, "again", "accepted", NOW - timedelta(days=2), account="A3")
        _feedback(s, user.id, "dropped", "accepted", NOW - timedelta(days=3), account="A4")
        _feedback(s, user.id, "dropped", "dismissed", NOW - timedelta(days=2), account="A4")
        _feedback(s, user.id, "old", "accepted", NOW - timedelta(days=20), account="A5")
        _feedback(s, user.id, "email", "accepted", NOW - timedelta(days=1), account="A6", channel="email",
                  executed_by="marketing")
        assert accounts_with_accepted_rep_actions(s, since) == {"A1", "A3"}
