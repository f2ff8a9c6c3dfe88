"""``/v1/campaigns``: roles, planning from the served suggestions, export, report, coordination
with the reps (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import uuid

import pandas as pd
import pytest


def plan(api, user: str = "marketing", **body):
    body = {"name": f"campaign-{uuid.uuid4().hex[:8]}", "seed": 1, **body}
    return api.client.post("/v1/campaigns", json=body, headers=api.headers(user))


def members_of(api, campaign_id: str) -> pd.DataFrame:
    from serving.store.campaigns import campaign_members

    with api.runtime.sessions() as session:
        return campaign_members(session, campaign_id)


def test_only_marketing_and_admin_plan(api) -> None:
    for user in ("rep", "manager"):
        response = plan(api, user)
        assert response.status_code == 403
        assert "expected marketing or admin" in response.json()["detail"]
    assert api.client.post("/v1/campaigns", json={"name": "x"}).status_code == 401


def test_rep_coordination_accepted_suggestions_and_the_reps_list(api) -> None:
    """Runs before the other plans of this module, so every account is still free."""
    service = api.runtime.snapshot.suggestions
    is_rep = service.cols["executed_by"] == "rep"
    account = str(pd.unique(service.cols["account_id"][is_rep])[0])
    shown = api.client.get(f"/v1/accounts/{account}/suggestions?k=10", headers=api.headers("admin")).json()
    rep_suggestion = next(s for s in shown["suggestions"] if s["executed_by"] == "rep")
    feedback = api.client.post("/v1/feedback", json={"suggestion_id": rep_suggestion["suggestion_id"],
                                                     "status": "accepted"}, headers=api.headers("admin"))
    assert feedback.status_code == 201
    body = plan(api, channels=["phone", "visit"], holdout=0.0).json()
    members = members_of(api, body["campaign_id"])
    assert account not in set(members["account_id"])
    assert body["summary"]["excluded_accepted_rep_action"] >= 1
    assert len(members) and (members["executed_by"] == "rep").all()

    member = members.iloc[0]
    listing = api.client.get(f"/v1/reps/{member['rep_id']}/suggestions?limit=200",
                             headers=api.headers("admin")).json()
    entry = next(a for a in listing["accounts"] if a["account_id"] == member["account_id"])
    assert [c["campaign_name"] for c in entry["campaign_actions"]] == [body["name"]]
    assert entry["campaign_actions"][0]["channel"] == member["channel"]

    marketing = plan(api, channels=["email", "webshop_banner"], holdout=0.0, max_accounts=60).json()
    owned = members_of(api, marketing["campaign_id"]).dropna(subset=["rep_id"]).iloc[0]
    listing = api.client.get(f"/v1/reps/{owned['rep_id']}/suggestions?limit=200",
                             headers=api.headers("admin")).json()
    entry = next(a for a in listing["accounts"] if a["account_id"] == owned["account_id"])
    assert entry["campaign_actions"] == []


def test_plan_export_and_report(api) -> None:
    response = plan(api, "admin", channels=["email", "webshop_banner"], budget=15.0, holdout=0.2)
    assert response.status_code == 201, response.text
    body = response.json()
    summary = body["summary"]
    assert summary["cost"] <= 15.0 + 1e-9
    assert abs(summary["holdout_share"] - 0.2) <= 0.01
    assert summary["method"] == "milp" and summary["mip_gap"] is not None
    members = members_of(api, body["campaign_id"])
    assert len(members) == summary["members"] and not members["account_id"].duplicated().any()

    csv = api.client.get(body["download"]["csv"] + "?bom=true&sep=;", headers=api.headers("marketing"))
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    exported = pd.read_csv(io.BytesIO(csv.content), sep=";", encoding="utf-8-sig")
    contacted = members.loc[~members["holdout"].astype(bool)]
    assert sorted(exported["member_id"]) == sorted(contacted["member_id"])
    assert not exported["account_id"].isin(members.loc[members["holdout"].astype(bool), "account_id"]).any()
    parquet = api.client.get(body["download"]["parquet"], headers=api.headers("marketing"))
    assert len(pd.read_parquet(io.BytesIO(parquet.content))) == len(contacted)

    report = api.client.get(f"/v1/campaigns/{body['campaign_id']}/report", headers=api.headers("marketing"))
    assert report.status_code == 200, report.text
    overall = report.json()["report"]["overall"]
    assert overall["contacted"] == len(contacted) and overall["holdout"] == summary["holdout"]
    assert api.client.get(f"/v1/campaigns/{body['campaign_id']}", headers=api.headers("rep")).status_code == 403
    assert api.client.get("/v1/campaigns/0123456789abcdef", headers=api.headers("admin")).status_code == 404


def test_holdouts_are_logged_as_none_with_their_propensity(api) -> None:
    from sqlalchemy import select

    from serving.store.tables import Decision

    body = plan(api, channels=["webshop_banner"], holdout=0.3, max_accounts=40).json()
    members = members_of(api, body["campaign_id"]).set_index("member_id")
    with api.runtime.sessions() as session:
        rows = session.execute(select(Decision.suggestion_id, Decision.channel, Decision.propensity)
                               .where(Decision.suggestion_id.in_(members.index.tolist()))).all()
    logged = pd.DataFrame(rows, columns=["member_id", "channel", "propensity"]).set_index("member_id")
    assert len(logged) == len(members)
    held = members["holdout"].astype(bool)
    assert (logged.loc[held[held].index, "channel"] == "none").all()
    assert (logged.loc[held[~held].index, "channel"] == "webshop_banner").all()
    assert logged["propensity"].reindex(members.index).to_numpy() == pytest.approx(members["propensity"].to_numpy())


def test_a_second_campaign_leaves_out_the_first_ones_members_and_names_are_unique(api) -> None:
    first = plan(api, channels=["email"], max_accounts=30).json()
    again = api.client.post("/v1/campaigns", json={"name": first["name"]}, headers=api.headers("admin"))
    assert again.status_code == 409
    second = plan(api, channels=["email", "webshop_banner"], max_accounts=30).json()
    one, two = members_of(api, first["campaign_id"]), members_of(api, second["campaign_id"])
    assert len(one) and len(two)
    assert not set(one["account_id"]) & set(two["account_id"])
    assert second["summary"]["excluded_in_other_campaign"] >= len(one)


def test_unknown_names_are_409_and_out_of_range_values_422(api) -> None:
    response = plan(api, channel_budgets={"fax": 10.0})
    assert response.status_code == 409 and "unknown channels ['fax']" in response.json()["detail"]
    assert plan(api, holdout=1.5).status_code == 422


@pytest.mark.parametrize("name", ["\xa0", "   ", "\u2003\u3000"])
def test_a_blank_name_is_refused_by_the_schema_it_publishes(api, name: str) -> None:
    """A name of spaces only is 422 naming the field, and the OpenAPI schema says so: a request
    the published schema allows is never refused for its name."""
    import re

    response = plan(api, name=name)
    assert response.status_code == 422 and "name" in response.text, response.text
    pattern = api.client.app.openapi()["components"]["schemas"]["CampaignIn"]["properties"]["name"]["pattern"]
    assert re.search(pattern, name) is None and re.search(pattern, f"{name}Spring push{name}")
    assert plan(api, name=f"{name}Spring push").status_code in (201, 409)
