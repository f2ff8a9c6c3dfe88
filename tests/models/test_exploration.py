"""Exploration mixes in random eligible actions and holdouts with exact propensities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.exploration import explore
from models.recommend import score_dataset


def _world(copies: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    """Each copy: account A with 3 eligible pairs (greedy = its pair 1), account B with 2 eligible
    pairs and greedy `none`, account C with nothing eligible."""
    pair_account, pair_key, ranked = [], [], []
    pair = 0
    for c in range(copies):
        a, b = 3 * c, 3 * c + 1
        for k in range(3):
            pair_account.append(a)
            pair_key.append(f"o{k}|email")
        ranked += [(a, pair + 1, 1), (a, pair + 2, 2)]
        pair += 3
        for k in range(2):
            pair_account.append(b)
            pair_key.append(f"o{k}|phone")
        pair += 2
    frame = pd.DataFrame(ranked, columns=["account", "pair", "rank"])
    return frame, np.array(pair_account), np.array(pair_key, dtype=object), 3 * copies


def test_propensities_match_observed_frequencies() -> None:
    ranked, pair_account, pair_key, n = _world(20_000)
    eps = 0.3
    exp = explore(ranked, pair_account, pair_key, n, 3, eps, np.random.default_rng(0))
    first = exp.ranked[exp.ranked["rank"] == 1].set_index("account")["pair"]
    chosen = first.reindex(range(n)).fillna(-1).to_numpy(dtype=np.int64)
    a = np.arange(0, n, 3)
    b = a + 1
    c = a + 2
    # Account A: greedy pair (offset 1) with (1-eps) + eps/4, each other pair and none eps/4.
    offsets = np.where(chosen[a] >= 0, chosen[a] - 5 * (a // 3), -1)
    for offset, expected in ((1, 1 - eps + eps / 4), (0, eps / 4), (2, eps / 4), (-1, eps / 4)):
        observed = np.mean(offsets == offset)
        assert abs(observed - expected) < 0.01, (offset, observed, expected)
    got = exp.propensity[a]
    expected_p = np.where(offsets == 1, 1 - eps + eps / 4, eps / 4)
    np.testing.assert_allclose(got, expected_p)
    # Account B: greedy none; none has (1-eps) + eps/3.
    assert abs(np.mean(chosen[b] < 0) - (1 - eps + eps / 3)) < 0.01
    np.testing.assert_allclose(exp.propensity[b][chosen[b] < 0], 1 - eps + eps / 3)
    # Account C: nothing eligible: always none with propensity 1.
    assert (chosen[c] < 0).all() and np.allclose(exp.propensity[c], 1.0)
    assert exp.holdout[a].mean() == pytest.approx(eps / 4, abs=0.01)


def test_explored_action_replaces_same_offer_and_channel() -> None:
    ranked, pair_account, pair_key, n = _world(2000)
    exp = explore(ranked, pair_account, pair_key, n, 3, 1.0, np.random.default_rng(1))
    keys = pair_key[exp.ranked["pair"].to_numpy()]
    dup = pd.DataFrame({"account": exp.ranked["account"], "key": keys}).duplicated()
    assert not dup.any()
    assert exp.ranked.groupby("account")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        explore(ranked, pair_account, pair_key, n, 3, 1.5, np.random.default_rng(0))


def test_recommend_with_exploration_writes_propensities(trained_run, small_dataset, as_of) -> None:
    pipeline = trained_run.result.pipeline
    recs = score_dataset(small_dataset, as_of, pipeline, top_k=3, explore_epsilon=0.5, seed=3)
    first = recs[recs["rank"] == 1]
    assert first["propensity"].between(0, 1, inclusive="right").all()
    assert recs.loc[recs["rank"] > 1, "propensity"].isna().all()
    assert first["explored"].any()
    held = first[first["explored"] & (first["channel"] == "none")]
    assert held["reasons"].str.contains("held out at random").all()
    greedy = score_dataset(small_dataset, as_of, pipeline, top_k=3)
    assert (greedy.loc[greedy["rank"] == 1, "propensity"] == 1.0).all()
    assert not greedy["explored"].any()
    again = score_dataset(small_dataset, as_of, pipeline, top_k=3, explore_epsilon=0.5, seed=3)
    pd.testing.assert_frame_equal(recs, again)
