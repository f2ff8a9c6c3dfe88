"""Starting the service from batch scores: the recommendations file of `symbiose recommend` is
served when its sidecar matches model, data and as-of, never when it does not, and accounts it
misses are scored when first asked for."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import serving.suggestions
from serving.child_scoring import SCORED_IN_CHILD
from serving.scores import (
    ScoresMeta,
    data_fingerprint,
    later_path,
    read_scores_meta,
    scores_mismatches,
    sidecar_path,
)
from serving.settings import Settings
from serving.snapshot import load_snapshot
from tests.serving.cli_helpers import command_app, invoke

CANDIDATES = 20
LATER_DAYS = Settings().rep_day_days


@pytest.fixture(scope="module")
def model_uri(trained_run) -> str:
    return f"models:/{trained_run.model_version}"


@pytest.fixture(scope="module")
def scores_file(small_data_dir: Path, model_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`symbiose recommend --top-k 20 --later-days 14` of the small data set with the session's model."""
    from serving.cli.model import register

    out = tmp_path_factory.mktemp("scores") / "recs.parquet"
    code, stdout, stderr = invoke(command_app(register), ["recommend", "--data", small_data_dir, "--out", out,
                                                         "--top-k", CANDIDATES, "--model", model_uri,
                                                         "--later-days", LATER_DAYS])
    assert code == 0, stdout + stderr
    return out


@pytest.fixture
def scoring_spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of accounts of every scoring pass of the service (start-up and on demand); not
    the look-ahead of a start that scores, which scores the calls and visits blocked today for the
    rep's day (``eligible_on``, ``serving.suggestions.with_later``)."""
    calls: list[int] = []
    real = serving.suggestions.score_dataset

    def counted(dataset, *args, **kwargs):
        if kwargs.get("eligible_on") is None:
            calls.append(len(dataset.accounts))
        return real(dataset, *args, **kwargs)

    monkeypatch.setattr(serving.suggestions, "score_dataset", counted)
    return calls


def copy_scores(scores_file: Path, directory: Path, *, keep=None, meta: dict | None = None) -> Path:
    """A copy of the scores file (only rows where ``keep`` is true) and its later rows, with its
    sidecar (fields replaced by ``meta``)."""
    target = directory / scores_file.name
    frame = pd.read_parquet(scores_file)
    frame[keep(frame) if keep else slice(None)].to_parquet(target, index=False)
    if later_path(scores_file).is_file():
        shutil.copy(later_path(scores_file), later_path(target))
    data = json.loads(sidecar_path(scores_file).read_text()) | (meta or {})
    sidecar_path(target).write_text(json.dumps(data))
    return target


def test_recommend_writes_a_sidecar_of_model_data_and_as_of(scores_file: Path, small_data_dir: Path,
                                                           small_dataset, trained_run) -> None:
    meta = read_scores_meta(scores_file)
    assert meta.model_version == trained_run.model_version
    assert pd.Timestamp(meta.as_of) == small_dataset.default_as_of()
    assert meta.data_fingerprint == data_fingerprint(small_data_dir)
    assert meta.top_k == CANDIDATES and meta.accounts == len(small_dataset.accounts)


def test_start_from_a_valid_scores_file_scores_nothing(scores_file: Path, small_data_dir: Path, model_uri: str,
                                                      scoring_spy: list[int], serving_snapshot) -> None:
    snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=scores_file))
    assert scoring_spy == [], "a valid scores file is served without scoring any account"
    assert snap.scored_from == f"scores file {scores_file}"
    assert snap.suggestions.unscored == 0
    # The same first suggestions as scoring at start gives (reasons, values and ids).
    from serving.store.feedback import FeedbackEffects

    positions = np.arange(len(snap.suggestions.accounts))
    none = FeedbackEffects(frozenset(), {})
    served = snap.suggestions.records(snap.suggestions.pick(positions, 3, none))
    scored = serving_snapshot.suggestions.records(serving_snapshot.suggestions.pick(positions, 3, none))
    assert [s.suggestion_id for s in served] == [s.suggestion_id for s in scored]
    assert [s.reasons for s in served] == [s.reasons for s in scored]
    np.testing.assert_allclose([s.expected_incremental_margin for s in served],
                               [s.expected_incremental_margin for s in scored])


