"""What the service builds after it answers: account histories and attributed order lines are
built in the background; suggestions are served meanwhile, and a page that needs them before
they are ready waits and gets the same answer as if they had been built at start."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serving.deferred import Deferred
from serving.directory import AccountDirectory
from serving.snapshot import attributed_lines
from tests.serving.conftest import running_api


def test_a_deferred_value_is_built_once_by_whoever_comes_first() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def build() -> int:
        calls.append(1)
        gate.wait(5)
        return 42

    value = Deferred(build, name="answer").start()
    readers = [threading.Thread(target=value.get) for _ in range(4)]
    for reader in readers:
        reader.start()
    assert not value.is_ready
    gate.set()
    for reader in readers:
        reader.join(5)
    assert value.get() == 42 and calls == [1]
    unstarted = Deferred(lambda: "built by its reader", name="lazy")
    assert unstarted.get() == "built by its reader"


def test_a_failed_build_fails_every_reader_with_its_cause() -> None:
    def build() -> int:
        raise OSError("disk gone")

    value = Deferred(build, name="histories").start()
    for _ in range(2):
        with pytest.raises(RuntimeError, match="building histories failed: disk gone"):
            value.get(timeout=5)


def _fresh(serving_snapshot, small_dataset):
    """The session's snapshot with a directory and attributed lines not built yet."""
    as_of = serving_snapshot.as_of
    return dataclasses.replace(
        serving_snapshot, directory=AccountDirectory(small_dataset, as_of, serving_snapshot.suggestions.accounts),
        attributed=Deferred(lambda: attributed_lines(small_dataset, as_of), name="attributed order lines"))


def test_suggestions_are_served_while_histories_are_built_and_a_summary_waits_for_them(
        serving_snapshot, small_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = AccountDirectory._build_history

    def held_back(self, data):
        release.wait(30)
        return real(self, data)

    monkeypatch.setattr(AccountDirectory, "_build_history", held_back)
    snapshot = _fresh(serving_snapshot, small_dataset)
    account = str(snapshot.suggestions.accounts[7])
    with running_api(f"sqlite:///{tmp_path / 'bg.db'}", snapshot) as api:  # its start-up starts the builds
        got = api.client.get(f"/v1/accounts/{account}/suggestions?k=3", headers=api.headers("admin"))
        assert got.status_code == 200 and len(got.json()["suggestions"]) == 3
        assert not snapshot.directory._history.is_ready, "suggestions did not wait for the histories"
        summary: dict = {}

        def ask() -> None:
            summary["answer"] = api.client.get(f"/v1/accounts/{account}", headers=api.headers("admin"))

        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(0.3)
        assert "answer" not in summary, "the summary waits for the histories"
        release.set()
        asking.join(30)
    answer = summary["answer"]
    assert answer.status_code == 200, answer.text
    orders = small_dataset.orders
    mine = orders[(orders["account_id"] == account) & (orders["ordered_at"] < snapshot.as_of)]
    newest = mine.sort_values("ordered_at", ascending=False, kind="mergesort").head(10)
    assert [o["order_id"] for o in answer.json()["recent_orders"]] == newest["order_id"].astype(str).tolist()


def test_attributed_lines_asked_for_early_are_those_of_a_build_at_start(serving_snapshot, small_dataset) -> None:
    snapshot = _fresh(serving_snapshot, small_dataset)
    snapshot.start_background()
    early = snapshot.attributed_lines()  # most likely still being built: waits
    pd.testing.assert_frame_equal(early, attributed_lines(small_dataset, serving_snapshot.as_of))
    assert snapshot.attributed_lines() is early, "built once"


def test_a_snapshot_swapped_in_is_whole(serving_snapshot, small_dataset) -> None:
    snapshot = _fresh(serving_snapshot, small_dataset).prepare()
    assert snapshot.directory._history.is_ready
    assert isinstance(snapshot.attributed, Deferred) and snapshot.attributed.is_ready


def test_the_suggestions_body_is_what_the_response_model_gives(api) -> None:
    """The account endpoint renders suggestions itself; its JSON equals the response model's."""
    from serving.access import Access
    from serving.api.schemas import AccountSuggestions
    from serving.api.views import account_suggestions
    from serving.auth import Principal

    service = api.runtime.snapshot.suggestions
    admin = Access(Principal(user_id=0, name="admin", role="admin", rep_id=None, region=None))
    for account in service.account_ids[np.arange(0, len(service.account_ids), 37)].tolist():
        for lang in (None, "de"):
            query = "k=5" + (f"&lang={lang}" if lang else "")
            got = api.client.get(f"/v1/accounts/{account}/suggestions?{query}", headers=api.headers("admin"))
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "application/json"
            body = account_suggestions(api.runtime, admin, account, 5, lang).body
            want = json.loads(AccountSuggestions.model_validate(
                {**body, "suggestions": [dataclasses.asdict(s) for s in body["suggestions"]]}).model_dump_json())
            assert got.json() == want
