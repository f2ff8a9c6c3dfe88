"""Day-by-day simulation of the sample world: purchases, web events and logged outreach.

Every day, for all accounts x categories at once:

1. the hidden intent state moves (idle -> researching -> buying -> idle, see
   ``features.sample_world``);
2. purchases are Poisson with rate ``base_rate * season * intent factor * touch multipliers``
   (times the sale's multiplier on days of a company-wide promotion; a category under a
   replenishment contract keeps only its spot rate, and the contract's orders come on schedule);
3. product views (many while researching, more while buying), carts and downloads following
   views, and visits;
4. from ``world.touch_start_day`` on, weekday outreach decisions by a randomized logging policy
   with exact propensities: ``none`` with probability ``P_NONE``, otherwise among the actions
   eligible at the decision time ``t`` (docs/data-contract.md §2 with as-of ``t``: touches in
   ``[t - 30 days, t)`` count against caps, orders in ``[t - quiet days, t)`` block outreach),
   each with a chance proportional to its channel's logging weight (uniform unless the world's
   spec says otherwise). With nothing eligible the decision is ``none`` with propensity 1.

Times are whole seconds within a day, so the logged timestamps reproduce every comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.sample_world import (
    EFFECT_DAYS,
    INTENT_ABANDON,
    INTENT_EXIT,
    INTENT_PURCHASE_FACTOR,
    INTENT_TO_BUYING,
    INTENT_VIEW_FACTOR,
    LINE_AMOUNT_SIGMA,
    P_NONE,
    World,
    intent_stationary,
    purchase_season,
    web_season,
)

DAY_SECONDS = 86_400
CAP_WINDOW_DAYS = 30
RING = CAP_WINDOW_DAYS + 1
EVENT_TYPES = ("visit", "product_view", "cart", "download")
CART_PROBABILITY = np.array([0.05, 0.12, 0.35])  # per product view, by intent state
DOWNLOAD_PROBABILITY = 0.04
#: Daily probability to leave each intent state (idle uses the cell's own entry probability).
INTENT_LEAVE = np.array([0.0, INTENT_TO_BUYING + INTENT_ABANDON, INTENT_EXIT])


@dataclass(frozen=True)
class ActionSpace:
    """The actions of each channel on one day, as padded arrays (channel x slot)."""

    offer: np.ndarray     # (n_channels, width) offer index, -1 = padding
    discount: np.ndarray  # (n_channels, width) discount percent
    count: np.ndarray     # (n_channels,) number of actions of the channel


def action_space(world: World, day: int) -> ActionSpace:
    """Active offers x their policy channels x steps within the guardrail, grouped by channel."""
    per_channel: list[list[tuple[int, float]]] = [[] for _ in world.channels]
    offers = world.offers
    for o, (chans, steps, guard) in enumerate(zip(offers["channels"], offers["discount_steps"],
                                                  offers["max_discount_pct"], strict=True)):
        if day >= world.offer_end_day[o]:
            continue
        for ch in chans:
            if ch in world.channels:
                per_channel[world.channels.index(ch)] += [(o, s) for s in steps if s <= guard]
    width = max(1, max(len(a) for a in per_channel))
    offer = np.full((len(world.channels), width), -1, dtype=np.int64)
    discount = np.zeros((len(world.channels), width))
    for ch, acts in enumerate(per_channel):
        if acts:
            offer[ch, :len(acts)] = [o for o, _ in acts]
            discount[ch, :len(acts)] = [s for _, s in acts]
    return ActionSpace(offer, discount, np.array([len(a) for a in per_channel], dtype=np.int64))


@dataclass
class ContactState:
    """Rolling contact history needed for caps and quiet days (exact to the second)."""

    ring_channel: np.ndarray   # (RING, n_accounts) channel touched that day, -1 = none
    ring_second: np.ndarray    # (RING, n_accounts) second of the day of that touch
    counts: np.ndarray         # (n_accounts, n_channels) touches on days d-29 .. d-1
    last_order: np.ndarray     # (n_accounts,) last order before today, in seconds since day 0
    first_today: np.ndarray    # (n_accounts,) earliest order second today (DAY_SECONDS = none)
    last_today: np.ndarray     # (n_accounts,) latest order second today (-1 = none)

    @classmethod
    def empty(cls, n_accounts: int, n_channels: int) -> ContactState:
        return cls(np.full((RING, n_accounts), -1, dtype=np.int8),
                   np.zeros((RING, n_accounts), dtype=np.int64),
                   np.zeros((n_accounts, n_channels), dtype=np.int64),
                   np.full(n_accounts, -(10**12), dtype=np.int64),
                   np.full(n_accounts, DAY_SECONDS, dtype=np.int64),
                   np.full(n_accounts, -1, dtype=np.int64))

    def record_orders(self, accounts: np.ndarray, second: np.ndarray) -> None:
        """Note today's order times (before today's decisions look at them)."""
        np.minimum.at(self.first_today, accounts, second)
        np.maximum.at(self.last_today, accounts, second)

    def end_day(self, day: int) -> None:
        """Today's orders become history once today's decisions are made."""
        has_order = self.last_today >= 0
        self.last_order[has_order] = day * DAY_SECONDS + self.last_today[has_order]

    def roll(self, day: int) -> None:
        """Move the 29-day count window to end at ``day - 1`` and clear today's slot."""
        for slot, sign in ((self.ring_channel[(day - 1) % RING], 1),
                           (self.ring_channel[(day - CAP_WINDOW_DAYS) % RING], -1)):
            hit = np.flatnonzero(slot >= 0)
            self.counts[hit, slot[hit]] += sign
        self.ring_channel[day % RING] = -1
        self.first_today[:] = DAY_SECONDS
        self.last_today[:] = -1

    def available(self, world: World, day: int, accounts: np.ndarray, second: np.ndarray
                  ) -> np.ndarray:
        """(len(accounts), n_channels) bool: channel eligible at ``day`` + ``second``."""
        policy = world.policy
        counts = self.counts[accounts].copy()
        edge = (day - CAP_WINDOW_DAYS) % RING
        edge_channel = self.ring_channel[edge, accounts]
        in_window = (edge_channel >= 0) & (self.ring_second[edge, accounts] >= second)
        counts[np.flatnonzero(in_window), edge_channel[in_window]] += 1
        caps = np.array([policy.channels[c].max_per_30d if policy.channels[c].max_per_30d
                         is not None else np.iinfo(np.int64).max for c in world.channels])
        needs_consent = np.array([policy.channels[c].requires_consent for c in world.channels])
        ok = counts < caps[None, :]
        ok &= ~needs_consent[None, :] | world.consent[accounts][:, None]
        ok &= ~world.do_not_contact[accounts][:, None]
        quiet = policy.quiet_days_after_order
        if quiet > 0:
            now = day * DAY_SECONDS + second
            blocked = ((self.first_today[accounts] < second)
                       | (self.last_order[accounts] >= now - quiet * DAY_SECONDS))
            ok &= ~blocked[:, None]
        return ok


