"""Choosing the learner: the simplicity rule on hand-made tables, the incremental-margin estimator on
a simulated log with a known answer, and "auto" end to end on a generated world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.evaluation.incremental import (
    LOGGED_NONE,
    CategoryDecisions,
    estimate_mean,
    incremental_terms,
)
from models.selection import choose


def _table(rows: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """policy -> (vs_best_low, low, high)."""
    return pd.DataFrame([{"policy": p, "vs_best_low": d, "low": lo, "high": hi, "error": ""}
                         for p, (d, lo, hi) in rows.items()])


def test_rule_keeps_the_simplest_policy_the_best_does_not_beat() -> None:
    base = {"none": (0.5, 0.0, 0.0), "best_single": (0.2, 0.5, 2.0), "s": (-0.1, 1.0, 3.0),
            "x": (0.0, 1.2, 3.1), "dr": (0.0, 1.5, 3.5), "t": (0.3, 0.2, 2.0)}
    assert choose(_table(base), "dr") == "s", "s is as good as the best within the interval"
    assert choose(_table({**base, "s": (0.1, 1.0, 3.0)}), "dr") == "x"
    assert choose(_table({**base, "best_single": (-0.3, 0.5, 2.0)}), "dr") == "best_single"
    assert choose(_table(base), "none") == "none"
    # a policy whose interval lies wholly below doing nothing is never taken
    assert choose(_table({**base, "best_single": (-0.3, -2.0, -0.5)}), "dr") == "none"


def _log(n: int = 60_000, seed: int = 0) -> tuple[CategoryDecisions, np.ndarray, float]:
    """Two actions on two categories, logged uniformly with `none`; action 0 adds 2.0 margin for
    accounts with x > 0 and costs 0.5; action 1 adds nothing and costs 0.5."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    logged = rng.choice([LOGGED_NONE, 0, 1], size=n, p=[0.4, 0.3, 0.3])
    prop = np.where(logged == LOGGED_NONE, 0.4, 0.3)
    base = np.column_stack([10 + 2 * x, 8 + np.zeros(n)])
    effect0 = np.where(x > 0, 2.0, 0.0)
    margin = base + rng.normal(0, 15, size=(n, 2))
    margin[:, 0] += np.where(logged == 0, effect0, 0.0)
    cost = np.array([0.5, 0.5])
    expected_none = base + rng.normal(0, 1, size=(n, 2))  # a rough reward model
    expected = np.column_stack([expected_none[:, 0] + 1.0, expected_none[:, 1]])
    data = CategoryDecisions(margin, logged, prop, expected, expected_none, np.array([0, 1]), cost)
    policy = np.where(x > 0, 0, LOGGED_NONE)
    truth = float(np.mean(np.where(x > 0, 2.0 - 0.5, 0.0)))
    return data, policy, truth


def test_incremental_estimate_is_unbiased_with_a_rough_reward_model_and_covers() -> None:
    data, policy, truth = _log()
    est = estimate_mean(incremental_terms(data, policy), np.arange(len(data)), n_boot=300, seed=1)
    assert est.low < truth < est.high
    assert abs(est.value - truth) < 0.25
    assert incremental_terms(data, np.full(len(data), LOGGED_NONE)).sum() == 0.0


def test_incremental_terms_refuse_an_ineligible_choice() -> None:
    data, policy, _ = _log(100)
    blocked = CategoryDecisions(data.margin, data.logged_action, data.propensity,
                                np.where(np.arange(100)[:, None] < 10, np.nan, data.expected_action),
                                data.expected_none, data.action_category, data.cost)
    with pytest.raises(ValueError, match="not eligible"):
        incremental_terms(blocked, np.zeros(100, dtype=np.int64))
    with pytest.raises(ValueError, match="propensity must lie in"):
        CategoryDecisions(data.margin, data.logged_action, np.zeros(100), data.expected_action,
                          data.expected_none, data.action_category, data.cost)


def test_best_single_action_is_picked_by_its_lower_bound_not_a_lucky_mean() -> None:
    from models.evaluation.incremental import best_by_lower_bound

    rng = np.random.default_rng(0)
    n = 2000
    steady = 1.0 + rng.normal(0, 2.0, n)          # mean ~1, tight
    lucky = np.zeros(n)
    lucky[rng.choice(n, 8, replace=False)] = 400.0  # mean 1.6 from eight matched decisions
    terms = np.stack([lucky, steady])
    assert terms[0].mean() > terms[1].mean()
    assert best_by_lower_bound(terms) == 1
    assert best_by_lower_bound(np.stack([steady + 5, steady])) == 0
