"""Account ids as ERP exports write them: with "/", spaces, "#", "?", "%" and "&". Each one that
appears in a list can be opened by the API and by the page link the list gives."""

from __future__ import annotations

import html
import re
import shutil
from urllib.parse import quote

import pandas as pd
import pytest

from tests.serving.conftest import fresh_database, running_api
from tests.serving.web.conftest import sign_in

#: Generated account id -> id as an ERP might export it.
RENAMED = {"A000003": "K-4711/01", "A000004": "K 4711/02#a?b=c", "A000005": "50%/2F & more",
           "A000006": "/leading/and/trailing/"}
ID_COLUMN = "account_id"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def erp_api(request, tmp_path_factory, small_data_dir, trained_run):
    """The app over the small data set with some accounts renamed as in :data:`RENAMED`."""
    from features.loading import load_dataset
    from serving.snapshot import build_snapshot_state

    data = tmp_path_factory.mktemp("erp-ids") / "data"
    shutil.copytree(small_data_dir, data)
    for table in ("accounts", "orders", "touches", "web_events"):
        path = data / f"{table}.csv"
        frame = pd.read_csv(path, dtype={ID_COLUMN: str}, keep_default_na=False)
        frame[ID_COLUMN] = frame[ID_COLUMN].replace(RENAMED)
        frame.to_csv(path, index=False)
    dataset = load_dataset(data)
    snapshot = build_snapshot_state(dataset, trained_run.result.pipeline, trained_run.model_version,
                                    as_of=dataset.default_as_of())
    assert set(RENAMED.values()) <= {str(a) for a in snapshot.suggestions.accounts}
    with fresh_database(request.param, tmp_path_factory.mktemp("erp-db")) as url, \
            running_api(url, snapshot) as api:
        yield api


@pytest.mark.parametrize("account", list(RENAMED.values()))
def test_api_opens_accounts_whose_id_has_a_slash(erp_api, account: str) -> None:
    encoded = quote(account, safe="")
    summary = erp_api.client.get(f"/v1/accounts/{encoded}", headers=erp_api.headers("admin"))
    assert summary.status_code == 200, summary.text
    assert summary.json()["account_id"] == account
    suggestions = erp_api.client.get(f"/v1/accounts/{encoded}/suggestions?k=2", headers=erp_api.headers("admin"))
    assert suggestions.status_code == 200, suggestions.text
    assert suggestions.json()["account_id"] == account and suggestions.json()["suggestions"]


def test_pages_link_to_accounts_whose_id_has_a_slash(erp_api) -> None:
    client = sign_in(erp_api, "admin")
    for account in RENAMED.values():
        listing = client.get("/ui/", params={"q": account})
        assert listing.status_code == 200
        links = [html.unescape(h) for h in re.findall(r'href="(/ui/accounts/[^"]+)"', listing.text)]
        assert links, f"no link to {account!r} in the list"
        page = client.get(links[0])
        assert page.status_code == 200, (account, links[0])
        assert html.escape(account) in page.text


def test_feedback_on_such_an_account_returns_to_its_page(erp_api) -> None:
    account = "K 4711/02#a?b=c"
    client = sign_in(erp_api, "admin")
    page = client.get(f"/ui/accounts/{quote(account, safe='')}")
    sid = re.search(r'name="suggestion_id" value="([0-9a-f]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/ui/feedback", data={"suggestion_id": sid, "action": "done", "csrf_token": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert client.get(answer.headers["location"]).status_code == 200
