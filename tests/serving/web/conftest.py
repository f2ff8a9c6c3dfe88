"""Web fixtures: one app per module on SQLite with the serving users, and signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.serving.conftest import Api, fresh_database, running_api

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, serving_snapshot) -> Iterator[Api]:
    """The app with users rep, rep_other, manager, manager_other, marketing, admin, revoked."""
    with fresh_database("sqlite", tmp_path_factory.mktemp("web")) as url, \
            running_api(url, serving_snapshot) as running:
        yield running


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def sign_in(api: Api, user: str, **headers: str):
    """A fresh client signed in as ``user`` through the sign-in form."""
    from fastapi.testclient import TestClient

    client = TestClient(api.client.app, headers=headers)
    form = client.get("/ui/login")
    assert form.status_code == 200, form.text
    answer = client.post("/ui/login", data={"token": api.tokens[user], "csrf_token": csrf_of(form.text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def own_account(api: Api, user: str) -> str:
    """An account owned by the rep ``user`` (side a for rep, side b for rep_other) with a call or
    visit among its suggestions (a rep can act on its cards)."""
    return account_where(api, user, has_rep_action)


def account_where(api: Api, user: str, wanted, skip: int = 0) -> str:
    """An account of the rep ``user`` whose top three suggestions (before feedback) satisfy
    ``wanted`` (a predicate over the list of suggestions); the ``skip``-th such account."""
    import numpy as np

    from serving.feedback_index import NO_EFFECTS

    snapshot = api.runtime.snapshot
    service = snapshot.suggestions
    for pos in snapshot.directory.rep_accounts(api.scopes[user]["rep_id"]).tolist():
        if wanted(service.records(service.pick(np.array([pos]), 3, NO_EFFECTS))):
            if skip == 0:
                return str(service.accounts[pos])
            skip -= 1
    raise AssertionError(f"no account of {user} has such suggestions")


def has_rep_action(suggestions) -> bool:
    return any(s.executed_by == "rep" for s in suggestions)


def has_marketing_action(suggestions) -> bool:
    return any(s.executed_by == "marketing" for s in suggestions)
