"""Hot reload: the service follows the champion alias, builds the new snapshot beside the old
one and swaps it in whole, with no failed request (the watcher alone, then the running app)."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from models.registry import MODEL_NAME, make_champion, register_challenger
from serving.model_watch import ChampionWatcher, follows_champion
from serving.settings import Settings
from tests.registry_fixtures import add_version, model_source, separate_registry
from tests.serving.conftest import running_api


def labelled(snapshot, version: int):
    """``snapshot`` as if it had been built by version ``version``."""
    return dataclasses.replace(snapshot, model=dataclasses.replace(snapshot.model,
                                                                   version=f"{MODEL_NAME}/{version}"))


def holder_for(snapshot, settings: Settings) -> SimpleNamespace:
    runtime = SimpleNamespace(settings=settings, snapshot=snapshot)
    runtime.with_snapshot = lambda snap: SimpleNamespace(settings=settings, snapshot=snap,
                                                         with_snapshot=runtime.with_snapshot)
    return SimpleNamespace(runtime=runtime)


def test_follows_champion_only_without_explicit_model(tmp_path: Path) -> None:
    assert follows_champion(Settings(data=tmp_path))
    assert not follows_champion(Settings(data=tmp_path, model=f"models:/{MODEL_NAME}/1"))
    assert not follows_champion(Settings(data=tmp_path, model_poll_seconds=0))
    assert not follows_champion(Settings())
    with pytest.raises(ValueError, match="expected seconds > 0, got 0"):
        ChampionWatcher(SimpleNamespace(runtime=None), 0)


def test_watcher_swaps_only_when_the_champion_moves(serving_snapshot, tmp_path: Path) -> None:
    champion = {"version": 1}
    loads: list[int] = []

    def load(settings: Settings):
        loads.append(champion["version"])
        return labelled(serving_snapshot, champion["version"])

    holder = holder_for(labelled(serving_snapshot, 1), Settings(data=tmp_path))
    watcher = ChampionWatcher(holder, 1.0, load=load, champion=lambda: champion["version"])
    before = holder.runtime

    assert not watcher.check_once() and loads == [] and holder.runtime is before
    champion["version"] = 2
    assert watcher.check_once()
    assert holder.runtime.snapshot.model.version == f"{MODEL_NAME}/2" and loads == [2]
    assert before.snapshot.model.version == f"{MODEL_NAME}/1", "the old snapshot is never modified"
    assert not watcher.check_once() and loads == [2]


def test_a_version_that_fails_to_load_keeps_the_old_one(serving_snapshot, tmp_path: Path) -> None:
    champion = {"version": 2}
    attempts: list[int] = []

    def load(settings: Settings):
        attempts.append(champion["version"])
        if champion["version"] == 2:
            raise OSError("artifact missing")
        return labelled(serving_snapshot, champion["version"])

    holder = holder_for(labelled(serving_snapshot, 1), Settings(data=tmp_path))
    watcher = ChampionWatcher(holder, 1.0, load=load, champion=lambda: champion["version"])

    with pytest.raises(OSError, match="artifact missing"):
        watcher.check_once()
    assert holder.runtime.snapshot.model.version == f"{MODEL_NAME}/1"
    assert not watcher.check_once() and attempts == [2], "a failed version is not retried"
    champion["version"] = 3
    assert watcher.check_once() and holder.runtime.snapshot.model.version == f"{MODEL_NAME}/3"


def test_running_service_switches_to_a_new_champion_without_failed_requests(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, trained_run, serving_snapshot,
        small_data_dir: Path) -> None:
    source = model_source(trained_run.model_version)
    with separate_registry(tmp_path / "home", tmp_path_factory.getbasetemp()):
        first = add_version(source)
        register_challenger(first)
        second = add_version(source)
        register_challenger(second)
        url = f"sqlite:///{tmp_path / 'service.db'}"
        with running_api(url, labelled(serving_snapshot, first), data=small_data_dir,
                         model_poll_seconds=0.2) as api:
            account = str(serving_snapshot.suggestions.accounts[0])
            paths = ["/health", "/v1/model", f"/v1/accounts/{account}/suggestions?k=2"]
            seen: list[list[tuple[int, str]]] = [[] for _ in range(3)]
            stop = threading.Event()

            def hammer(i: int) -> None:
                while not stop.is_set():
                    got = api.client.get(paths[i], headers=api.headers("admin"))
                    body = got.json() if got.status_code == 200 else {}
                    seen[i].append((got.status_code, body.get("model_version") or body.get("version", "")))
                    time.sleep(0.05)

            threads = [threading.Thread(target=hammer, args=(i,)) for i in range(3)]
            for thread in threads:
                thread.start()
            try:
                time.sleep(1.0)
                make_champion(second)
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    if api.client.get("/health").json()["model_version"] == f"{MODEL_NAME}/{second}":
                        break
                    time.sleep(0.2)
                time.sleep(0.5)
            finally:
                stop.set()
                for thread in threads:
                    thread.join()

        # /health and /v1/model name the snapshot's model; suggestions name the scoring model's
        # version, which for the relabelled starting snapshot is the session model's.
        old_labels = [f"{MODEL_NAME}/{first}"] * 2 + [serving_snapshot.suggestions.model_version]
        for results, old_label in zip(seen, old_labels, strict=True):
            assert results, "every client must have been answered"
            assert all(code == 200 for code, _ in results), {code for code, _ in results}
            versions = [v for _, v in results]
            assert versions[0] == old_label
            assert versions[-1] == f"{MODEL_NAME}/{second}"
            switched = versions.index(f"{MODEL_NAME}/{second}")
            assert set(versions[switched:]) == {f"{MODEL_NAME}/{second}"}, "never back to the old one"


def test_a_reload_over_the_same_files_keeps_their_order_lines_and_caches(serving_snapshot, tmp_path: Path) -> None:
    """A new model over unchanged files holds the served snapshot's attributed order lines, so
    the scoreboard's caches (keyed by ``data_key``) stay valid; other files or another as-of do not."""
    first = dataclasses.replace(labelled(serving_snapshot, 1), data_fingerprint="f1")
    attributed = first.attributed_lines()
    rebuilt = dataclasses.replace(labelled(serving_snapshot, 2), data_fingerprint="f1",
                                  attributed=attributed.copy())
    assert rebuilt.data_key != first.data_key

    holder = holder_for(first, Settings(data=tmp_path))
    watcher = ChampionWatcher(holder, 1.0, load=lambda _s: rebuilt, champion=lambda: 2)
    assert watcher.check_once()
    served = holder.runtime.snapshot
    assert served.model.version == f"{MODEL_NAME}/2" and served.attributed is first.attributed
    assert served.data_key == first.data_key and served.key != first.key, "model caches are not kept"

    for other in (dataclasses.replace(rebuilt, data_fingerprint="f2"),
                  dataclasses.replace(rebuilt, data_fingerprint=""),
                  dataclasses.replace(rebuilt, as_of=rebuilt.as_of + pd.Timedelta(days=1)),
                  dataclasses.replace(rebuilt, data_dir=tmp_path)):
        assert other.sharing_data_of(first).attributed is other.attributed
    assert dataclasses.replace(first, data_fingerprint="").sharing_data_of(
        dataclasses.replace(first, data_fingerprint="")).attributed is first.attributed


def test_the_reload_works_with_short_thread_switches_and_restores_them(serving_snapshot, tmp_path: Path) -> None:
    import sys

    from serving.model_watch import RELOAD_SWITCH_SECONDS

    seen: list[float] = []

    def load(settings: Settings):
        seen.append(sys.getswitchinterval())
        return labelled(serving_snapshot, 2)

    before = sys.getswitchinterval()
    holder = holder_for(labelled(serving_snapshot, 1), Settings(data=tmp_path))
    assert ChampionWatcher(holder, 1.0, load=load, champion=lambda: 2).check_once()
    assert seen == [pytest.approx(RELOAD_SWITCH_SECONDS)] and RELOAD_SWITCH_SECONDS < before
    assert sys.getswitchinterval() == before