def later_held(snap) -> pd.DataFrame:
    """The later rows a snapshot's service holds: account, action, rank and values."""
    cols = snap.suggestions.cols
    rows = pd.DataFrame({name: cols[name] for name in ("account_id", "channel", "offer_id", "discount_pct",
                                                        "expected_incremental_margin", "p_convert")})
    rows["rank"] = snap.suggestions.account_pos  # grouped by account, best first: the order is the rank
    rows = rows.loc[cols[serving.suggestions.LATER]]
    return rows.sort_values(["account_id", "channel", "offer_id", "discount_pct"]).reset_index(drop=True)


def test_later_rows_of_the_file_are_those_a_start_that_scores_finds(
        scores_file: Path, small_data_dir: Path, model_uri: str, serving_snapshot,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The rep's day of a service started from a file written with --later-days lists the same
    calls and visits for later as one that scored at start, and scores nothing for them."""
    meta = read_scores_meta(scores_file)
    scored = later_held(serving_snapshot)
    assert len(scored) and meta.later_days == LATER_DAYS and meta.later_rows >= len(scored)

    calls: list[int] = []
    real = serving.suggestions.score_dataset
    monkeypatch.setattr(serving.suggestions, "score_dataset",
                        lambda dataset, *a, **kw: calls.append(len(dataset.accounts)) or real(dataset, *a, **kw))
    snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=scores_file))
    assert calls == [] and snap.scored_from == f"scores file {scores_file}"
    served = later_held(snap)
    pd.testing.assert_frame_equal(served.drop(columns="rank"), scored.drop(columns="rank"), rtol=1e-12)


def test_a_file_without_later_rows_serves_todays_calls_and_says_how_to_get_the_others(
        scores_file: Path, small_data_dir: Path, model_uri: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    without = copy_scores(scores_file, tmp_path, meta={"later_days": 0, "later_rows": 0})
    later_path(without).unlink()
    with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
        snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=without))
    assert snap.scored_from == f"scores file {without}"
    assert later_held(snap).empty
    assert "written without --later-days" in caplog.text and f"--later-days {LATER_DAYS}" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
        other = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=scores_file,
                                       rep_day_days=LATER_DAYS + 1))
    assert later_held(other).empty and f"written with --later-days {LATER_DAYS}" in caplog.text


@pytest.mark.parametrize("damage", ["missing", "fewer rows"])
def test_scores_whose_later_rows_are_lost_are_not_served(damage: str, scores_file: Path, small_data_dir: Path,
                                                        model_uri: str, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    copy = copy_scores(scores_file, tmp_path)
    if damage == "missing":
        later_path(copy).unlink()
    else:
        pd.read_parquet(later_path(copy)).iloc[1:].to_parquet(later_path(copy), index=False)
    with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
        snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=copy))
    assert snap.scored_from == "scored at start"
    assert ("no such file" if damage == "missing" else "its sidecar says") in caplog.text


def test_reasons_from_a_scores_file_come_in_the_page_language(scores_file: Path, small_data_dir: Path,
                                                              model_uri: str, serving_snapshot) -> None:
    """`recommend` writes the reasons as data too, so a service started from its file shows
    German pages in German, as one that scored at start does."""
    from serving.reasons import in_language
    from serving.store.feedback import FeedbackEffects

    assert pd.read_parquet(scores_file)["reason_codes"].notna().all()
    snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=scores_file))
    positions = np.arange(0, len(snap.suggestions.accounts), 5)
    none = FeedbackEffects(frozenset(), {})
    served = in_language(snap.suggestions.records(snap.suggestions.pick(positions, 3, none)),
                         snap.suggestions, "de", snap.currency)
    scored = in_language(serving_snapshot.suggestions.records(serving_snapshot.suggestions.pick(positions, 3, none)),
                         serving_snapshot.suggestions, "de", serving_snapshot.currency)
    assert [s.reasons for s in served] == [s.reasons for s in scored]
    english = snap.suggestions.records(snap.suggestions.pick(positions, 3, none))
    assert any(de.reasons != en.reasons for de, en in zip(served, english, strict=True))


def test_a_scores_file_of_the_earlier_layout_is_not_served(scores_file: Path, small_data_dir: Path,
                                                           model_uri: str, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    old = copy_scores(scores_file, tmp_path, meta={"format": 1})
    with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
        snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=old))
    assert snap.scored_from == "scored at start"
    assert "sidecar format 1, expected 2" in caplog.text and "write the file again" in caplog.text


@pytest.mark.parametrize("change", [
    {"model_version": "symbiose-nba/999"},
    {"as_of": "2020-01-01T00:00:00"},
    {"data_fingerprint": "0" * 64},
    {"top_k": 3},
])
def test_a_mismatched_scores_file_is_not_served(change: dict, scores_file: Path, small_data_dir: Path,
                                               model_uri: str, scoring_spy: list[int], tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    stale = copy_scores(scores_file, tmp_path, meta=change)
    with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
        snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=stale))
    assert snap.scored_from == "scored at start"
    assert len(scoring_spy) == 1 and scoring_spy[0] == len(snap.suggestions.accounts), "scored all instead"
    assert f"not serving the scores file {stale}" in caplog.text


def test_scores_of_a_changed_data_directory_are_not_served(scores_file: Path, small_data_dir: Path,
                                                           model_uri: str, scoring_spy: list[int],
                                                           tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_data_dir, data)
    scores = copy_scores(scores_file, tmp_path)
    orders = data / "orders.csv"
    lines = orders.read_text().splitlines(keepends=True)
    orders.write_text("".join(lines[:-1]))  # one order line fewer
    with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
        snap = load_snapshot(Settings(data=data, model=model_uri, scores=scores))
    assert snap.scored_from == "scored at start" and len(scoring_spy) == 1
    assert "the data directory changed since it was scored" in caplog.text


def test_a_scores_file_without_sidecar_is_not_served(scores_file: Path, small_data_dir: Path, model_uri: str,
                                                     scoring_spy: list[int], tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    bare = tmp_path / "recs.parquet"
    shutil.copy(scores_file, bare)
    with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
        snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=bare))
    assert snap.scored_from == "scored at start" and len(scoring_spy) == 1
    assert "no sidecar recs.parquet.meta.json" in caplog.text


def test_mismatches_name_every_difference() -> None:
    meta = ScoresMeta(model_version="m/1", as_of="2025-07-01T00:00:00", data_fingerprint="abc", top_k=3,
                      explore=0.1, seed=4)
    found = scores_mismatches(meta, model_version="m/2", as_of=pd.Timestamp("2025-07-02"), fingerprint="abd",
                              candidates=20, explore=0.1, explore_seed=5)
    assert len(found) == 5, found
    assert scores_mismatches(meta, model_version="m/1", as_of=pd.Timestamp("2025-07-01"), fingerprint="abc",
                             candidates=3, explore=0.1, explore_seed=None) == []
    assert "explores 0" in scores_mismatches(meta, model_version="m/1", as_of=pd.Timestamp("2025-07-01"),
                                             fingerprint="abc", candidates=3, explore=0.0, explore_seed=None)[0]


def test_an_account_missing_from_the_file_is_scored_when_asked_for(scores_file: Path, small_data_dir: Path,
                                                                  model_uri: str, scoring_spy: list[int],
                                                                  serving_snapshot, tmp_path: Path) -> None:
    from serving.store.feedback import FeedbackEffects
    from tests.serving.conftest import running_api

    missing = str(serving_snapshot.suggestions.accounts[11])
    partial = copy_scores(scores_file, tmp_path, keep=lambda f: f["account_id"] != missing)
    snap = load_snapshot(Settings(data=small_data_dir, model=model_uri, scores=partial))
    assert scoring_spy == [] and snap.suggestions.unscored == 1

    with running_api(f"sqlite:///{tmp_path / 'x.db'}", snap) as api:
        answer = api.client.get(f"/v1/accounts/{missing}/suggestions?k=3", headers=api.headers("admin"))
        again = api.client.get(f"/v1/accounts/{missing}/suggestions?k=3", headers=api.headers("admin"))
    assert answer.status_code == 200, answer.text
    assert scoring_spy == [1], "only the missing account is scored, once"
    assert snap.suggestions.unscored == 0 and snap.suggestions.scored_on_demand == 1
    full = serving_snapshot.suggestions
    pos = full.position(missing)
    want = full.records(full.pick(np.array([pos]), 3, FeedbackEffects(frozenset(), {})))
    got = answer.json()["suggestions"]
    assert [s["suggestion_id"] for s in got] == [w.suggestion_id for w in want]
    np.testing.assert_allclose([s["p_convert"] for s in got], [w.p_convert for w in want])
    assert again.json() == answer.json()


def test_scoring_some_accounts_alone_gives_what_scoring_all_gives(small_dataset, trained_run) -> None:
    pipeline = trained_run.result.pipeline
    as_of = small_dataset.default_as_of()
    ids = small_dataset.accounts["account_id"].astype(str).tolist()[5:8]
    alone = serving.suggestions.score_accounts(small_dataset, ids, as_of, pipeline,
                                               model_version=trained_run.model_version, candidates=5)
    full = serving.suggestions.score_dataset(small_dataset, as_of, pipeline, top_k=5,
                                             model_version=trained_run.model_version, explain_depth=3,
                                             reason_codes=True)
    full = full[full["account_id"].isin(ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), full, check_dtype=False)


def test_a_new_champion_is_not_served_from_the_old_ones_scores(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, trained_run, small_data_dir: Path,
        scoring_spy: list[int], caplog: pytest.LogCaptureFixture) -> None:
    """Hot reload with a scores file: the file of the old champion is not served; the new one is
    scored in full by a child process, not in the service; once `recommend` wrote the new
    champion's scores, a reload serves them."""
    from models.registry import MODEL_NAME, make_champion, register_challenger
    from serving.cli.model import register
    from serving.model_watch import ChampionWatcher
    from tests.registry_fixtures import add_version, model_source, separate_registry
    from tests.serving.test_hot_reload import holder_for

    scores = tmp_path / "recs.parquet"
    recommend = command_app(register)
    source = model_source(trained_run.model_version)
    with separate_registry(tmp_path / "home", tmp_path_factory.getbasetemp()):
        first, second, third = (add_version(source) for _ in range(3))
        for version in (first, second, third):
            register_challenger(version)
        make_champion(first)
        code, out, err = invoke(recommend, ["recommend", "--data", small_data_dir, "--out", scores,
                                            "--top-k", CANDIDATES])
        assert code == 0, out + err
        settings = Settings(data=small_data_dir, scores=scores)
        started = load_snapshot(settings)
        assert started.scored_from == f"scores file {scores}" and scoring_spy == []

        holder = holder_for(started, settings)
        champion = {"version": second}
        watcher = ChampionWatcher(holder, 1.0, champion=lambda: champion["version"])
        make_champion(second)
        with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
            assert watcher.check_once()
        assert holder.runtime.snapshot.model.version == f"{MODEL_NAME}/{second}"
        assert holder.runtime.snapshot.scored_from == SCORED_IN_CHILD
        assert scoring_spy == [], "the service itself scores nothing"
        assert len(holder.runtime.snapshot.suggestions.accounts) == len(started.suggestions.accounts)
        assert "not serving" not in caplog.text and "instead" not in caplog.text

        make_champion(third)
        code, out, err = invoke(recommend, ["recommend", "--data", small_data_dir, "--out", scores,
                                            "--top-k", CANDIDATES])
        assert code == 0, out + err
        champion["version"] = third
        assert watcher.check_once()
        assert holder.runtime.snapshot.model.version == f"{MODEL_NAME}/{third}"
        assert holder.runtime.snapshot.scored_from == f"scores file {scores}"
        assert scoring_spy == [], "the new champion's own scores are served without scoring"


def test_the_fingerprint_follows_the_tables_the_policy_and_the_ownership_history(small_data_dir: Path,
                                                                                 tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(small_data_dir, copy)
    first = data_fingerprint(copy)
    assert data_fingerprint(small_data_dir) == first, "the same files wherever they are"
    (copy / "notes.txt").write_text("not a table")
    assert data_fingerprint(copy) == first
    (copy / "account_owners.csv").write_text("account_id,rep_id,valid_from\n")
    with_owners = data_fingerprint(copy)
    assert with_owners != first
    (copy / "account_owners.csv").unlink()
    policy = copy / "policy.yaml"
    policy.write_text((policy.read_text() if policy.exists() else "") + "\n# changed\n")
    assert data_fingerprint(copy) not in (first, with_owners)
