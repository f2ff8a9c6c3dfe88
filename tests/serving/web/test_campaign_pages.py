"""Marketing's campaign pages: preview before saving (and why a plan is empty), list, cancel,
export, the lift report with its chart once outcomes are in, and the campaign's name on a rep's
card (SQLite; the API behind them runs on both databases in tests/serving)."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from tests.serving.web.conftest import csrf_of, sign_in


def _form(client, **fields) -> dict:
    csrf = csrf_of(client.get("/ui/campaigns/new").text)
    return {"csrf_token": csrf, "seed": "7", "holdout_pct": "0", "min_value": "0", **fields}


def test_only_planners_see_campaign_pages(web) -> None:
    for user in ("rep", "manager"):
        client = sign_in(web, user)
        assert client.get("/ui/campaigns").status_code == 404
        assert client.get("/ui/campaigns/new").status_code == 404
        assert 'href="/ui/campaigns"' not in client.get("/ui/").text
    marketing = sign_in(web, "marketing")
    assert marketing.get("/ui/campaigns").status_code == 200
    assert 'href="/ui/campaigns"' in marketing.get("/ui/").text
    assert marketing.post("/ui/campaigns/preview", data={"name": "x"}).status_code == 403  # no CSRF token


def test_preview_save_list_export_cancel_and_the_card(web) -> None:
    client = sign_in(web, "marketing")
    fields = _form(client, name="Visits =1+1", channels=["phone", "visit"], budget_phone="100,5")
    preview = client.post("/ui/campaigns/preview", data=fields, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert 'id="preview-result"' in preview.text and "<html" not in preview.text
    assert "Preview: Visits =1+1 (not saved)" in preview.text
    contacted = int(re.search(r'id="preview-contacted">([\d,]+)<', preview.text).group(1).replace(",", ""))
    assert contacted > 0
    assert client.get("/ui/campaigns").text.count("data-campaign=") == 0  # a preview stores nothing

    saved = client.post("/ui/campaigns", data=fields, follow_redirects=False)
    assert saved.status_code == 303
    url = saved.headers["location"]
    campaign_id = url.rsplit("/", 1)[1]
    detail = client.get(url)
    assert "Campaign Visits =1+1" in detail.text and 'data-status="active"' in detail.text
    assert "No outcomes yet" in detail.text
    assert f'data-campaign="{campaign_id}"' in client.get("/ui/campaigns").text

    exported = client.get(f"{url}/export.csv?sep=%3B")
    text = exported.content.decode("utf-8-sig")
    frame = pd.read_csv(io.StringIO(text), sep=";", decimal=",")
    assert len(frame) == contacted and set(frame["channel"]) <= {"phone", "visit"}
    assert "." not in text.splitlines()[1].split(";")[5]
    german = client.get(f"{url}/export.csv?lang=de").content.decode("utf-8-sig")
    assert german.splitlines()[0].startswith("member_id;")

    rep_user = next((u for u in ("rep", "rep_other") if web.scopes[u]["rep_id"] in set(frame["rep_id"])), None)
    assert rep_user is not None, "the test reps own no campaign member"
    mine = frame.loc[frame["rep_id"] == web.scopes[rep_user]["rep_id"]]
    rep = sign_in(web, rep_user)
    carded = [a for a in mine["account_id"] if "Campaign: Visits =1+1" in rep.get(f"/ui/accounts/{a}").text]
    assert carded

    again = client.post("/ui/campaigns/preview", data=_form(client, name="Again", channels=["phone", "visit"]))
    assert again.status_code == 200
    refused = client.post("/ui/campaigns", data=_form(client, name="Visits =1+1", channels=["email"]))
    assert refused.status_code == 409 and "already exists" in refused.text

    csrf = csrf_of(detail.text)
    cancelled = client.post(f"{url}/cancel", data={"csrf_token": csrf}, follow_redirects=False)
    assert cancelled.status_code == 303
    assert 'data-status="cancelled"' in client.get(url).text
    assert 'data-status="cancelled"' in client.get("/ui/campaigns").text
    assert "Campaign: Visits" not in sign_in(web, rep_user).get(f"/ui/accounts/{carded[0]}").text


def test_an_empty_plan_says_why_in_both_languages(web) -> None:
    client = sign_in(web, "admin")
    fields = _form(client, name="Too rich", min_value="1000000000")
    english = client.post("/ui/campaigns/preview", data=fields, headers={"HX-Request": "true"})
    assert "would contact nobody: no account has an eligible action" in english.text
    german = client.post("/ui/campaigns/preview?lang=de", data=fields, headers={"HX-Request": "true"})
    assert "würde niemanden erreichen" in german.text
    refused = client.post("/ui/campaigns?lang=en", data=fields)
    assert refused.status_code == 409 and "would contact nobody" in refused.text
    bad = client.post("/ui/campaigns/preview?lang=en", data={**fields, "holdout_pct": "abc"},
                      headers={"HX-Request": "true"})
    assert "Please check the field “Control group”" in bad.text


@pytest.fixture(scope="module")
def measured_campaign(web) -> str:
    """A campaign planned 60 days before the data ends, so that outcomes are in."""
    from serving.api.campaign_views import planning_dataset, snapshot_recommendations
    from serving.campaigns.service import CampaignRequest, plan_and_store
    from serving.store.users import utcnow

    snap = web.runtime.snapshot
    with web.runtime.sessions() as session:
        campaign, _plan = plan_and_store(
            session, CampaignRequest(name="Spring mail", channels=["email", "webshop_banner"], holdout=0.5, seed=3),
            recommendations=snapshot_recommendations(snap.suggestions), dataset=planning_dataset(web.runtime),
            as_of=snap.as_of - pd.Timedelta(days=60), model_version=snap.model.version, user_id=None, now=utcnow())
    return campaign.id


def test_the_report_and_its_chart_once_outcomes_are_in(web, measured_campaign) -> None:
    client = sign_in(web, "marketing")
    page = client.get(f"/ui/campaigns/{measured_campaign}")
    assert page.status_code == 200
    assert 'id="report"' in page.text and "nan" not in page.text.lower()
    assert f'src="/ui/campaigns/{measured_campaign}/report.svg?lang=en"' in page.text
    chart = client.get(f"/ui/campaigns/{measured_campaign}/report.svg?lang=de")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in chart.text and "<text" not in chart.text  # text drawn as paths
    german = client.get(f"/ui/campaigns/{measured_campaign}?lang=de").text
    assert "Wirkungsbericht" in german and "Abschlussquote kontaktiert" in german
