"""The true value of every action for every account at as-of, computed from the sample world.

Analytic, not Monte Carlo. For account a and category c, ``mu0`` is the expected number of
purchases in ``(as_of, as_of + window]`` without outreach: base rate x seasonality x the
expected intent factor (the intent Markov chain run forward from its state at as-of) x the
remaining effect of earlier touches. An action multiplies the rate by ``max(0, 1 + lift)``
over its effect days, giving ``mu_a``. With Poisson purchases of mean list amount ``L``:

- ``true_p_convert = 1 - exp(-mu_a)``, ``true_p_baseline = 1 - exp(-mu0)``;
- ``true_expected_incremental_margin = mu_a L (m_o - d) - mu0 L m_c - cost``;
- ``true_purchases = mu_a``, ``true_purchases_baseline = mu0``, ``true_line_amount = L`` and
  ``true_margin_baseline = mu0 L m_c`` (the category's expected margin in the window without
  outreach), so that benchmarks can compute any policy's expected reward and draw outcomes.

``eligible`` applies the contract's rules at as-of with the simulation's own contact state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.sample_simulation import SimulationLog, action_space
from features.sample_world import (
    EFFECT_DAYS,
    INTENT_PURCHASE_FACTOR,
    World,
    intent_step,
    labels,
    purchase_season,
)

TRUTH_COLUMNS = ["account_id", "channel", "offer_id", "discount_pct", "category",
                 "true_p_convert", "true_p_baseline", "true_expected_incremental_margin",
                 "eligible", "as_of", "true_purchases", "true_purchases_baseline",
                 "true_line_amount", "true_margin_baseline"]


def expected_purchases(world: World, log: SimulationLog) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases per account x category without outreach after as-of.

    Returns ``(within_effect, after_effect)``: the part of the attribution window an action
    taken at as-of affects (its first ``EFFECT_DAYS`` days) and the rest of the window.
    """
    window = world.policy.attribution_window_days
    season = purchase_season(world.dates(world.n_days, window))
    states = np.arange(len(INTENT_PURCHASE_FACTOR))[:, None, None]
    dist = (log.intent_at_end[None, :, :] == states).astype("float64")
    within = np.zeros_like(world.base_rate)
    after = np.zeros_like(world.base_rate)
    for k in range(window):
        dist = intent_step(dist, world.intent_entry)
        factor = np.tensordot(INTENT_PURCHASE_FACTOR, dist, axes=1)
        rate = world.base_rate * season[k] * factor
        if k < EFFECT_DAYS:
            within += rate * np.exp(log.carry_log[:, :, k].astype("float64"))
        else:
            after += rate
    return within, after


def truth_frame(world: World, log: SimulationLog) -> pd.DataFrame:
    """One row per account x action of the action space at as-of (columns ``TRUTH_COLUMNS``)."""
    space = action_space(world, world.n_days)
    slots = np.flatnonzero(space.offer.ravel() >= 0)
    act_channel = slots // space.offer.shape[1]
    act_offer = space.offer.ravel()[slots]
    act_discount = space.discount.ravel()[slots]
    order = np.lexsort((act_discount, act_channel, act_offer))
    act_channel, act_offer, act_discount = act_channel[order], act_offer[order], act_discount[order]

    n_acc, n_act = len(world.accounts), len(act_offer)
    acc = np.repeat(np.arange(n_acc), n_act)
    j = np.tile(np.arange(n_act), n_acc)
    channel, offer, discount = act_channel[j], act_offer[j], act_discount[j]
    cat = world.offer_category[offer]

    within, after = expected_purchases(world, log)
    mu0 = within[acc, cat] + after[acc, cat]
    mu_a = within[acc, cat] * world.multiplier(acc, channel, discount) + after[acc, cat]
    amount = world.line_amount[acc, cat]
    offer_margin = world.offers["margin_rate"].to_numpy()[offer]
    cost = np.array([world.policy.channels[c].cost for c in world.channels])[channel]
    value = (mu_a * amount * (offer_margin - discount / 100.0)
             - mu0 * amount * world.category_margin[cat] - cost)

    return pd.DataFrame({
        "account_id": labels(world.accounts["account_id"].to_numpy(), acc),
        "channel": labels(world.channels, channel),
        "offer_id": labels(world.offers["offer_id"].to_numpy(), offer),
        "discount_pct": discount.astype("float64"),
        "category": labels(world.categories, cat),
        "true_p_convert": -np.expm1(-mu_a),
        "true_p_baseline": -np.expm1(-mu0),
        "true_expected_incremental_margin": value,
        "eligible": log.available_at_end[acc, channel],
        "as_of": np.full(len(acc), world.as_of.to_datetime64()).astype("datetime64[us]"),
        "true_purchases": mu_a,
        "true_purchases_baseline": mu0,
        "true_line_amount": amount,
        "true_margin_baseline": mu0 * amount * world.category_margin[cat],
    })
