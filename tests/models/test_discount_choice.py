"""The discount step of a suggestion is the one with the highest expected incremental margin among
the eligible steps of its offer and channel; on a tie the smaller discount wins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.decision import ScoredActions, rank_actions


def _scored(values: list[float], eligible_steps: list[bool]) -> tuple[ScoredActions, pd.DataFrame]:
    actions = pd.DataFrame({"channel": ["email"] * 4, "offer_id": ["OF1"] * 4,
                            "discount_pct": [0.0, 5.0, 10.0, 15.0], "category": ["C"] * 4})
    pair_action = np.flatnonzero(eligible_steps)
    n = len(pair_action)
    scored = ScoredActions(
        accounts=np.array(["A1"]), categories=["C"], pair_account=np.zeros(n, dtype=np.int64),
        pair_action=pair_action, pair_row=np.zeros(n, dtype=np.int64), p_convert=np.full(n, 0.3),
        p_baseline=np.full(n, 0.2), value=np.asarray(values, dtype=float)[pair_action],
        base_p=np.full((1, 1), 0.2), eligible=np.array([eligible_steps]))
    return scored, actions


def test_chosen_step_is_the_value_argmax() -> None:
    scored, actions = _scored([1.0, 3.0, 2.0, 2.5], [True] * 4)
    ranked = rank_actions(scored, actions, top_k=3)
    assert len(ranked) == 1
    assert actions.iloc[ranked["action"].iloc[0]]["discount_pct"] == 5.0


def test_buyer_who_buys_anyway_gets_no_discount_and_ties_take_the_smaller_step() -> None:
    scored, actions = _scored([2.0, 2.0, 1.0, -1.0], [True] * 4)
    ranked = rank_actions(scored, actions, top_k=1)
    assert actions.iloc[ranked["action"].iloc[0]]["discount_pct"] == 0.0


def test_steps_beyond_the_guardrail_are_never_chosen() -> None:
    # 15 % would pay most but is not eligible (above max_discount_pct): 10 % is the best allowed.
    scored, actions = _scored([1.0, 2.0, 3.0, 9.0], [True, True, True, False])
    ranked = rank_actions(scored, actions, top_k=1)
    assert actions.iloc[ranked["action"].iloc[0]]["discount_pct"] == 10.0
