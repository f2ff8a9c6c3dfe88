"""The latent world behind the sample data: a German industrial-supplies wholesaler.

Accounts carry hidden traits (activity, purchase rates per category, a behavioural
archetype, responsiveness to each channel, price sensitivity, a drifting online share) that
drive the day-by-day simulation in ``features.sample_simulation``. The observable tables
(accounts, reps, offers) are built here as well, with the normalized dtypes of
``features.dataset``. A ``WorldSpec`` preset (``features.sample_worlds``) sets the parameters that
give the world its structure, and switches on replenishment contracts, company-wide promotions
or channel response driven by digital behaviour (``features.sample_mechanisms``).

Effect of one touch (offer in category c, channel ch, discount d percent): the purchase rate of
category c is multiplied by ``max(0, 1 + lift)`` for the next ``EFFECT_DAYS`` days, with
``lift = CHANNEL_BASE_LIFT[ch] * responsiveness[a, ch] + price_sensitivity[a] * discount_gain(d)``
(no effect in a category under a running replenishment contract).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.policy import Policy
from features.sample_catalog import (
    CATEGORIES,
    FIRST_NAMES,
    INDUSTRIES,
    INDUSTRY_AFFINITY,
    INDUSTRY_WEIGHTS,
    LAST_NAMES,
    OFFER_SPECS,
    REGION_WEIGHTS,
    REGIONS,
)
from features.sample_mechanisms import (
    ContractBook,
    build_contracts,
    digital_response,
    promotion_days,
)
from features.sample_worlds import ARCHETYPES, RESPONSE_CHANNELS, SEGMENTS, WHOLESALER, WorldSpec

DEFAULT_AS_OF = pd.Timestamp("2025-07-01")
HISTORY_YEARS = 2
EFFECT_DAYS = 30
P_NONE = 0.2

#: Hidden purchase intent per account x category, a daily Markov chain over the states
#: idle (0) -> researching (1) -> buying (2) -> idle; an episode lasts about two weeks.
INTENT_STATES = ("idle", "researching", "buying")
INTENT_TO_BUYING = 1.0 / 5.0     # researching -> buying
INTENT_ABANDON = 0.03            # researching -> idle
INTENT_EXIT = 1.0 / 10.0         # buying -> idle
INTENT_PURCHASE_FACTOR = np.array([1.0, 1.5, 6.0])
INTENT_VIEW_FACTOR = np.array([1.0, 40.0, 8.0])
LINE_AMOUNT_SIGMA = 0.55

CHANNEL_BASE_LIFT = {"email": 0.15, "webshop_banner": 0.06, "phone": 0.30, "visit": 0.50}
MIN_MULTIPLIER = 0.25

def labels(values: tuple[str, ...] | list[str] | np.ndarray, index: np.ndarray) -> pd.Series:
    """``values[index]`` as a ``str`` column (index -1 = missing), without Python string objects."""
    index = np.asarray(index, dtype=np.int64)
    dictionary = pa.array([str(v) for v in values], type=pa.string())
    codes = pa.array(np.where(index >= 0, index, 0), mask=index < 0, type=pa.int64())
    return pd.Series(pa.DictionaryArray.from_arrays(codes, dictionary).cast(pa.large_string()),
                     dtype="str")


def numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Ids such as ``ORD0000001``: ``prefix`` + zero-padded ``numbers`` as a ``str`` column."""
    digits = pc.utf8_lpad(pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()),
                          width, "0")
    return pd.Series(pc.binary_join_element_wise(prefix, digits, ""), dtype="str")


