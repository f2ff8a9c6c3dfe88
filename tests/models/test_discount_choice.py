"""The discount step of a suggestion is the one with the highest expected incremental margin among
the eligible steps of its offer and channel; on a tie the smaller discount wins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.actions import eligible_mask
from features.policy import Policy
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
    # 15 % would pay most but lies above the offer's max_discount_pct of 10 %: eligibility (asked,
    # not assumed) removes it, so 10 % is the best allowed step.
    state = pd.DataFrame({"do_not_contact": [False], "consent_email": [True], "in_quiet_period": [False],
                          "touches_30d__email": [0]}, index=pd.Index(["A1"], name="account_id"))
    _, actions = _scored([0.0] * 4, [True] * 4)
    actions = actions.assign(max_discount_pct=10.0, active=True, requires_consent=True)
    eligible = eligible_mask(state, actions, Policy())[0]
    assert eligible.tolist() == [True, True, True, False]
    scored, actions = _scored([1.0, 2.0, 3.0, 9.0], eligible.tolist())
    ranked = rank_actions(scored, actions, top_k=1)
    assert actions.iloc[ranked["action"].iloc[0]]["discount_pct"] == 10.0
