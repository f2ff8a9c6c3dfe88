"""Memory after a hot reload: nothing in the service (caches of pages, charts, scoreboards and
funnels, the decision log, the feedback index) keeps the replaced snapshot alive after API and
page traffic, and the memory it freed goes back to the operating system."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.model_watch import ChampionWatcher
from serving.runtime import release_free_memory, settle_heap
from serving.settings import Settings
from tests.serving.conftest import two_reps_in_two_regions
from tests.serving.web.conftest import csrf_of

ROOT = Path(__file__).resolve().parents[2]


def _traffic(client: TestClient, token: str, rep: str, account: str, answer_on_page: bool = True) -> None:
    """What the soak does: API reads and feedback, pages, the scoreboard and its charts (and a card
    answered on the account page, once: a call marked done leaves the account's cards)."""
    headers = {"Authorization": f"Bearer {token}"}
    got = client.get(f"/v1/accounts/{account}/suggestions?k=3", headers=headers)
    assert got.status_code == 200, got.text
    suggestions = got.json()["suggestions"]  # the API answers a marketing card; the page, the rep's card
    sid = next((s for s in suggestions if s["executed_by"] != "rep"), suggestions[0])["suggestion_id"]
    assert client.post("/v1/feedback", json={"suggestion_id": sid, "status": "accepted"},
                       headers=headers).status_code == 201
    assert client.get(f"/v1/reps/{rep}/suggestions?k=2", headers=headers).status_code == 200
    assert client.get("/v1/model", headers=headers).status_code == 200
    browser = TestClient(client.app)
    form = browser.get("/ui/login")
    browser.post("/ui/login", data={"token": token, "csrf_token": csrf_of(form.text)}, follow_redirects=False)
    page = browser.get(f"/ui/accounts/{account}")
    assert page.status_code == 200, page.text
    for path in ("/ui/", "/ui/scoreboard", f"/ui/charts/revenue.svg?rep_id={rep}", f"/ui/charts/funnel.svg?rep_id={rep}"):
        assert browser.get(path).status_code == 200, path
    if not answer_on_page:
        return
    assert 'name="suggestion_id" value="' in page.text, "no card to answer on the account page"
    shown = page.text.split('name="suggestion_id" value="')[1].split('"')[0]
    answer = browser.post("/ui/feedback", data={"suggestion_id": shown, "action": "done",
                                                "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_a_replaced_snapshot_is_freed_after_traffic(tmp_path: Path, small_dataset, trained_run) -> None:
    from serving.app import create_app
    from serving.runtime import open_runtime
    from serving.snapshot import build_snapshot_state
    from serving.store.users import add_user

    def fresh():
        return build_snapshot_state(small_dataset, trained_run.result.pipeline, trained_run.model_version,
                                    as_of=small_dataset.default_as_of())

    old = fresh()
    rep, _, _, _ = two_reps_in_two_regions(old)
    account = _with_rep_action(old, rep)  # its page has a card the rep answers
    runtime = open_runtime(Settings(database_url=f"sqlite:///{tmp_path / 'service.db'}", data=tmp_path,
                                    model_poll_seconds=0), old)
    with runtime.sessions() as session:
        _user, token = add_user(session, name="rep", role="rep", rep_id=rep)
    app = create_app(runtime=runtime)
    gone = [weakref.ref(x) for x in (old.suggestions, old.directory, old.attributed)]
    del old, runtime
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            _traffic(client, token, rep, account)
            new = fresh()
            watcher = ChampionWatcher(app.state, 60.0, load=lambda _s: _relabel(new), champion=lambda: 2)
            assert watcher.check_once()
            _traffic(client, token, rep, account, answer_on_page=False)
        gc.collect()
        alive = [type(ref()).__name__ for ref in gone if ref() is not None]
        assert not alive, f"the replaced snapshot's {alive} are still referenced"
    finally:
        app.state.runtime.close()


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_the_first_snapshot_is_freed_after_a_reload_of_the_started_service(
        command: str, tmp_path: Path, small_data_dir: Path, trained_run, monkeypatch: pytest.MonkeyPatch) -> None:
    """``symbiose serve`` and ``symbiose demo`` keep nothing of the snapshot they started with
    while the server runs: once a new champion is swapped in, the first one is freed."""
    import uvicorn
    from rich.console import Console

    from serving.cli import main
    from serving.cli.demo import serve_demo

    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    monkeypatch.setenv("SYMBIOSE_MODEL_POLL_SECONDS", "0")
    monkeypatch.setenv("SYMBIOSE_ACCESS_LOG", "false")
    first_alive: list[bool] = []

    def run_and_reload(app, **_options) -> None:  # instead of serving: one hot reload
        first = weakref.ref(app.state.runtime.snapshot.suggestions)
        watcher = ChampionWatcher(app.state, 60.0, load=lambda _s: _copy(app.state.runtime.snapshot),
                                  champion=lambda: 2)
        assert watcher.check_once()
        gc.collect()
        first_alive.append(first() is not None)

    monkeypatch.setattr(uvicorn, "run", run_and_reload)
    if command == "serve":
        try:
            main(["serve", "--data", str(small_data_dir), "--model", trained_run.model_uri])
        except SystemExit as exc:
            assert not exc.code, f"symbiose serve exited with {exc.code}"
    else:  # the end of `symbiose demo`, after its data, training and summary
        serve_demo(small_data_dir, model=trained_run.model_uri, console=Console(file=io.StringIO()))
    assert first_alive == [False], f"symbiose {command} still holds its first snapshot after a reload"


def test_serve_keeps_nothing_of_the_tables_it_read_at_start_but_the_snapshot(
        tmp_path: Path, small_data_dir: Path, trained_run, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables ``symbiose serve`` read while its code loaded (``serving.data_reading``) are
    freed once a snapshot read anew replaces the first one."""
    import uvicorn

    import serving.data_reading as data_reading
    from serving.cli import main
    from serving.snapshot import load_snapshot

    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    monkeypatch.setenv("SYMBIOSE_MODEL_POLL_SECONDS", "0")
    monkeypatch.setenv("SYMBIOSE_ACCESS_LOG", "false")
    read_at_start: list[weakref.ref] = []
    read = data_reading.load_dataset

    def recorded(directory: Path):
        dataset = read(directory)
        read_at_start.append(weakref.ref(dataset))
        return dataset

    monkeypatch.setattr(data_reading, "load_dataset", recorded)
    alive: list[bool] = []

    def run_and_reload(app, **_options) -> None:  # instead of serving: one reload read anew
        monkeypatch.setattr(data_reading, "load_dataset", read)
        fresh = load_snapshot(Settings(data=small_data_dir, model=trained_run.model_uri))
        watcher = ChampionWatcher(app.state, 60.0, load=lambda _s: _relabel(fresh), champion=lambda: 2)
        assert watcher.check_once()
        gc.collect()
        alive.extend(ref() is not None for ref in read_at_start)

    monkeypatch.setattr(uvicorn, "run", run_and_reload)
    try:
        main(["serve", "--data", str(small_data_dir), "--model", trained_run.model_uri])
    except SystemExit as exc:
        assert not exc.code, f"symbiose serve exited with {exc.code}"
    assert alive == [False], "symbiose serve still holds the tables it read at start"


class _Cycle:
    """Garbage only the cyclic collector frees, holding ``held`` while it lives."""

    def __init__(self, held: object) -> None:
        self.me = self
        self.held = held


@pytest.mark.parametrize("cycle", [False, True], ids=["freed at the swap", "held by a frozen cycle"])
def test_a_swap_walks_frozen_objects_only_when_the_replaced_snapshot_outlives_it(
        cycle: bool, tmp_path: Path, small_dataset, trained_run) -> None:
    """The swap collects young objects only (no pause over the frozen snapshot); one poll later,
    a full collection runs only when part of the replaced snapshot is still alive."""
    from types import SimpleNamespace

    from serving.runtime import open_runtime
    from serving.snapshot import build_snapshot_state

    old = build_snapshot_state(small_dataset, trained_run.result.pipeline, trained_run.model_version,
                               as_of=small_dataset.default_as_of())
    holder = SimpleNamespace(runtime=open_runtime(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}",
                                                           data=tmp_path, model_poll_seconds=0), old))
    gone = weakref.ref(old.suggestions)
    try:
        settle_heap()  # as at start: everything alive is frozen
        if cycle:
            _Cycle(old.suggestions)  # unreachable at once, alive until a full collection walks it
            gc.freeze()  # as a cycle made while serving and frozen at a swap
        del old
        watcher = ChampionWatcher(holder, 60.0, load=lambda _s: _copy(holder.runtime.snapshot), champion=lambda: 2)
        assert watcher.check_once()
        assert holder.runtime.snapshot.model.version == "symbiose-nba/2"
        assert (gone() is not None) is cycle
        assert gc.get_freeze_count() > 0  # the new snapshot is out of the collector's view
        assert watcher.free_replaced() is cycle
        assert watcher.full_collections == int(cycle)
        assert gone() is None
        assert not watcher.free_replaced()  # once per swap
    finally:
        holder.runtime.close()
        gc.unfreeze()


def _copy(snapshot):
    """The same snapshot under version 2, with suggestions of its own (the served ones can go)."""
    import copy
    import dataclasses

    return dataclasses.replace(_relabel(snapshot), suggestions=copy.copy(snapshot.suggestions))


def _with_rep_action(snapshot, rep: str) -> str:
    """The first account of ``rep`` with a call or visit among its top three suggestions."""
    from serving.feedback_index import NO_EFFECTS

    service = snapshot.suggestions
    for pos in snapshot.directory.rep_accounts(rep).tolist():
        if any(s.executed_by == "rep" for s in service.records(service.pick(np.array([pos]), 3, NO_EFFECTS))):
            return str(service.accounts[pos])
    raise AssertionError(f"no account of {rep} has a rep action")


def _relabel(snapshot):
    import dataclasses

    return dataclasses.replace(snapshot, model=dataclasses.replace(snapshot.model, version="symbiose-nba/2"))



@pytest.mark.skipif(not release_free_memory(), reason="the C library has no malloc_trim")
def test_settle_heap_gives_freed_heap_memory_back() -> None:
    chunks, pins = [], []
    for _ in range(2000):  # 64 KB each from the heap, each followed by a small block that stays
        chunks.append(np.ones(8000))
        pins.append(bytearray(600))
    before = _rss_mib()
    del chunks
    freed = _rss_mib()
    settle_heap()
    after = _rss_mib()
    # glibc may hand back part of it by itself (where the heap's top was free); the rest is trimmed
    assert before - after > 100, f"RSS {before:.0f} MiB, after freeing 125 MiB {freed:.0f}, settled {after:.0f}"
    assert pins


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


ARROW_READS = """
import sys
from pathlib import Path
import pandas as pd
from serving.runtime import release_free_memory

def rss():
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024

path = sys.argv[1]
pd.read_parquet(path)  # the first read sets up Arrow's allocator and pandas' caches
release_free_memory()
base = rss()
for _ in range(3):
    frame = pd.read_parquet(path)
    del frame
kept = rss()
release_free_memory()
print(base, kept, rss())
"""


@pytest.mark.skipif(not release_free_memory(), reason="the C library has no malloc_trim")
def test_memory_arrow_kept_after_reading_parquet_is_given_back(tmp_path: Path) -> None:
    """Reading batch scores goes through Arrow's own allocator, whose freed pages ``malloc_trim``
    does not reach; ``release_free_memory`` hands them back too. Measured in a process of its own:
    a test worker's heap holds what earlier tests left, which moves its RSS by itself."""
    path = tmp_path / "scores.parquet"
    pd.DataFrame({"rank": np.arange(2_000_000),
                  "reasons": [f"reason {i % 5000}" for i in range(2_000_000)]}).to_parquet(path)
    env = {k: v for k, v in os.environ.items() if k != "SYMBIOSE_ARROW_SYSTEM_ALLOCATOR"}
    out = subprocess.run([sys.executable, "-c", ARROW_READS, str(path)], capture_output=True, text=True,
                         cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert out.returncode == 0, out.stderr
    base, kept, after = (float(x) for x in out.stdout.split())
    assert after - base < 30, f"RSS {base:.0f} MiB, after three reads {kept:.0f}, released {after:.0f}"


def test_snapshot_text_is_held_once_per_distinct_value(tmp_path: Path) -> None:
    from serving.directory import shared_strings

    given = pd.Series(["call", "visit", "call", None, np.nan, "visit"], dtype=object)
    out = shared_strings(given)
    assert out.tolist()[:3] == ["call", "visit", "call"] and out[0] is out[2] and out[1] is out[5]
    assert out[3] is None and isinstance(out[4], float) and np.isnan(out[4])
    read = pd.Series([f"reason {i % 3}" for i in range(30)]).to_frame("r")
    read.to_parquet(tmp_path / "r.parquet")
    column = pd.read_parquet(tmp_path / "r.parquet")["r"]
    assert column.to_numpy(dtype=object)[0] is not column.to_numpy(dtype=object)[3]
    shared = shared_strings(column)
    assert len({id(x) for x in shared}) == 3 and shared.tolist() == read["r"].tolist()
