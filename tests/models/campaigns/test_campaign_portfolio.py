"""Portfolio optimization: one action per account, every limit respected, MILP at least as good as
greedy and equal to brute force on small instances."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from models.campaigns.portfolio import (
    PortfolioLimits,
    build_resources,
    first_choice_only,
    greedy_select,
    optimize_portfolio,
)

CHANNELS = {"email": (0.5, "marketing"), "webshop_banner": (0.1, "marketing"),
            "phone": (12.0, "rep"), "visit": (90.0, "rep")}


def random_candidates(n_accounts: int, per_account: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_accounts):
        rep = f"R{a % 5}" if a % 7 else None
        for ch, off in zip(rng.choice(list(CHANNELS), per_account), rng.choice(["O1", "O2", "O3"], per_account),
                           strict=True):
            cost, by = CHANNELS[ch]
            if by == "rep" and rep is None:
                continue
            rows.append({"account_id": f"A{a}", "region": f"G{a % 3}", "rep_id": rep, "channel": ch,
                         "offer_id": off, "discount_pct": 0.0, "category": "c", "p_convert": 0.2,
                         "p_convert_baseline": 0.1, "expected_incremental_margin": float(rng.gamma(1.5, 8.0)),
                         "executed_by": by, "cost": cost})
    return pd.DataFrame(rows)


def check_limits(chosen: pd.DataFrame, limits: PortfolioLimits) -> None:
    """Every limit, recomputed from the chosen rows themselves."""
    assert not chosen["account_id"].duplicated().any()
    if limits.total_budget is not None:
        assert chosen["cost"].sum() <= limits.total_budget + 1e-9
    for ch, budget in limits.channel_budgets.items():
        assert chosen.loc[chosen["channel"] == ch, "cost"].sum() <= budget + 1e-9
    for offer, limit in limits.offer_limits.items():
        assert (chosen["offer_id"] == offer).sum() <= limit
    by_rep = chosen.loc[chosen["executed_by"] == "rep"].groupby("rep_id").size()
    for rep, n in by_rep.items():
        assert n <= limits.rep_capacity.get(rep, limits.default_rep_capacity)
    if limits.max_accounts is not None:
        assert len(chosen) <= limits.max_accounts


TIGHT = PortfolioLimits(total_budget=900.0, channel_budgets={"email": 40.0, "visit": 400.0},
                        offer_limits={"O2": 60}, rep_capacity={"R0": 3, "R1": 10, "R2": 0},
                        default_rep_capacity=6, max_accounts=300)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_milp_respects_every_limit_and_beats_greedy(seed: int) -> None:
    cand = random_candidates(600, 5, seed)
    milp = optimize_portfolio(cand, TIGHT)
    greedy = optimize_portfolio(cand, TIGHT, method="greedy")
    assert milp.method == "milp" and greedy.method == "greedy"
    check_limits(cand.iloc[milp.chosen], TIGHT)
    check_limits(cand.iloc[greedy.chosen], TIGHT)
    assert milp.objective >= greedy.objective - 1e-6
    assert milp.objective == pytest.approx(cand["expected_incremental_margin"].to_numpy()[milp.chosen].sum())
    assert milp.gap is not None and milp.gap <= 1e-3
    assert milp.dual_bound >= milp.objective - 1e-6


def test_milp_equals_brute_force_on_a_small_instance() -> None:
    cand = random_candidates(6, 3, seed=5)
    limits = PortfolioLimits(total_budget=30.0, offer_limits={"O1": 2}, rep_capacity={"R1": 1, "R2": 1,
                             "R3": 1, "R4": 1, "R0": 1}, max_accounts=4)
    value = cand["expected_incremental_margin"].to_numpy()
    cost = cand["cost"].to_numpy()
    is_o1 = (cand["offer_id"] == "O1").to_numpy()
    rep = np.where(cand["executed_by"] == "rep", cand["rep_id"].fillna(""), "")
    best = 0.0
    groups = [list(g.index) + [-1] for _, g in cand.groupby("account_id")]
    for combo in itertools.product(*groups):
        idx = np.array([i for i in combo if i >= 0], dtype=np.int64)
        reps = rep[idx][rep[idx] != ""]
        if (cost[idx].sum() <= 30.0 and is_o1[idx].sum() <= 2 and len(idx) <= 4
                and len(reps) == len(set(reps))):
            best = max(best, value[idx].sum())
    result = optimize_portfolio(cand, limits)
    check_limits(cand.iloc[result.chosen], limits)
    assert result.objective == pytest.approx(best)


def test_greedy_fallback_beyond_the_size_limit_is_reported() -> None:
    cand = random_candidates(200, 4, seed=3)
    result = optimize_portfolio(cand, TIGHT, max_milp_pairs=50)
    assert result.method == "greedy"
    assert "size limit of 50" in result.reason
    assert result.gap is None
    check_limits(cand.iloc[result.chosen], TIGHT)


def test_only_positive_pairs_and_unlimited_takes_each_accounts_best() -> None:
    cand = random_candidates(100, 4, seed=4)
    cand.loc[cand.index[::3], "expected_incremental_margin"] *= -1
    result = optimize_portfolio(cand, PortfolioLimits())
    chosen = cand.iloc[result.chosen]
    assert (chosen["expected_incremental_margin"] > 0).all()
    positive = cand[cand["expected_incremental_margin"] > 0]
    assert result.objective == pytest.approx(positive.groupby("account_id")["expected_incremental_margin"].max().sum())


def test_first_choice_greedy_is_never_better_than_the_milp() -> None:
    cand = random_candidates(600, 5, seed=6)
    first = cand.iloc[first_choice_only(cand)].reset_index(drop=True)
    value = first["expected_incremental_margin"].to_numpy()
    taken = greedy_select(value, build_resources(first, TIGHT))
    check_limits(first.iloc[taken], TIGHT)
    assert optimize_portfolio(cand, TIGHT).objective >= value[taken].sum()


def test_limits_reject_negative_numbers() -> None:
    with pytest.raises(ValueError, match="channel_budgets\\[email\\] must be a number >= 0, got -1"):
        PortfolioLimits(channel_budgets={"email": -1})
