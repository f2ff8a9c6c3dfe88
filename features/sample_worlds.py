"""World presets of the sample generator: what drives each world's response to outreach, as data.

A ``WorldSpec`` holds the parameters that give a generated world its structure (who responds to
which channel, how the logged outreach was chosen, how much history there is); ``WORLDS`` maps
each preset's name to its spec. ``features.sample_world.build_world`` reads a spec; nothing else
in the generator knows which preset it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

#: Behavioural archetypes of the accounts (hidden; the history shows only their behaviour).
ARCHETYPES = ("buy_anyway", "price_sensitive", "digital", "relationship", "contact_averse")
#: Channels with a response in the generated worlds, in the order of ``archetype_response`` columns.
RESPONSE_CHANNELS = ("email", "webshop_banner", "phone", "visit")
SEGMENTS = ("A", "B", "C")


@dataclass(frozen=True)
class Contracts:
    """Replenishment contracts: regular re-orders in a few categories that outreach cannot change.

    Each account of segment A, B, C has a contract with probability ``share_by_segment``; it covers
    ``per_account`` (min, max) of ``categories``, those the account buys most. A contract orders
    every ``period`` days (one of ``periods``, drawn with ``period_weights``), ``delay_probs[j]`` =
    P(the order is placed j days after its scheduled day, then moved to the next weekday), skipped
    with ``skip_probability``; online (EDI or webshop) with ``online_share``; each line the
    account's mean amount with log-normal noise ``amount_sigma``. Other purchases of a contract
    category fall to ``spot_factor`` of their rate, and no touch changes the category's purchases.
    ``old_share`` of the contracts predate the history; the others start in it, at least
    ``min_age_days`` before as-of.
    """

    share_by_segment: tuple[float, float, float]
    categories: tuple[str, ...]
    per_account: tuple[int, int]
    periods: tuple[int, ...]
    period_weights: tuple[float, ...]
    delay_probs: tuple[float, ...] = (0.7, 0.2, 0.1)
    skip_probability: float = 0.04
    online_share: float = 0.85
    amount_sigma: float = 0.15
    spot_factor: float = 0.1
    old_share: float = 0.5
    min_age_days: int = 120


@dataclass(frozen=True)
class Promotions:
    """Company-wide sales: every year, ``calendar`` holds (month, day, days, discount percent).

    On those days every order line carries the discount, and an account's purchase rate is
    multiplied by ``1 + response * price_sensitivity * discount_gain(discount)``. Only sales that
    end before as-of take place (none falls in the month after as-of, the truth's window).
    """

    calendar: tuple[tuple[int, int, int, float], ...]
    response: float


@dataclass(frozen=True)
class DigitalAffinity:
    """Channel response driven by digital behaviour instead of the archetype.

    An account's affinity ``a = sigmoid(visit_weight * z(log visit rate) + online_weight *
    z(online-share logit at as-of) + noise * N(0, 1))`` (z: standardized over the accounts) sets its
    responsiveness: e-mail and banner ``marketing * a``, phone and visit ``rep * (1 - a)``, each
    with log-normal noise ``spread``. Buy-anyway accounts keep their near-zero response.
    ``visit_online_link`` ties webshop visits to the online share (log visit rate + link x logit).
    """

    marketing: tuple[float, float]
    rep: tuple[float, float]
    visit_weight: float = 1.0
    online_weight: float = 1.0
    noise: float = 0.4
    spread: float = 0.25
    visit_online_link: float = 0.5


@dataclass(frozen=True)
class WorldSpec:
    """The parameters that give a generated world its structure.

    ``archetype_by_segment``: archetype probabilities (``ARCHETYPES`` order) of segment A (250+
    employees), B (50-249) and C. ``archetype_response``: mean responsiveness of each archetype to
    each of ``RESPONSE_CHANNELS``. ``price_sensitivity``: range of the price-sensitive archetype's
    sensitivity (uniform); other accounts draw theirs from ``[0, other_price_sensitivity]``
    (buy-anyway accounts stay near 0). ``touch_months``: months of logged outreach before as-of;
    ``decisions_per_month``: range of each account's rate of logged outreach decisions;
    ``logging_weights``: (channel, weight) pairs of the logging policy (an action's chance is
    proportional to its channel's weight; channels not named weigh 1). ``contracts``,
    ``promotions`` and ``digital_affinity`` switch on those mechanisms.
    """

    name: str
    description: str
    default_accounts: int = 2000
    archetype_by_segment: tuple[tuple[float, ...], ...] = (
        (0.25, 0.10, 0.15, 0.35, 0.15),
        (0.25, 0.20, 0.20, 0.15, 0.20),
        (0.25, 0.25, 0.20, 0.07, 0.23),
    )
    archetype_response: tuple[tuple[float, ...], ...] = (
        (0.0, 0.0, 0.0, 0.0),
        (0.6, 0.6, 0.6, 0.6),
        (2.0, 2.0, 0.3, 0.2),
        (0.3, 0.3, 1.5, 1.4),
        (0.4, 0.8, -0.8, -0.6),
    )
    price_sensitivity: tuple[float, float] = (0.35, 0.85)
    other_price_sensitivity: float = 0.2
    touch_months: int = 18
    decisions_per_month: tuple[float, float] = (1.0, 2.0)
    logging_weights: tuple[tuple[str, float], ...] = ()
    contracts: Contracts | None = None
    promotions: Promotions | None = None
    digital_affinity: DigitalAffinity | None = None

    def __post_init__(self) -> None:
        if len(self.archetype_by_segment) != len(SEGMENTS) or any(
                len(p) != len(ARCHETYPES) or abs(sum(p) - 1.0) > 1e-9 for p in self.archetype_by_segment):
            raise ValueError(f"world {self.name!r}: archetype_by_segment must hold {len(SEGMENTS)} rows "
                             f"of {len(ARCHETYPES)} probabilities summing to 1, got {self.archetype_by_segment}")
        if len(self.archetype_response) != len(ARCHETYPES) or any(
                len(r) != len(RESPONSE_CHANNELS) for r in self.archetype_response):
            raise ValueError(f"world {self.name!r}: archetype_response must be {len(ARCHETYPES)} x "
                             f"{len(RESPONSE_CHANNELS)}, got {self.archetype_response}")
        if self.default_accounts < 1 or self.touch_months < 1:
            raise ValueError(f"world {self.name!r}: default_accounts and touch_months must be >= 1, "
                             f"got {self.default_accounts} and {self.touch_months}")
        if any(w <= 0 for _, w in self.logging_weights):
            raise ValueError(f"world {self.name!r}: logging weights must be > 0, got {self.logging_weights}")
        c = self.contracts
        if c is not None and (len(c.periods) != len(c.period_weights) or abs(sum(c.delay_probs) - 1) > 1e-9
                              or not 1 <= c.per_account[0] <= c.per_account[1] <= len(c.categories)):
            raise ValueError(f"world {self.name!r}: contracts need one weight per period, delay "
                             f"probabilities summing to 1 and 1 <= per_account <= categories, got {c}")

    def logging_weight(self, channel: str) -> float:
        """The logging policy's weight of ``channel`` (1 unless the spec names it)."""
        return dict(self.logging_weights).get(channel, 1.0)


WHOLESALER = WorldSpec(
    name="wholesaler",
    description="German industrial-supplies wholesaler; response driven by five hidden behavioural "
                "archetypes (relationship, digital, price-sensitive, contact-averse, buy-anyway)",
)

REP_AVERSE = WorldSpec(
    name="rep_averse",
    description="a third of the accounts are annoyed by calls and visits (they buy less for weeks "
                "after one); e-mail and banners still help them a little",
    archetype_by_segment=(
        (0.20, 0.10, 0.15, 0.25, 0.30),
        (0.20, 0.10, 0.15, 0.20, 0.35),
        (0.20, 0.10, 0.12, 0.18, 0.40),
    ),
    archetype_response=(
        (0.0, 0.0, 0.0, 0.0),
        (0.6, 0.6, 0.6, 0.6),
        (2.0, 2.0, 0.3, 0.2),
        (0.3, 0.3, 1.5, 1.4),
        (0.5, 0.9, -1.6, -1.1),
    ),
)

REPLENISHMENT = WorldSpec(
    name="replenishment",
    description="four in ten accounts re-order their main consumables on replenishment contracts "
                "(regular, mostly EDI); outreach and discounts change nothing there",
    archetype_by_segment=(
        (0.10, 0.12, 0.18, 0.40, 0.20),
        (0.10, 0.22, 0.22, 0.23, 0.23),
        (0.10, 0.28, 0.22, 0.14, 0.26),
    ),
    contracts=Contracts(
        share_by_segment=(0.60, 0.50, 0.35),
        categories=("Befestigungstechnik", "Arbeitsschutz", "Schleifmittel", "Klebstoffe",
                    "Elektromaterial", "Reinigung"),
        per_account=(1, 3),
        periods=(14, 21, 28, 42),
        period_weights=(0.30, 0.15, 0.40, 0.15),
    ),
)

PROMO_SENSITIVE = WorldSpec(
    name="promo_sensitive",
    description="a price-sensitive quarter of the accounts, seen only in how they buy during the "
                "company's sales; discounted outreach pays for them and is wasted on the rest",
    archetype_by_segment=((0.23, 0.22, 0.17, 0.22, 0.16),) * 3,
    price_sensitivity=(0.4, 0.9),
    other_price_sensitivity=0.05,
    promotions=Promotions(
        calendar=((3, 10, 14, 8.0), (6, 2, 7, 5.0), (9, 22, 14, 10.0), (11, 24, 7, 10.0)),
        response=2.0,
    ),
)

DIGITAL = WorldSpec(
    name="digital",
    description="channel response follows digital behaviour: webshop users answer e-mail and "
                "banners, offline buyers answer their rep; outreach was logged mostly by e-mail",
    digital_affinity=DigitalAffinity(marketing=(2.6, 2.6), rep=(1.8, 1.6)),
    logging_weights=(("email", 3.0), ("webshop_banner", 2.0), ("phone", 1.0), ("visit", 0.3)),
)

THIN = WorldSpec(
    name="thin",
    description="the wholesaler with thin data: 300 accounts and few logged touches (9 months, "
                "about one decision per account every two months)",
    default_accounts=300,
    touch_months=9,
    decisions_per_month=(0.3, 0.7),
)

#: Every preset by name.
WORLDS: MappingProxyType[str, WorldSpec] = MappingProxyType({
    spec.name: spec for spec in (WHOLESALER, REP_AVERSE, REPLENISHMENT, PROMO_SENSITIVE, DIGITAL, THIN)
})


def world_spec(world: str | WorldSpec) -> WorldSpec:
    """The spec of a preset name (a ``WorldSpec`` is returned as it is)."""
    if isinstance(world, WorldSpec):
        return world
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r}; expected one of: {', '.join(WORLDS)}")
    return WORLDS[world]
