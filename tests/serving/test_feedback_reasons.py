"""Feedback ``reason`` is any text (docs/data-contract.md §5, v1.1): known phrasings map to a
reason code, anything else to ``other``, and the text is kept as given. On both databases."""

from __future__ import annotations

import pytest

from serving.store.feedback import REASONS
from serving.store.tables import Feedback


@pytest.mark.parametrize(("text", "code"), [
    ("not relevant", "not_relevant"), ("Not Relevant.", "not_relevant"), ("not_relevant", "not_relevant"),
    ("wrong-timing", "wrong_timing"), ("  Already   in contact ", "already_in_contact"),
    ("Kunde hat abgelehnt", "customer_declined"), ("kein Interesse", "customer_declined"),
    ("falscher Zeitpunkt", "wrong_timing"), ("other", "other"),
    ("the buyer moved to a competitor", "other"), ("", "other"),
])
def test_known_phrasings_map_to_codes(text: str, code: str) -> None:
    from serving.store.feedback import reason_code

    assert reason_code(text) == code
    assert reason_code(text) in REASONS


@pytest.mark.parametrize(("index", "reason", "code"), [
    (60, "not relevant", "not_relevant"),
    (61, "Customer declined", "customer_declined"),
    (62, "Einkauf sitzt jetzt in Wien; Ansprechpartner gewechselt", "other"),
    (63, "wrong_timing", "wrong_timing"),
])
def test_any_reason_text_is_accepted_and_kept(api, index: int, reason: str, code: str) -> None:
    account = str(api.runtime.snapshot.suggestions.accounts[index])
    sid = api.client.get(f"/v1/accounts/{account}/suggestions?k=1",
                         headers=api.headers("admin")).json()["suggestions"][0]["suggestion_id"]
    answer = api.client.post("/v1/feedback", json={"suggestion_id": sid, "status": "dismissed", "reason": reason},
                             headers=api.headers("admin"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["reason"] == code and answer.json()["reason_text"] == reason
    with api.runtime.sessions() as session:
        row = session.query(Feedback).filter_by(suggestion_id=sid).one()
    assert (row.reason, row.reason_text) == (code, reason)


def test_reason_text_is_still_checked(api) -> None:
    for reason, field in (("x" * 1001, "reason"), ("nul\x00", "reason"), (42, "reason")):
        answer = api.client.post("/v1/feedback", json={"suggestion_id": "0123456789abcdef", "status": "done",
                                                       "reason": reason}, headers=api.headers("admin"))
        assert answer.status_code == 422, reason
        assert field in [str(p) for err in answer.json()["detail"] for p in err["loc"]]
