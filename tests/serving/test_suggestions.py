"""Request-time filtering of precomputed candidates: feedback suppression, contact caps, ``none``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.policy import DEFAULT_CHANNELS
from models.suggestion import Suggestion, split_reasons, suggestion_id
from serving.store.feedback import FeedbackEffects
from serving.suggestions import NO_FURTHER_ACTION, SuggestionService

AS_OF = pd.Timestamp("2025-07-01")
NO_EFFECTS = FeedbackEffects(frozenset(), {})


def _row(account, rank, channel, offer, discount, value, executed_by):
    return {"account_id": account, "rank": rank, "channel": channel, "offer_id": offer,
            "discount_pct": discount, "p_convert": 0.4, "p_convert_baseline": 0.2,
            "expected_incremental_margin": value, "executed_by": executed_by, "rep_id": "R1",
            "reasons": "ordered X 3 times; expected €5 extra margin", "category": "X", "offer_name": "n"}


@pytest.fixture
def service() -> SuggestionService:
    rows = [
        _row("A", 1, "visit", "O1", 0.0, 50.0, "rep"),
        _row("A", 2, "phone", "O1", 5.0, 30.0, "rep"),
        _row("A", 3, "phone", "O2", 0.0, 20.0, "rep"),
        _row("A", 4, "email", "O1", 10.0, 10.0, "marketing"),
        _row("A", 5, "none", None, 0.0, 0.0, None),
        _row("B", 1, "email", "O2", 0.0, 5.0, "marketing"),
        _row("B", 2, "none", None, 0.0, 0.0, None),
        _row("C", 1, "email", "O1", 0.0, 9.0, "marketing"),
        _row("C", 2, "phone", "O1", 0.0, 8.0, "rep"),
    ]
    cands = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # order must not matter
    state = pd.DataFrame({"rep_id": ["R1", "R1", "R2"], "touches_30d__phone": [1, 0, 0],
                          "touches_30d__visit": [0, 0, 0], "touches_30d__email": [0, 0, 0]},
                         index=pd.Index(["A", "B", "C"], name="account_id"))
    return SuggestionService(cands, state, DEFAULT_CHANNELS,  # caps: phone 2, visit 1, email 4
                             model_version="symbiose-nba/1", as_of=AS_OF)


def _actions(service: SuggestionService, account: str, k: int, effects=NO_EFFECTS):
    shown = service.pick(np.array([service.position(account)]), k, effects)
    return [(r.rank, r.channel, r.offer_id) for r in service.records(shown)]


def test_top_k_in_rank_order_with_none_appended_when_fewer(service) -> None:
    assert _actions(service, "A", 3) == [(1, "visit", "O1"), (2, "phone", "O1"), (3, "phone", "O2")]
    assert _actions(service, "B", 3) == [(1, "email", "O2"), (2, "none", None)]
    # C had more candidates than were precomputed as `none`: one is synthesized.
    assert _actions(service, "C", 3) == [(1, "email", "O1"), (2, "phone", "O1"), (3, "none", None)]
    shown = service.pick(np.array([service.position("C")]), 3, NO_EFFECTS)
    none = service.records(shown)[-1]
    assert isinstance(none, Suggestion) and none.is_none
    assert none.reasons == (NO_FURTHER_ACTION,) and none.expected_incremental_margin == 0.0
    assert none.suggestion_id == suggestion_id("symbiose-nba/1", AS_OF, "C", "none", None, 0.0)


def test_dismissed_action_is_suppressed_at_every_discount_and_ranks_close_up(service) -> None:
    effects = FeedbackEffects(frozenset({("A", "phone", "O1"), ("A", "visit", "O1")}), {})
    assert _actions(service, "A", 3, effects) == [(1, "phone", "O2"), (2, "email", "O1"), (3, "none", None)]
    # Other accounts are untouched.
    assert _actions(service, "C", 2, effects) == [(1, "email", "O1"), (2, "phone", "O1")]


def test_accepted_rep_actions_use_up_the_channel_cap(service) -> None:
    # A has 1 phone touch in 30 days, cap 2: one accepted phone action reaches the cap.
    capped = FeedbackEffects(frozenset(), {("A", "phone"): 1})
    assert _actions(service, "A", 3, capped) == [(1, "visit", "O1"), (2, "email", "O1"), (3, "none", None)]
    # C has none: one accepted phone action leaves it below the cap of 2.
    assert _actions(service, "C", 2, FeedbackEffects(frozenset(), {("C", "phone"): 1})) == \
        [(1, "email", "O1"), (2, "phone", "O1")]
    assert _actions(service, "C", 2, FeedbackEffects(frozenset(), {("C", "phone"): 2})) == \
        [(1, "email", "O1"), (2, "none", None)]


def test_many_accounts_keep_requested_order_and_best_value(service) -> None:
    positions = np.array([service.position(a) for a in ("C", "A", "B")])
    shown = service.pick(positions, 1, NO_EFFECTS)
    assert [service.accounts[p] for p in shown.accounts] == ["C", "A", "B"]
    assert service.best_value(shown, positions).tolist() == [9.0, 50.0, 5.0]
    assert service.position("nobody") == -1


def test_suggestion_ids_are_stable_and_depend_on_model_and_action() -> None:
    base = suggestion_id("m/1", AS_OF, "A", "phone", "O1", 5.0)
    assert base == suggestion_id("m/1", AS_OF, "A", "phone", "O1", 5)
    assert len(base) == 32 and set(base) <= set("0123456789abcdef")  # 32 lower-case hex digits
    others = {suggestion_id("m/2", AS_OF, "A", "phone", "O1", 5.0),
              suggestion_id("m/1", AS_OF + pd.Timedelta(days=1), "A", "phone", "O1", 5.0),
              suggestion_id("m/1", AS_OF, "B", "phone", "O1", 5.0),
              suggestion_id("m/1", AS_OF, "A", "visit", "O1", 5.0),
              suggestion_id("m/1", AS_OF, "A", "phone", "O1", 10.0)}
    assert base not in others and len(others) == 5


def test_reasons_become_a_tuple() -> None:
    assert split_reasons("a; b;  c") == ("a", "b", "c")
    assert split_reasons("a; b; c") == ("a", "b", "c")
    assert split_reasons(None) == () and split_reasons("") == ()


def test_service_exploration_logs_exact_propensities(small_dataset, trained_run, tmp_path) -> None:
    """With SYMBIOSE_EXPLORE the first suggestions are drawn once per snapshot and every shown
    suggestion is logged with the exact probability of the account's decision."""
    import numpy as np
    from sqlalchemy import select

    from serving.snapshot import build_snapshot_state
    from serving.store.tables import Decision
    from tests.serving.conftest import running_api

    eps = 0.5
    pipeline = trained_run.result.pipeline
    as_of = small_dataset.default_as_of()
    snap = build_snapshot_state(small_dataset, pipeline, trained_run.model_version, as_of=as_of,
                                explore=eps, explore_seed=11)
    service = snap.suggestions
    # Exact propensities: (1 - eps) + eps / (n + 1) for the greedy choice, eps / (n + 1) otherwise.
    greedy = build_snapshot_state(small_dataset, pipeline, trained_run.model_version, as_of=as_of).suggestions
    n_acc = len(service.accounts)
    assert np.all((service.propensity > 0) & (service.propensity <= 1))
    kept = service.propensity > (1 - eps)
    changed = service.cols["suggestion_id"][service.first_rows] != greedy.cols["suggestion_id"][greedy.first_rows]
    assert not np.any(kept & changed)  # a decision kept at high probability is the greedy one
    assert abs(changed.mean() - eps) < 0.15  # about eps of the accounts explored (most draws differ)
    assert np.all(service.propensity[changed] <= eps)  # eps / (n_eligible + 1)
    assert service.cols["explored"][service.first_rows][changed].all()
    assert n_acc == len(greedy.accounts)

    with running_api(f"sqlite:///{tmp_path / 'x.db'}", snap) as api:
        account = str(service.account_ids[int(np.flatnonzero(changed)[0])])
        body = api.client.get(f"/v1/accounts/{account}/suggestions?k=2", headers=api.headers("admin")).json()
        first = body["suggestions"][0]
        pos = service.position(account)
        assert first["explored"] is True and first["propensity"] == service.propensity[pos] < 0.5
        with api.runtime.sessions() as session:
            logged = session.scalars(select(Decision.propensity).where(Decision.account_id == account)).all()
        assert logged and all(p == service.propensity[pos] for p in logged)