@dataclass(frozen=True)
class SimulationLog:
    """Raw simulated events (index arrays) and the hidden state at as-of."""

    lines: dict[str, np.ndarray]       # account, category, day, second, online, list_amount
    web: dict[str, np.ndarray]         # account, category (-1 = none), day, second, event
    touches: dict[str, np.ndarray]     # account, day, second, channel (-1 = none), offer (-1),
    #                                    discount, propensity (nan = not logged)
    intent_at_end: np.ndarray          # (n_accounts, n_categories) intent state on the last day
    carry_log: np.ndarray              # (n_accounts, n_categories, EFFECT_DAYS) log multiplier
    #                                    of earlier touches on each day from as-of on
    available_at_end: np.ndarray       # (n_accounts, n_channels) eligibility at as-of
    pending_contract: dict[str, np.ndarray]  # account, category, day: contract orders scheduled
    #                                    before as-of but placed on or after it


def _concat(parts: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """One array per field; index fields as int64, everything else as given."""
    out = {}
    for key, chunks in parts.items():
        values = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        if key in ("account", "category", "day", "second", "channel", "offer", "event"):
            values = values.astype(np.int64)
        out[key] = values
    return out


def simulate(world: World, rng: np.random.Generator) -> SimulationLog:
    """Run every day from ``world.start`` to the day before as-of."""
    n_acc, n_cat = world.base_rate.shape
    n_days = world.n_days
    season = purchase_season(world.dates(0, n_days))
    web = web_season(world.dates(0, n_days))
    weekday = world.dates(0, n_days).day_of_week.to_numpy() < 5
    p_in = world.intent_entry
    stationary = intent_stationary(p_in)
    u = rng.random((n_acc, n_cat))
    intent = ((u >= stationary[0]).astype(np.int8) + (u >= stationary[0] + stationary[1]))
    log_mult = np.zeros((n_acc, n_cat))
    mult = np.ones((n_acc, n_cat))
    effects: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    state = ContactState.empty(n_acc, len(world.channels))
    lines: dict[str, list[np.ndarray]] = {
        k: [] for k in ("account", "category", "day", "second", "online", "list_amount")}
    webs: dict[str, list[np.ndarray]] = {
        k: [] for k in ("account", "category", "day", "second", "event")}
    touches: dict[str, list[np.ndarray]] = {
        k: [] for k in ("account", "day", "second", "channel", "offer", "discount", "propensity")}
    contract = world.contracts.orders(0, n_days, world.line_amount, rng)
    placed = contract["day"] < n_days
    pending = {k: contract[k][~placed] for k in ("account", "category", "day")}
    contract = {k: v[placed][np.argsort(contract["day"][placed], kind="stable")]
                for k, v in contract.items()}
    contract_bounds = np.searchsorted(contract["day"], np.arange(n_days + 1))

    for day in range(n_days):
        intent = next_intent(intent, rng.random((n_acc, n_cat)), p_in)
        _apply_effects(effects.pop(day, []), log_mult, mult)
        state.roll(day)
        online = world.online_share(day)
        rate = world.purchase_base(day) * (season[day] * INTENT_PURCHASE_FACTOR[intent]) * mult
        if world.promotion_pct[day] > 0:
            rate = rate * world.promotion_multiplier(day)[:, None]
        _simulate_orders(world, rng, lines, state, day, rng.poisson(rate), online)
        if contract_bounds[day + 1] > contract_bounds[day]:
            today = slice(contract_bounds[day], contract_bounds[day + 1])
            state.record_orders(contract["account"][today], contract["second"][today])
            _append(lines, **{k: v[today] for k, v in contract.items()})
        _simulate_web(world, rng, webs, day, web[day], online, intent)
        if day >= world.touch_start_day and weekday[day]:
            _decide(world, rng, state, action_space(world, day), day, touches, effects)
        state.end_day(day)

    state.roll(n_days)
    available = state.available(world, n_days, np.arange(n_acc), np.zeros(n_acc, dtype=np.int64))
    carry = np.empty((n_acc, n_cat, EFFECT_DAYS), dtype=np.float32)
    for k in range(EFFECT_DAYS):
        _apply_effects(effects.pop(n_days + k, []), log_mult, mult)
        carry[:, :, k] = log_mult
    return SimulationLog(_concat(lines), _concat(webs), _concat(touches), intent, carry, available,
                         pending)


def next_intent(state: np.ndarray, u: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """Sample one day of the intent chain from uniforms ``u`` (same shape as ``state``)."""
    leave = np.where(state == 0, entry, INTENT_LEAVE[state])
    moving = np.flatnonzero(u < leave)
    was = state.ravel()[moving]
    to_buying = u.ravel()[moving] < INTENT_TO_BUYING
    new = state.copy()
    new.ravel()[moving] = np.where(was == 0, 1, np.where((was == 1) & to_buying, 2, 0))
    return new


def _events(counts: np.ndarray, n_cat: int) -> tuple[np.ndarray, np.ndarray]:
    """Account and category index of each event, repeated by its count."""
    cells = np.flatnonzero(counts)
    cells = np.repeat(cells, counts.ravel()[cells])
    return cells // n_cat, cells % n_cat


def _append(parts: dict[str, list[np.ndarray]], **arrays: np.ndarray) -> None:
    for key, values in arrays.items():
        parts[key].append(values)


def _simulate_orders(world: World, rng: np.random.Generator, lines: dict[str, list[np.ndarray]],
                     state: ContactState, day: int, counts: np.ndarray, online: np.ndarray) -> None:
    """Order lines of one day; an account's online and its offline lines form one order each."""
    acc, cat = _events(counts, counts.shape[1])
    is_online = rng.random(len(acc)) < online[acc]
    n_acc = len(online)
    second = np.where(is_online, rng.integers(6 * 3600, 23 * 3600, n_acc)[acc],
                      rng.integers(7 * 3600, 17 * 3600, n_acc)[acc])
    state.record_orders(acc, second)
    mu = np.log(world.line_amount[acc, cat]) - LINE_AMOUNT_SIGMA**2 / 2
    amount = np.exp(mu + LINE_AMOUNT_SIGMA * rng.standard_normal(len(acc)))
    _append(lines, account=acc, category=cat, day=np.full(len(acc), day), second=second,
            online=is_online, list_amount=amount)


def _apply_effects(batch: list[tuple[np.ndarray, np.ndarray, np.ndarray]], log_mult: np.ndarray,
                   mult: np.ndarray) -> None:
    """Add the log multipliers of touches starting (or, negated, ending) today."""
    for acc, cat, value in batch:
        np.add.at(log_mult, (acc, cat), value)
        mult[acc, cat] = np.exp(log_mult[acc, cat])


def _simulate_web(world: World, rng: np.random.Generator, webs: dict[str, list[np.ndarray]],
                  day: int, season: float, online: np.ndarray, intent: np.ndarray) -> None:
    """Visits per account; product views per account x category, then carts and downloads."""
    n_cat = intent.shape[1]
    digital = (0.15 + online) * season
    views = rng.poisson(world.view_rate * digital[:, None] * INTENT_VIEW_FACTOR[intent])
    v_acc, v_cat = _events(views, n_cat)
    cart = rng.random(len(v_acc)) < CART_PROBABILITY[intent[v_acc, v_cat]]
    download = rng.random(len(v_acc)) < DOWNLOAD_PROBABILITY
    visits = rng.poisson(world.visit_rate * digital * (1.0 + 0.8 * (intent > 0).sum(axis=1)))
    vis_acc = np.repeat(np.arange(len(visits)), visits)
    acc = np.concatenate([vis_acc, v_acc, v_acc[cart], v_acc[download]])
    cat = np.concatenate([np.full(len(vis_acc), -1), v_cat, v_cat[cart], v_cat[download]])
    event = np.repeat(np.arange(4, dtype=np.int8),
                      [len(vis_acc), len(v_acc), int(cart.sum()), int(download.sum())])
    _append(webs, account=acc, category=cat, day=np.full(len(acc), day),
            second=rng.integers(6 * 3600, 22 * 3600, len(acc)), event=event)


def _decide(world: World, rng: np.random.Generator, state: ContactState, space: ActionSpace,
            day: int, touches: dict[str, list[np.ndarray]],
            effects: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]) -> None:
    """Logged outreach decisions and generic rep check-in calls of one weekday."""
    u = rng.random(len(world.decision_rate))
    acting = np.flatnonzero(u < world.decision_rate + world.checkin_rate)
    if not len(acting):
        return
    decides = u[acting] < world.decision_rate[acting]
    second = rng.integers(7 * 3600, 17 * 3600, len(acting))
    available = state.available(world, day, acting, second)
    channel, offer, discount, propensity = choose_actions(available, space, rng.random(len(acting)),
                                                          world.logging_weight)

    phone = world.channels.index("phone") if "phone" in world.channels else -1
    checkin = ~decides & (phone >= 0) & available[:, max(phone, 0)]
    channel = np.where(checkin, phone, channel)
    offer = np.where(checkin, -1, offer)
    discount = np.where(checkin, 0.0, discount)
    propensity = np.where(checkin, np.nan, propensity)
    logged = decides | checkin
    acting, second, channel, offer, discount, propensity = (
        x[logged] for x in (acting, second, channel, offer, discount, propensity))
    _append(touches, account=acting, day=np.full(len(acting), day), second=second,
            channel=channel, offer=offer, discount=discount, propensity=propensity)

    touched = channel >= 0
    state.ring_channel[day % RING, acting[touched]] = channel[touched]
    state.ring_second[day % RING, acting[touched]] = second[touched]
    with_offer = offer >= 0
    acc, ch, disc = acting[with_offer], channel[with_offer], discount[with_offer]
    cat = world.offer_category[offer[with_offer]]
    value = np.log(np.maximum(world.multiplier(acc, ch, disc), 1e-12))
    value = np.where(world.responsive(acc, cat, day + 1), value, 0.0)
    effects.setdefault(day + 1, []).append((acc, cat, value))
    effects.setdefault(day + 1 + EFFECT_DAYS, []).append((acc, cat, -value))


def choose_actions(available: np.ndarray, space: ActionSpace, pick: np.ndarray,
                   weight: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The randomized logging policy, one decision per row of ``available`` (rows x channels).

    ``none`` with probability ``P_NONE``, else one of the eligible actions (every action of every
    available channel) with a chance proportional to its channel's ``weight`` (default: uniform);
    ``none`` with probability 1 when nothing is eligible. ``pick`` holds one uniform draw per
    decision. Returns channel (-1 = none), offer (-1), discount and the propensity of the chosen
    action.
    """
    rows = np.arange(len(pick))
    weight = np.ones(len(space.count)) if weight is None else np.asarray(weight, dtype="float64")
    mass = available * space.count[None, :] * weight[None, :]
    total = mass.sum(axis=1)
    act = (total > 0) & (pick >= P_NONE)
    x = (pick - P_NONE) / (1.0 - P_NONE) * total
    x = np.clip(x, 0.0, np.nextafter(total, 0.0))
    cum = np.cumsum(mass, axis=1)
    channel = np.argmax(x[:, None] < cum, axis=1)
    slot = np.floor((x - (cum[rows, channel] - mass[rows, channel])) / weight[channel])
    slot = np.clip(slot.astype(np.int64), 0, np.maximum(space.count[channel] - 1, 0))
    offer = np.where(act, space.offer[channel, slot], -1)
    discount = np.where(act, space.discount[channel, slot], 0.0)
    propensity = np.where(total == 0, 1.0, np.where(
        act, (1.0 - P_NONE) * weight[channel] / np.where(total > 0, total, 1.0), P_NONE))
    return np.where(act, channel, -1), offer, discount, propensity