def intent_step(dist: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """One day of the intent chain for state probabilities ``dist`` (3, ...)."""
    idle, research, buying = dist
    return np.stack([
        idle * (1.0 - entry) + research * INTENT_ABANDON + buying * INTENT_EXIT,
        idle * entry + research * (1.0 - INTENT_TO_BUYING - INTENT_ABANDON),
        research * INTENT_TO_BUYING + buying * (1.0 - INTENT_EXIT),
    ])


def intent_stationary(entry: np.ndarray) -> np.ndarray:
    """Long-run probabilities (3, ...) of the intent states for daily entry probabilities."""
    research = entry / (INTENT_TO_BUYING + INTENT_ABANDON)
    buying = research * INTENT_TO_BUYING / INTENT_EXIT
    total = 1.0 + research + buying
    return np.stack([1.0 / total, research / total, buying / total])


def discount_gain(discount_pct: np.ndarray | float) -> np.ndarray:
    """Increasing, concave response to a discount: 0 at 0%, 1 at 15%."""
    return np.sqrt(np.asarray(discount_pct, dtype="float64") / 15.0)


def purchase_season(dates: pd.DatetimeIndex) -> np.ndarray:
    """Daily purchase seasonality: weekends, an August dip, the Christmas shutdown."""
    weekday = np.array([1.05, 1.0, 1.0, 1.0, 0.95, 0.12, 0.04])[dates.day_of_week]
    month, day = dates.month.to_numpy(), dates.day.to_numpy()
    august = np.where(month == 8, 0.65, 1.0)
    christmas = np.where(((month == 12) & (day >= 22)) | ((month == 1) & (day <= 2)), 0.3, 1.0)
    return weekday * august * christmas


def web_season(dates: pd.DatetimeIndex) -> np.ndarray:
    """Daily webshop activity: less on weekends and holidays, but never as quiet as orders."""
    weekday = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.35, 0.25])[dates.day_of_week]
    month, day = dates.month.to_numpy(), dates.day.to_numpy()
    holiday = np.where((month == 8) | ((month == 12) & (day >= 22)), 0.75, 1.0)
    return weekday * holiday


@dataclass(frozen=True)
class World:
    """Observable tables plus the hidden state that drives the simulation."""

    accounts: pd.DataFrame
    reps: pd.DataFrame
    offers: pd.DataFrame
    policy: Policy
    as_of: pd.Timestamp
    start: pd.Timestamp            # first simulated day (as-of minus two years)
    touch_start_day: int           # first day index with logged outreach decisions
    categories: tuple[str, ...]
    channels: tuple[str, ...]      # policy channels, in policy order
    offer_category: np.ndarray     # (n_offers,) category index
    offer_end_day: np.ndarray      # (n_offers,) first day index the offer is inactive
    category_margin: np.ndarray    # (n_categories,) mean margin rate of the category's offers
    archetype: np.ndarray          # (n_accounts,) index into ARCHETYPES
    base_rate: np.ndarray          # (n_accounts, n_categories) purchases/day before season, intent
    intent_entry: np.ndarray       # (n_accounts, n_categories) daily P(idle -> researching)
    line_amount: np.ndarray        # (n_accounts, n_categories) mean list amount per order line
    view_rate: np.ndarray          # (n_accounts, n_categories) idle product views/day, all online
    visit_rate: np.ndarray         # (n_accounts,) webshop visits per day at full online share
    online_logit: np.ndarray       # (n_accounts,) logit of the online share on day 0
    online_drift: np.ndarray       # (n_accounts,) yearly increase of that logit
    responsiveness: np.ndarray     # (n_accounts, n_channels)
    price_sensitivity: np.ndarray  # (n_accounts,)
    decision_rate: np.ndarray      # (n_accounts,) outreach decisions per weekday
    checkin_rate: np.ndarray       # (n_accounts,) generic rep check-in calls per weekday
    consent: np.ndarray            # (n_accounts,) bool
    do_not_contact: np.ndarray     # (n_accounts,) bool
    rep_index: np.ndarray          # (n_accounts,) index into reps, -1 when unassigned
    logging_weight: np.ndarray     # (n_channels,) the logging policy's weight of each channel
    contracts: ContractBook        # replenishment contracts (empty in most worlds)
    contract_start: np.ndarray     # (n_accounts, n_categories) first contract day, huge if none
    promotion_pct: np.ndarray      # (n_days,) discount of the company-wide sale each day, 0 = none
    spec: WorldSpec                # the preset that shaped the world

    @property
    def n_days(self) -> int:
        return int((self.as_of - self.start).days)

    def dates(self, first: int, count: int) -> pd.DatetimeIndex:
        """Calendar dates of day indices ``first .. first + count - 1``."""
        return pd.date_range(self.start + pd.Timedelta(days=first), periods=count, freq="D")

    def online_share(self, day: np.ndarray | int, accounts: np.ndarray | slice = slice(None)
                     ) -> np.ndarray:
        """Probability that an order line of the accounts is placed online on ``day``."""
        years = np.asarray(day) / 365.0
        logit = self.online_logit[accounts] + self.online_drift[accounts] * years
        return 1.0 / (1.0 + np.exp(-logit))

    def multiplier(self, accounts: np.ndarray, channels: np.ndarray, discount_pct: np.ndarray
                   ) -> np.ndarray:
        """Purchase-rate multiplier ``max(0, 1 + lift)`` of touches (arrays broadcast)."""
        base = np.array([CHANNEL_BASE_LIFT.get(c, 0.0) for c in self.channels])[channels]
        lift = (base * self.responsiveness[accounts, channels]
                + self.price_sensitivity[accounts] * discount_gain(discount_pct))
        return np.maximum(0.0, 1.0 + lift)

    def purchase_base(self, day: int) -> np.ndarray:
        """(n_accounts, n_categories) purchases/day before season, intent and touches on ``day``:
        the base rate, cut to the contract's spot factor in categories under a running contract."""
        if self.contracts.terms is None:
            return self.base_rate
        spot = self.base_rate * self.contracts.terms.spot_factor
        return np.where(self.contract_start <= day, spot, self.base_rate)

    def responsive(self, accounts: np.ndarray, categories: np.ndarray, day: int) -> np.ndarray:
        """Can a touch whose effect starts on ``day`` change these cells' purchases (no contract)?"""
        return self.contract_start[accounts, categories] > day

    def promotion_multiplier(self, day: int) -> np.ndarray:
        """(n_accounts,) purchase-rate multiplier of the company-wide sale on ``day`` (1 = none)."""
        pct = self.promotion_pct[day]
        if pct <= 0 or self.spec.promotions is None:
            return np.ones(len(self.price_sensitivity))
        return 1.0 + self.spec.promotions.response * self.price_sensitivity * discount_gain(pct)