@pytest.mark.parametrize("effects", [
    NO_EFFECTS,
    FeedbackEffects(frozenset({("A", "phone", "O1"), ("A", "visit", "O1"), ("C", "email", "O1")}), {}),
    FeedbackEffects(frozenset({("B", "email", "O2")}), {("A", "phone"): 1, ("C", "phone"): 2}),
])
@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_one_account_is_picked_as_among_many(service, effects, k) -> None:
    positions = np.arange(len(service.accounts))
    together = service.records(service.pick(positions, k, effects))
    alone = [s for p in positions for s in service.records(service.pick(np.array([p]), k, effects))]
    assert alone == together


def test_suggestion_ids_of_many_are_those_of_each() -> None:
    from models.suggestion import suggestion_ids

    rows = [("A", "phone", "O1", 5.0), ("007", "none", None, 0.0), ("B", "email", "O2", 12.5)]
    assert suggestion_ids("m/1", AS_OF, *zip(*rows, strict=True)) == \
        [suggestion_id("m/1", AS_OF, *row) for row in rows]


def test_kept_records_leave_the_collectors_view_every_so_many(service, monkeypatch) -> None:
    """Full collections would visit every kept record; every ``FREEZE_EVERY_RECORDS`` new ones
    are frozen (out of every generation ``gc.get_objects`` lists), and only then."""
    import gc

    import serving.suggestions as suggestions

    monkeypatch.setattr(suggestions, "FREEZE_EVERY_RECORDS", 4)
    service._freeze_at = 4
    try:
        gc.unfreeze()
        first = service.records(service.pick(np.array([service.position("A")]), 3, NO_EFFECTS))
        assert len(service._records) == 3 and gc.get_freeze_count() == 0  # below the step: not yet
        assert any(obj is first[0] for obj in gc.get_objects())
        second = service.records(service.pick(np.array([service.position("B")]), 3, NO_EFFECTS))
        assert len(service._records) == 5 and gc.get_freeze_count() > 0  # B's two rows as well
        tracked = {id(obj) for obj in gc.get_objects()}
        assert id(first[0]) not in tracked and id(second[0]) not in tracked
        assert service._freeze_at == 9  # the next step counts from here
    finally:
        gc.unfreeze()
