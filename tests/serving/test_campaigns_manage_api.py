"""``/v1/campaigns``: preview before saving, listing, cancelling, and refusing a campaign that would
contact nobody with the reason (SQLite and PostgreSQL). A module of its own: its first campaign
takes every account, which the other campaign tests must not see."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd


def body(**fields):
    return {"name": f"campaign-{uuid.uuid4().hex[:8]}", "seed": 1, "holdout": 0.0, **fields}


def test_empty_plans_say_why(api) -> None:
    no_room = api.client.post("/v1/campaigns/preview", json=body(budget=0.0, channel_budgets={}),
                              headers=api.headers("admin")).json()
    assert no_room["summary"]["contacted"] == 0
    assert no_room["empty_reason"].startswith("the budgets and limits leave room for no contact")
    nothing = api.client.post("/v1/campaigns/preview", json=body(min_incremental_margin=1e9),
                              headers=api.headers("admin")).json()
    assert nothing["summary"]["empty"] == {"code": "no_candidates"}
    assert "no account has an eligible action" in nothing["empty_reason"]
    refused = api.client.post("/v1/campaigns", json=body(min_incremental_margin=1e9), headers=api.headers("admin"))
    assert refused.status_code == 409 and "no account has an eligible action" in refused.json()["detail"]


def test_preview_list_refuse_empty_then_cancel(api) -> None:
    preview = api.client.post("/v1/campaigns/preview", json=body(name="spring", channels=["phone", "visit"]),
                              headers=api.headers("marketing"))
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["summary"]["contacted"] > 0 and shown["empty_reason"] is None
    values = [m["expected_incremental_margin"] for m in shown["audience"]]
    assert values == sorted(values, reverse=True) and 0 < len(values) <= 20
    assert sum(shown["per_region"].values()) == shown["summary"]["contacted"]
    assert api.client.get("/v1/campaigns", headers=api.headers("marketing")).json() == {"campaigns": []}

    reps = api.client.post("/v1/campaigns", json=body(name="visits", channels=["phone", "visit"]),
                           headers=api.headers("marketing")).json()
    first = api.client.post("/v1/campaigns", json=body(name="spring"), headers=api.headers("marketing"))
    assert first.status_code == 201, first.text
    first_body = first.json()
    assert first_body["status"] == "active" and first_body["cancelled_at"] is None
    listed = api.client.get("/v1/campaigns", headers=api.headers("admin")).json()["campaigns"]
    assert [(c["name"], c["status"], c["contacted"]) for c in listed] == [
        ("spring", "active", first_body["summary"]["contacted"]), ("visits", "active", reps["summary"]["contacted"])]

    again = api.client.post("/v1/campaigns/preview", json=body(name="summer"), headers=api.headers("marketing"))
    reason = again.json()["empty_reason"]
    assert again.json()["summary"]["empty"]["code"] == "all_excluded"
    assert "already members of an active campaign (" in reason and "spring (" in reason, reason
    refused = api.client.post("/v1/campaigns", json=body(name="summer"), headers=api.headers("marketing"))
    assert refused.status_code == 409
    assert "would contact nobody" in refused.json()["detail"] and "spring" in refused.json()["detail"]
    assert len(api.client.get("/v1/campaigns", headers=api.headers("admin")).json()["campaigns"]) == 2

    from serving.store.campaigns import campaign_members

    with api.runtime.sessions() as session:
        members = campaign_members(session, reps["campaign_id"])
    rep_member = members.loc[~members["holdout"].astype(bool)].iloc[0]
    assert rep_member["executed_by"] == "rep"
    entry = _rep_entry(api, rep_member)
    assert [c["campaign_name"] for c in entry["campaign_actions"]] == ["visits"]

    for user in ("rep", "manager"):
        assert api.client.get("/v1/campaigns", headers=api.headers(user)).status_code == 403
        assert api.client.post(f"/v1/campaigns/{reps['campaign_id']}/cancel",
                               headers=api.headers(user)).status_code == 403
    assert api.client.post("/v1/campaigns/0123456789abcdef/cancel", headers=api.headers("admin")).status_code == 404
    cancelled = api.client.post(f"/v1/campaigns/{reps['campaign_id']}/cancel", headers=api.headers("marketing"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    when = cancelled.json()["cancelled_at"]
    assert when is not None
    twice = api.client.post(f"/v1/campaigns/{reps['campaign_id']}/cancel", headers=api.headers("admin"))
    assert twice.json()["cancelled_at"] == when
    assert _rep_entry(api, rep_member)["campaign_actions"] == []

    second = api.client.post("/v1/campaigns", json=body(name="summer"), headers=api.headers("marketing"))
    assert second.status_code == 201, second.text  # the cancelled campaign's accounts are free again
    assert 0 < second.json()["summary"]["contacted"] <= reps["summary"]["members"]
    statuses = {c["name"]: c["status"] for c in
                api.client.get("/v1/campaigns", headers=api.headers("admin")).json()["campaigns"]}
    assert statuses == {"visits": "cancelled", "spring": "active", "summer": "active"}


def _rep_entry(api, member) -> dict:
    listing = api.client.get(f"/v1/reps/{member['rep_id']}/suggestions?limit=200", headers=api.headers("admin"))
    return next(a for a in listing.json()["accounts"] if a["account_id"] == member["account_id"])


def test_export_with_semicolons_has_decimal_commas(api) -> None:
    for c in api.client.get("/v1/campaigns", headers=api.headers("admin")).json()["campaigns"]:
        api.client.post(f"/v1/campaigns/{c['campaign_id']}/cancel", headers=api.headers("admin"))
    created = api.client.post("/v1/campaigns", json=body(channels=["email"], max_accounts=20, holdout=0.2),
                              headers=api.headers("admin"))
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaign_id"]
    raw = api.client.get(f"/v1/campaigns/{campaign_id}/export.csv?sep=;", headers=api.headers("marketing")).content
    text = raw.decode()
    header, first = text.splitlines()[:2]
    assert header.split(";")[:4] == ["member_id", "account_id", "name", "channel"]  # generated accounts have names
    cells = dict(zip(header.split(";"), first.split(";"), strict=True))
    assert "," in cells["p_convert"] and "." not in cells["p_convert"]
    assert len(cells["p_convert"].split(",")[1]) <= 4
    back = pd.read_csv(io.BytesIO(raw), sep=";", decimal=",")
    assert back["p_convert"].between(0, 1).all()


def test_account_names_come_from_the_accounts_table(small_dataset) -> None:
    from serving.api.campaign_views import account_names
    from serving.directory import AccountDirectory

    accounts = small_dataset.accounts.assign(name=[f"Firma {i}" for i in range(len(small_dataset.accounts))])
    named = replace(small_dataset, accounts=accounts)
    ids = pd.Index(accounts["account_id"].astype(str))
    directory = AccountDirectory(named, small_dataset.default_as_of(), ids)
    names = account_names(SimpleNamespace(directory=directory), [ids[3], "unknown", ids[0]])
    assert names is not None and names.to_dict() == {ids[3]: "Firma 3", ids[0]: "Firma 0"}
    unnamed = replace(small_dataset, accounts=small_dataset.accounts.drop(columns=["name"], errors="ignore"))
    plain = AccountDirectory(unnamed, small_dataset.default_as_of(), ids)
    assert account_names(SimpleNamespace(directory=plain), list(ids[:2])) is None
