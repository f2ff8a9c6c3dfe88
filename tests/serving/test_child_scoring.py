"""A reload's snapshot scored in a child process: the same suggestions as scoring in the serving
process, the serving settings passed on, a failed child replaced by scoring here, a stopped one
ended at once."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import serving.child_scoring as child_scoring
from serving.child_scoring import (
    SCORED_IN_CHILD,
    ChildScoringError,
    load_snapshot_apart,
    recommend_command,
    score_in_child,
)
from serving.settings import Settings


def held(snapshot) -> pd.DataFrame:
    """Every candidate row the snapshot's service holds, in its order (account, then rank)."""
    cols = snapshot.suggestions.cols
    return pd.DataFrame({name: np.asarray(values) for name, values in cols.items()})


def test_the_command_carries_the_serving_settings(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, model="models:/symbiose-nba/4", candidates=12, explain_depth=2,
                        rep_day_days=9, as_of="2025-03-01", explore=0.1, explore_seed=7)
    command = recommend_command(settings, tmp_path / "out.parquet")
    assert command[:4] == [sys.executable, "-m", "serving.cli", "recommend"]
    pairs = dict(zip(command[4::2], command[5::2], strict=True))
    assert pairs == {"--data": str(tmp_path.resolve()), "--out": str(tmp_path / "out.parquet"),
                     "--model": "models:/symbiose-nba/4", "--top-k": "12", "--explain-depth": "2",
                     "--later-days": "9", "--as-of": "2025-03-01", "--explore": "0.1", "--seed": "7"}
    plain = recommend_command(Settings(data=tmp_path, model="models:/symbiose-nba/4"), tmp_path / "o.parquet")
    assert "--as-of" not in plain and "--explore" not in plain and "--seed" not in plain
    with pytest.raises(ValueError, match="needs a data directory and a model URI, got data=.*model=None"):
        recommend_command(Settings(data=tmp_path), tmp_path / "o.parquet")


def test_the_child_serves_what_scoring_in_the_service_serves(small_data_dir: Path, trained_run,
                                                           serving_snapshot) -> None:
    settings = Settings(data=small_data_dir, model=f"models:/{trained_run.model_version}")
    apart = load_snapshot_apart(settings)
    assert apart.scored_from == SCORED_IN_CHILD
    assert apart.model.version == serving_snapshot.model.version and apart.as_of == serving_snapshot.as_of
    pd.testing.assert_frame_equal(held(apart), held(serving_snapshot), check_dtype=False, rtol=1e-12)


def test_a_failed_child_is_replaced_by_scoring_here(small_data_dir: Path, trained_run, serving_snapshot,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(child_scoring, "recommend_command",
                        lambda settings, out: [sys.executable, "-c", "import sys; print('no memory'); sys.exit(3)"])
    settings = Settings(data=small_data_dir, model=f"models:/{trained_run.model_version}")
    with caplog.at_level(logging.WARNING, logger="symbiose.serving"):
        snapshot = load_snapshot_apart(settings)
    assert "exited with 3: no memory" in caplog.text and "scoring in the serving process instead" in caplog.text
    assert snapshot.scored_from == "scored at reload"
    pd.testing.assert_frame_equal(held(snapshot), held(serving_snapshot), check_dtype=False, rtol=1e-12)


def test_a_stopped_child_ends_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "still running"
    script = f"import time, pathlib; time.sleep(30); pathlib.Path({str(marker)!r}).touch()"
    monkeypatch.setattr(child_scoring, "recommend_command", lambda settings, out: [sys.executable, "-c", script])
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(ChildScoringError, match="stopped before it finished"):
        score_in_child(Settings(data=tmp_path, model="models:/symbiose-nba/1"), tmp_path / "s.parquet",
                       stop=stop, poll_seconds=0.05)
    assert time.monotonic() - started < 10
    time.sleep(0.2)
    assert not marker.exists()


def test_the_child_runs_at_lower_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "nice.txt"
    script = f"import os, pathlib, time; time.sleep(0.5); pathlib.Path({str(report)!r}).write_text(str(os.nice(0)))"
    monkeypatch.setattr(child_scoring, "recommend_command", lambda settings, out: [sys.executable, "-c", script])
    score_in_child(Settings(data=tmp_path, model="models:/symbiose-nba/1"), tmp_path / "s.parquet")
    expected = min(19, os.nice(0) + child_scoring.CHILD_NICENESS)
    assert int(report.read_text()) == expected


def test_a_reload_over_unchanged_files_shares_what_does_not_depend_on_the_model(
        small_data_dir: Path, trained_run, serving_snapshot) -> None:
    """The tables, contact state, histories, order lines and offers are the served snapshot's own;
    the suggestions are the new scores', equal to a snapshot read and scored anew."""
    from dataclasses import replace

    from serving.scores import data_fingerprint

    served = replace(serving_snapshot, data_dir=small_data_dir, data_fingerprint=data_fingerprint(small_data_dir))
    settings = Settings(data=small_data_dir, model=f"models:/{trained_run.model_version}")
    apart = load_snapshot_apart(settings, served=served)
    assert apart.scored_from == SCORED_IN_CHILD
    assert apart.directory is served.directory and apart.attributed is served.attributed
    assert apart.suggestions is not served.suggestions
    assert apart.suggestions.latest is served.suggestions.latest and apart.suggestions.policy is served.suggestions.policy
    pd.testing.assert_frame_equal(held(apart), held(serving_snapshot), check_dtype=False, rtol=1e-12)
    first = apart.suggestions.records(apart.suggestions.pick(np.arange(5), 3, _no_effects()))
    again = serving_snapshot.suggestions.records(serving_snapshot.suggestions.pick(np.arange(5), 3, _no_effects()))
    assert [(s.account_id, s.channel, s.offer_id, s.reasons) for s in first] == \
        [(s.account_id, s.channel, s.offer_id, s.reasons) for s in again]

    other_files = load_snapshot_apart(settings, served=replace(served, data_fingerprint="0" * 64))
    assert other_files.directory is not served.directory and other_files.attributed is not served.attributed
    pd.testing.assert_frame_equal(held(other_files), held(serving_snapshot), check_dtype=False, rtol=1e-12)


def test_scores_that_miss_an_account_are_read_with_the_data_again(
        small_data_dir: Path, trained_run, serving_snapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared state has no scorer for accounts the scores miss: such a reload reads the data
    directory and scores the missing account on demand, as a start from that file does."""
    from dataclasses import replace

    import serving.snapshot as snapshot_module
    from serving.scores import data_fingerprint

    read = snapshot_module.read_scores
    missing = str(serving_snapshot.suggestions.accounts[0])

    def without_one(*args, **kwargs) -> pd.DataFrame:
        rows = read(*args, **kwargs)
        return rows.loc[rows["account_id"].astype(str) != missing].reset_index(drop=True)

    monkeypatch.setattr(snapshot_module, "read_scores", without_one)
    served = replace(serving_snapshot, data_dir=small_data_dir, data_fingerprint=data_fingerprint(small_data_dir))
    apart = load_snapshot_apart(Settings(data=small_data_dir, model=f"models:/{trained_run.model_version}"),
                                served=served)
    assert apart.directory is not served.directory
    shown = apart.suggestions.records(apart.suggestions.pick(np.array([0]), 3, _no_effects()))
    assert shown and {s.account_id for s in shown} == {missing} and apart.suggestions.scored_on_demand == 1


def _no_effects():
    from serving.feedback_index import NO_EFFECTS

    return NO_EFFECTS