def build_world(n_accounts: int, rng: np.random.Generator, as_of: pd.Timestamp,
                policy: Policy, spec: WorldSpec = WHOLESALER) -> World:
    """Draw accounts, reps, the offer catalog and every hidden trait of the world ``spec``."""
    if n_accounts < 1:
        raise ValueError(f"n_accounts must be >= 1, got {n_accounts}")
    start = as_of - pd.DateOffset(years=HISTORY_YEARS)
    touch_start = as_of - pd.DateOffset(months=spec.touch_months)
    categories = tuple(CATEGORIES)
    channels = tuple(policy.channel_names)
    offers, offer_category, offer_end = _offers(as_of, start, categories, policy)
    category_margin = (offers.groupby("product_category")["margin_rate"].mean()
                       .reindex(list(categories)).to_numpy())

    n = n_accounts
    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)
    industry = rng.choice(len(INDUSTRIES), size=n, p=INDUSTRY_WEIGHTS)
    employees = np.clip(np.round(np.exp(rng.normal(np.log(40.0), 1.25, n))), 5, 5000)
    segment = np.where(employees >= 250, "A", np.where(employees >= 50, "B", "C"))
    archetype = np.empty(n, dtype=np.int64)
    for seg, probs in zip(SEGMENTS, spec.archetype_by_segment, strict=True):
        members = np.flatnonzero(segment == seg)
        archetype[members] = rng.choice(len(ARCHETYPES), size=len(members), p=probs)
    buy_anyway = archetype == 0

    size = (employees / 50.0) ** 0.35
    activity = np.exp(rng.normal(0.0, 0.5, n)) * np.where(buy_anyway, 2.5, 1.0)
    n_cat = len(categories)
    pop = np.array([CATEGORIES[c][1] for c in categories])
    amount = np.array([CATEGORIES[c][2] for c in categories])
    dormant = np.where(rng.random((n, n_cat)) < 0.15, 0.05, 1.0)
    base_rate = (0.0062 * (activity * size)[:, None] * INDUSTRY_AFFINITY[industry] * pop[None, :]
                 * np.exp(rng.normal(0.0, 0.4, (n, n_cat))) * dormant)
    intent_entry = 0.008 * np.exp(rng.normal(0.0, 0.3, (n, n_cat))) * np.minimum(dormant * 4, 1.0)
    line_amount = (amount[None, :] * (size ** 0.8)[:, None]
                   * np.exp(rng.normal(0.0, 0.3, (n, n_cat))))

    digital = archetype == 2
    online_logit = rng.normal(-1.2, 0.8, n) + 1.2 * digital - 0.6 * (archetype == 3)
    online_drift = rng.normal(0.45, 0.2, n)
    view_rate = (0.004 * np.exp(rng.normal(0.0, 0.5, (n, n_cat))) * INDUSTRY_AFFINITY[industry]
                 * dormant)
    visit_rate = 0.06 * np.exp(rng.normal(0.0, 0.6, n))

    responsiveness = _channel_columns(_archetype_response(archetype, spec, rng), channels)
    base = np.array([CHANNEL_BASE_LIFT.get(c, 0.0) for c in channels])
    floor = np.divide(MIN_MULTIPLIER - 1.0, base, out=np.zeros_like(base), where=base > 0)
    responsiveness = np.maximum(responsiveness, floor[None, :])
    price_sensitivity = np.where(
        archetype == 1, rng.uniform(*spec.price_sensitivity, n),
        np.where(buy_anyway, np.abs(rng.normal(0.0, 0.02, n)),
                 rng.uniform(0.0, spec.other_price_sensitivity, n)))

    consent = rng.random(n) < np.where(digital, 0.8, 0.56)
    do_not_contact = rng.random(n) < np.where(archetype == 4, 0.06, 0.022)
    country = np.where(rng.random(n) < 0.88, 0, np.where(rng.random(n) < 0.58, 1, 2))
    reps, rep_index = _reps(region, rng)
    credit = np.maximum(
        1000.0, np.round(6000.0 * size * activity * np.exp(rng.normal(0, 0.3, n)), -3))

    accounts = pd.DataFrame({
        "account_id": numbered_ids("A", np.arange(1, n + 1), 6),
        "region": labels(REGIONS, region),
        "rep_id": labels(reps["rep_id"].to_numpy(), rep_index),
        "industry": labels(INDUSTRIES, industry),
        "employees": employees.astype("float64"),
        "country": labels(("DE", "AT", "CH"), country),
        "consent_email": consent,
        "do_not_contact": do_not_contact,
        "segment": labels(("A", "B", "C"), np.searchsorted(["A", "B", "C"], segment)),
        "credit_limit_eur": credit,
    })
    decision_rate = rng.uniform(*spec.decisions_per_month, n) * 12 / 261
    n_days = int((as_of - start).days)
    if spec.contracts is not None:
        contracts = build_contracts(spec.contracts, segment, base_rate, categories, n_days,
                                    int(start.day_of_week), rng)
    else:
        contracts = ContractBook.empty(int(start.day_of_week))
    if spec.digital_affinity is not None:
        terms = spec.digital_affinity
        visit_rate = visit_rate * np.exp(terms.visit_online_link * (online_logit - online_logit.mean()))
        affine = digital_response(terms, visit_rate, online_logit + online_drift * n_days / 365, rng)
        responsiveness = np.where(buy_anyway[:, None], responsiveness,
                                  _channel_columns(affine, channels))
    return World(
        accounts=accounts, reps=reps, offers=offers, policy=policy, as_of=as_of, start=start,
        touch_start_day=int((touch_start - start).days), categories=categories, channels=channels,
        offer_category=offer_category, offer_end_day=offer_end, category_margin=category_margin,
        archetype=archetype, base_rate=base_rate, intent_entry=intent_entry,
        line_amount=line_amount, view_rate=view_rate, visit_rate=visit_rate,
        online_logit=online_logit, online_drift=online_drift, responsiveness=responsiveness,
        price_sensitivity=price_sensitivity, decision_rate=decision_rate,
        checkin_rate=np.where(rep_index >= 0, 0.0022, 0.0), consent=consent,
        do_not_contact=do_not_contact, rep_index=rep_index,
        logging_weight=np.array([spec.logging_weight(c) for c in channels]),
        contracts=contracts, contract_start=contracts.start_grid(n, n_cat),
        promotion_pct=promotion_days(spec.promotions, start, n_days), spec=spec,
    )


