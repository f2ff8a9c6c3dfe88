"""Shrinking each account's estimated lift toward the action's average lift, by evidence.

One touch changes conversion by a few points; with a few thousand accounts, the model's
account-level difference between an action and ``none`` is noisy. An empirical-Bayes style
compromise is more reliable: for account i and action a,

    p'(i, a) = w_a · p(i, a) + (1 − w_a) · p(i, none) · (1 + lift_a),      w_a = n_a / (n_a + strength)

where ``lift_a`` is the action's average relative lift over a reference population
(Σ p(i, a) / Σ p(i, none) − 1) and ``n_a`` the number of logged touches with the action's channel
and offer (all discount steps together, so the weight is the same for every step and conversion
stays non-decreasing in the discount) that the model learned from. Actions with much evidence keep their account-level estimate; actions seen rarely
lean on their average effect. Unknown actions (a new offer) keep the model's estimate (w = 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ActionKey = tuple[str, str, float]
#: Logged touches of an action at which its account-level estimate gets half the weight.
DEFAULT_STRENGTH = 1000.0


def action_key(channel: object, offer_id: object, discount_pct: object) -> ActionKey:
    return (str(channel), str(offer_id), round(float(discount_pct), 6))  # type: ignore[arg-type]


@dataclass(frozen=True)
class LiftPrior:
    """Average relative lift and evidence per action (channel, offer_id, discount_pct)."""

    lift: dict[ActionKey, float] = field(default_factory=dict)
    evidence: dict[tuple[str, str], int] = field(default_factory=dict)
    strength: float = DEFAULT_STRENGTH

    def arrays(self, actions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(lift, weight of the account-level estimate) for each row of an actions frame."""
        keys = [action_key(c, o, d) for c, o, d in
                zip(actions["channel"], actions["offer_id"], actions["discount_pct"], strict=True)]
        lift = np.array([self.lift.get(k, np.nan) for k in keys], dtype=float)
        n = np.array([self.evidence.get(k[:2], 0) for k in keys], dtype=float)
        weight = np.where(np.isnan(lift), 1.0, n / (n + self.strength)) if self.strength > 0 else np.ones(len(keys))
        return np.nan_to_num(lift, nan=0.0), weight


def fit_lift_prior(actions: pd.DataFrame, pair_action: np.ndarray, p_action: np.ndarray,
                   p_baseline: np.ndarray, evidence: dict[tuple[str, str], int],
                   strength: float = DEFAULT_STRENGTH) -> LiftPrior:
    """Ratio-of-means lift per action from scored (account, action) pairs of a reference population."""
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    sums = pd.DataFrame({"a": pair_action, "p": p_action, "p0": p_baseline}).groupby("a")[["p", "p0"]].sum()
    lift: dict[ActionKey, float] = {}
    for a, row in sums.iterrows():
        if row["p0"] > 0:
            act = actions.iloc[int(a)]
            lift[action_key(act["channel"], act["offer_id"], act["discount_pct"])] = float(row["p"] / row["p0"] - 1)
    return LiftPrior(lift=lift, evidence=dict(evidence), strength=strength)


def shrink(p_action: np.ndarray, p_baseline: np.ndarray, lift: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The shrunk conversion probability, clipped to [0, 1]."""
    return np.clip(weight * p_action + (1 - weight) * p_baseline * (1 + lift), 0.0, 1.0)
