"""The true value of every action for every account at as-of, computed from the sample world.

Analytic, not Monte Carlo. For account a and category c, ``mu0`` is the expected number of
purchases in ``(as_of, as_of + window]`` without outreach: base rate x seasonality x the
expected intent factor (the intent Markov chain run forward from its state at as-of) x the
remaining effect of earlier touches. An action multiplies the rate by ``max(0, 1 + lift)``
over its effect days, giving ``mu_a``. Purchases are Poisson given the intent path, so with mean
list amount ``L``:

- ``true_p_convert`` and ``true_p_baseline``: the probability of at least one purchase in the
  window with and without the action, exact: the intent chain run forward and killed at each
  day's purchase (a random rate makes ``1 - exp(-mu)`` overstate it);
- ``true_expected_incremental_margin = mu_a L (m_o - d) - mu0 L m_c - cost``;
- ``true_purchases = mu_a``, ``true_purchases_baseline = mu0``, ``true_line_amount = L`` and
  ``true_margin_baseline = mu0 L m_c`` (the category's expected margin in the window without
  outreach), so that benchmarks can compute any policy's expected reward and draw outcomes.

In a category under a replenishment contract (``features.sample_mechanisms``) the Poisson part is
the spot rate, no action changes it, and the contract's orders are added: those scheduled before
as-of but placed in the window (hidden state of the simulation, like the intent) and the expected
ones scheduled in the window. Then ``mu`` adds their expected count and the probability of no
purchase is multiplied by the probability that none of them is placed. Company-wide promotions
take place only before as-of, so none falls in the window.

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
        rate = world.purchase_base(world.n_days + k) * season[k] * factor
        if k < EFFECT_DAYS:
            within += rate * np.exp(log.carry_log[:, :, k].astype("float64"))
        else:
            after += rate
    return within, after


def expected_contract_orders(world: World, log: SimulationLog) -> tuple[np.ndarray, np.ndarray]:
    """Contract orders placed in the window per account x category: ``(expected count, log
    probability of none)``; orders already scheduled before as-of (pending) count as certain."""
    n_acc, n_cat = world.base_rate.shape
    first, stop = world.n_days, world.n_days + world.policy.attribution_window_days
    count, log_none = world.contracts.expected_orders(first, stop, n_acc, n_cat)
    pending = log.pending_contract
    inside = pending["day"] < stop
    cell = (pending["account"][inside], pending["category"][inside])
    np.add.at(count, cell, 1.0)
    log_none[cell] = -np.inf
    return count, log_none


def no_purchase_log_probability(world: World, log: SimulationLog, acc: np.ndarray, cat: np.ndarray,
                                multiplier: np.ndarray | float = 1.0, chunk: int = 400_000
                                ) -> np.ndarray:
    """log P(no purchase outside contracts in the window) of the cells ``(acc, cat)`` when an
    action at as-of multiplies their rate by ``multiplier`` over its effect days.

    Exact: the distribution over intent states, run forward from the state at as-of, loses each
    day the probability of a purchase in each state.
    """
    window = world.policy.attribution_window_days
    season = purchase_season(world.dates(world.n_days, window))
    rate = np.stack([world.purchase_base(world.n_days + k) * season[k] for k in range(window)])
    effect = min(EFFECT_DAYS, window)
    rate[:effect] *= np.exp(np.moveaxis(log.carry_log[:, :, :effect], 2, 0).astype("float64"))
    rate = rate.reshape(window, -1)
    factor = -INTENT_PURCHASE_FACTOR[:, None]
    cells = acc * world.base_rate.shape[1] + cat
    multiplier = np.broadcast_to(np.asarray(multiplier, dtype="float64"), acc.shape)
    out = np.empty(len(acc))
    for lo in range(0, len(acc), chunk):
        cell, m = cells[lo:lo + chunk], multiplier[lo:lo + chunk]
        dist = (log.intent_at_end.ravel()[cell][None, :] == np.arange(len(factor))[:, None]).astype("float64")
        entry = world.intent_entry.ravel()[cell]
        for k in range(window):
            dist = intent_step(dist, entry)
            dist *= np.exp(factor * (rate[k, cell] * m if k < effect else rate[k, cell]))
        out[lo:lo + chunk] = np.log(dist.sum(axis=0))
    return out


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
    contract, contract_log_none = expected_contract_orders(world, log)
    spot0 = within[acc, cat] + after[acc, cat]
    multiplier = np.where(world.responsive(acc, cat, world.n_days),
                          world.multiplier(acc, channel, discount), 1.0)
    spot_a = within[acc, cat] * multiplier + after[acc, cat]
    mu0, mu_a = spot0 + contract[acc, cat], spot_a + contract[acc, cat]
    n_cat = len(world.categories)
    cells = np.arange(n_acc * n_cat)
    none_cell = (no_purchase_log_probability(world, log, cells // n_cat, cells % n_cat)
                 + contract_log_none.ravel())
    none0 = none_cell[acc * n_cat + cat]
    none_a = none0.copy()
    moved = multiplier != 1.0
    none_a[moved] = (no_purchase_log_probability(world, log, acc[moved], cat[moved], multiplier[moved])
                     + contract_log_none[acc[moved], cat[moved]])
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
        "true_p_convert": -np.expm1(none_a),
        "true_p_baseline": -np.expm1(none0),
        "true_expected_incremental_margin": value,
        "eligible": log.available_at_end[acc, channel],
        "as_of": np.full(len(acc), world.as_of.to_datetime64()).astype("datetime64[us]"),
        "true_purchases": mu_a,
        "true_purchases_baseline": mu0,
        "true_line_amount": amount,
        "true_margin_baseline": mu0 * amount * world.category_margin[cat],
    })