def _archetype_response(archetype: np.ndarray, spec: WorldSpec, rng: np.random.Generator
                        ) -> np.ndarray:
    """(n_accounts, 4) response to ``RESPONSE_CHANNELS``: archetype mean with noise; buy-anyway
    accounts stay near zero."""
    n = len(archetype)
    buy_anyway = (archetype == 0)[:, None]
    response = (np.array(spec.archetype_response)[archetype]
                * np.exp(rng.normal(0.0, 0.35, (n, len(RESPONSE_CHANNELS)))))
    response += np.where(buy_anyway, -0.02, 0.0) + rng.normal(0.0, 0.05, (n, 4)) * np.where(
        buy_anyway, 0.4, 1.0)
    return response


def _channel_columns(response: np.ndarray, channels: tuple[str, ...]) -> np.ndarray:
    """(n_accounts, n_channels) from responses to ``RESPONSE_CHANNELS``; other channels get zero."""
    columns = [response[:, RESPONSE_CHANNELS.index(c)] if c in RESPONSE_CHANNELS
               else np.zeros(len(response)) for c in channels]
    return np.stack(columns, axis=1)


def _offers(as_of: pd.Timestamp, start: pd.Timestamp, categories: tuple[str, ...],
            policy: Policy) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The offer catalog (normalized dtypes), category index and end day of each offer."""
    rows = []
    for offer_id, cat, name, channels, steps, guard, ended in OFFER_SPECS:
        chans = tuple(c for c in channels.split("|") if c in policy.channels)
        step_values = tuple(sorted(float(s) for s in steps.split("|")))
        rows.append({
            "offer_id": offer_id, "product_category": cat, "name": name, "channels": chans,
            "discount_steps": step_values,
            "max_discount_pct": float(guard) if guard is not None else max(step_values),
            "margin_rate": CATEGORIES[cat][0],
            "active": ended is None,
        })
    offers = pd.DataFrame(rows)
    for col in ("offer_id", "product_category", "name"):
        offers[col] = offers[col].astype("str")
    n_days = (as_of - start).days
    end_day = np.array([n_days - e if e is not None else n_days + 10**6
                        for *_, e in OFFER_SPECS], dtype=np.int64)
    category = np.array([categories.index(c) for c in offers["product_category"]])
    return offers, category, end_day


def _reps(region: np.ndarray, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Reps per region (one per 80-120 accounts, at least two) and each account's owner."""
    rows: list[dict[str, object]] = []
    rep_index = np.full(len(region), -1, dtype=np.int64)
    for r, name in enumerate(REGIONS):
        members = np.flatnonzero(region == r)
        n_reps = max(2, int(round(len(members) / rng.uniform(80, 120))))
        first = len(rows)
        for _ in range(n_reps):
            rows.append({
                "rep_id": f"R{len(rows) + 1:03d}",
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "region": name,
                "weekly_capacity": int(rng.integers(15, 41)),
            })
        assigned = members[rng.random(len(members)) >= 0.05]
        rep_index[assigned] = first + rng.integers(0, n_reps, len(assigned))
    reps = pd.DataFrame(rows)
    for col in ("rep_id", "name", "region"):
        reps[col] = reps[col].astype("str")
    reps["weekly_capacity"] = reps["weekly_capacity"].astype("int64")
    return reps, rep_index
