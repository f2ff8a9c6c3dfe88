"""Epsilon-greedy exploration with exact propensities.

With probability ``epsilon`` an account's first suggestion is replaced by a uniformly random choice
among its eligible actions and ``none`` (a holdout: no outreach). The probability with which the
shown first action was chosen is exact:

    P(a) = (1 − ε) · 1[a is the greedy choice] + ε / (n_eligible + 1)

and is written next to the decision, so later models can be evaluated without bias (IPS, DR).
Explored actions can have a negative expected value: that is the price of learning, and each such
row is marked ``explored``; without exploration no negative action is ever suggested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Exploration:
    """The outcome of exploring over ranked suggestions (arrays per account)."""

    ranked: pd.DataFrame       # the new ranked pairs (same columns as decision.rank_actions)
    propensity: np.ndarray     # probability of the first shown action (or `none`)
    explored: np.ndarray       # bool: the first action was drawn at random
    holdout: np.ndarray        # bool: the random draw was `none`


def explore(ranked: pd.DataFrame, pair_account: np.ndarray, pair_key: np.ndarray, n_accounts: int,
            top_k: int, epsilon: float, rng: np.random.Generator) -> Exploration:
    """Apply epsilon-greedy exploration to the greedy ranking ``ranked``.

    ``pair_account``: the account of every scored (eligible) pair; the candidates of account i are
    its pairs plus ``none``. ``pair_key``: the (offer, channel) of every pair — an explored action
    replaces a greedy suggestion of the same offer and channel instead of appearing twice.
    """
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"explore must be between 0 and 1, got {epsilon}")
    n_eligible = np.bincount(pair_account, minlength=n_accounts)
    starts = np.concatenate([[0], np.cumsum(n_eligible)[:-1]])
    order = np.argsort(pair_account, kind="stable")  # pairs grouped by account
    greedy = np.full(n_accounts, -1, dtype=np.int64)   # greedy first pair, -1 = none
    first = ranked[ranked["rank"] == 1]
    greedy[first["account"].to_numpy(dtype=np.int64)] = first["pair"].to_numpy(dtype=np.int64)

    draw = rng.random(n_accounts) < epsilon
    pick = np.floor(rng.random(n_accounts) * (n_eligible + 1)).astype(np.int64)
    pick = np.minimum(pick, n_eligible)  # guard against rounding at the top
    holdout = draw & (pick == n_eligible)
    chosen = greedy.copy()
    act = draw & ~holdout
    chosen[holdout] = -1
    chosen[act] = order[starts[act] + pick[act]]
    uniform = epsilon / (n_eligible + 1)
    propensity = (1 - epsilon) * (chosen == greedy) + uniform

    keep = ~np.isin(ranked["account"].to_numpy(), np.flatnonzero(holdout))
    new = ranked[keep]
    accounts = np.flatnonzero(act & (chosen != greedy))
    if len(accounts):
        new = new[["account", "pair", "rank"]]
        chosen_key = np.full(n_accounts, None, dtype=object)
        chosen_key[accounts] = pair_key[chosen[accounts]]
        same = pair_key[new["pair"].to_numpy()] == chosen_key[new["account"].to_numpy()]
        head = pd.DataFrame({"account": accounts, "pair": chosen[accounts], "rank": 0})
        new = pd.concat([head, new[~same]], ignore_index=True)
        new = new.sort_values(["account", "rank"], kind="mergesort")
        new["rank"] = new.groupby("account").cumcount() + 1
        new = new[new["rank"] <= top_k]
    return Exploration(new.reset_index(drop=True)[["account", "pair", "rank"]], propensity,
                       draw & (chosen != greedy), holdout)
