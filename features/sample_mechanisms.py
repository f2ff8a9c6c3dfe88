"""Mechanisms some world presets add to the sample wholesaler: replenishment contracts, company-wide
promotions and channel affinity driven by digital behaviour (``features.sample_worlds``).

Everything here works on day indices (day 0 = first simulated day) and plain arrays, so that the
simulation (``features.sample_simulation``) and the analytic truth (``features.sample_truth``)
share one definition of each mechanism.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.sample_worlds import SEGMENTS, Contracts, DigitalAffinity, Promotions

ONLINE = (6 * 3600, 23 * 3600)      # webshop and EDI orders: seconds of the day, as other online orders
OFFICE = (7 * 3600, 17 * 3600)      # offline orders by phone, fax or the rep


@dataclass(frozen=True)
class ContractBook:
    """Every replenishment contract of a world: one row per account x contract category.

    A contract's scheduled order days are ``first_day + k * period`` (k = 0, 1, ...).
    """

    account: np.ndarray     # (n_contracts,)
    category: np.ndarray    # (n_contracts,)
    start_day: np.ndarray   # first day the contract runs (0 = before the history)
    first_day: np.ndarray   # first scheduled order day
    period: np.ndarray      # days between scheduled orders
    terms: Contracts | None
    first_weekday: int      # day of the week of day 0 (Monday = 0)

    def __len__(self) -> int:
        return len(self.account)

    @classmethod
    def empty(cls, first_weekday: int) -> ContractBook:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, none, none, None, first_weekday)

    def start_grid(self, n_accounts: int, n_categories: int) -> np.ndarray:
        """(n_accounts, n_categories) first day of each cell's contract; a huge day without one."""
        grid = np.full((n_accounts, n_categories), np.iinfo(np.int64).max, dtype=np.int64)
        grid[self.account, self.category] = self.start_day
        return grid

    def scheduled(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(contract index, scheduled day) of every scheduled order with ``first <= day < stop``."""
        k0 = np.maximum(0, -((self.first_day - first) // self.period))
        k1 = np.maximum(0, -((self.first_day - stop) // self.period))
        count = np.maximum(k1 - k0, 0)
        idx = np.repeat(np.arange(len(self)), count)
        k = k0[idx] + np.arange(len(idx)) - np.repeat(np.cumsum(count) - count, count)
        return idx, self.first_day[idx] + k * self.period[idx]

    def placed_day(self, day: np.ndarray) -> np.ndarray:
        """The day an order meant for ``day`` is placed: that day, or the Monday after a weekend."""
        weekday = (self.first_weekday + day) % 7
        return day + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))

    def orders(self, first: int, stop: int, line_amount: np.ndarray, rng: np.random.Generator
               ) -> dict[str, np.ndarray]:
        """Simulated order lines of the orders scheduled in ``[first, stop)`` (skips left out).

        Keys as the simulation's lines: account, category, day, second, online, list_amount.
        """
        terms = self.terms
        idx, day = self.scheduled(first, stop)
        if terms is None or not len(idx):
            empty = np.zeros(0, dtype=np.int64)
            return {"account": empty, "category": empty, "day": empty, "second": empty,
                    "online": np.zeros(0, dtype=bool), "list_amount": np.zeros(0)}
        kept = rng.random(len(idx)) >= terms.skip_probability
        delay = rng.choice(len(terms.delay_probs), size=len(idx), p=terms.delay_probs)
        online = rng.random(len(idx)) < terms.online_share
        second = np.where(online, rng.integers(*ONLINE, len(idx)), rng.integers(*OFFICE, len(idx)))
        acc, cat = self.account[idx], self.category[idx]
        sigma = terms.amount_sigma
        amount = line_amount[acc, cat] * np.exp(sigma * rng.standard_normal(len(idx)) - sigma**2 / 2)
        return {"account": acc[kept], "category": cat[kept],
                "day": self.placed_day(day + delay)[kept], "second": second[kept],
                "online": online[kept], "list_amount": amount[kept]}

    def expected_orders(self, first: int, stop: int, n_accounts: int, n_categories: int
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Orders scheduled on or after ``first`` that are placed before ``stop``, per cell.

        Returns ``(expected count, log probability of none)``, both (n_accounts, n_categories).
        """
        count = np.zeros((n_accounts, n_categories))
        log_none = np.zeros((n_accounts, n_categories))
        idx, day = self.scheduled(first, stop)
        if self.terms is None or not len(idx):
            return count, log_none
        delay_probs = np.asarray(self.terms.delay_probs)
        placed_before = np.stack([self.placed_day(day + j) < stop for j in range(len(delay_probs))])
        p = (1.0 - self.terms.skip_probability) * (delay_probs @ placed_before)
        cell = (self.account[idx], self.category[idx])
        np.add.at(count, cell, p)
        np.add.at(log_none, cell, np.log1p(-p))
        return count, log_none


def build_contracts(terms: Contracts, segment: np.ndarray, base_rate: np.ndarray,
                    categories: tuple[str, ...], n_days: int, first_weekday: int,
                    rng: np.random.Generator) -> ContractBook:
    """Draw who has a contract, for which categories (those bought most), period and start."""
    n_acc = len(segment)
    share = np.array(terms.share_by_segment)[np.searchsorted(SEGMENTS, segment)]
    has = rng.random(n_acc) < share
    lo, hi = terms.per_account
    n_contract = rng.integers(lo, hi + 1, n_acc)
    allowed = np.array([c in terms.categories for c in categories])
    rank = np.argsort(-np.where(allowed[None, :], base_rate, -1.0), axis=1, kind="stable")
    take = np.arange(len(categories))[None, :] < np.minimum(n_contract, allowed.sum())[:, None]
    take &= has[:, None]
    account = np.repeat(np.arange(n_acc), take.sum(axis=1))
    category = rank[take]
    n = len(account)
    period = rng.choice(np.array(terms.periods), size=n,
                        p=np.array(terms.period_weights) / sum(terms.period_weights))
    phase = (rng.random(n) * period).astype(np.int64)
    old = rng.random(n) < terms.old_share
    start = np.where(old, 0, rng.integers(1, max(2, n_days - terms.min_age_days), n))
    return ContractBook(account.astype(np.int64), category.astype(np.int64), start.astype(np.int64),
                        (start + phase).astype(np.int64), period.astype(np.int64), terms,
                        first_weekday)


def promotion_days(promotions: Promotions | None, start: pd.Timestamp, n_days: int) -> np.ndarray:
    """(n_days,) discount percent of the company-wide sale on each day (0 = none)."""
    pct = np.zeros(n_days)
    if promotions is None:
        return pct
    for year in range(start.year, (start + pd.Timedelta(days=n_days)).year + 1):
        for month, day, days, discount in promotions.calendar:
            first = (pd.Timestamp(year=year, month=month, day=day, tz=start.tz) - start).days
            if first >= 0 and first + days <= n_days:
                pct[first:first + days] = discount
    return pct


def digital_response(terms: DigitalAffinity, visit_rate: np.ndarray, online_logit: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """(n_accounts, 4) responsiveness to e-mail, banner, phone, visit from digital behaviour."""
    def z(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / max(float(x.std()), 1e-9)

    n = len(visit_rate)
    score = (terms.visit_weight * z(np.log(visit_rate)) + terms.online_weight * z(online_logit)
             + terms.noise * rng.standard_normal(n))
    affinity = 1.0 / (1.0 + np.exp(-score))
    level = np.stack([terms.marketing[0] * affinity, terms.marketing[1] * affinity,
                      terms.rep[0] * (1 - affinity), terms.rep[1] * (1 - affinity)], axis=1)
    return level * np.exp(terms.spread * rng.standard_normal((n, 4)))
