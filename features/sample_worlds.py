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
class WorldSpec:
    """The parameters that give a generated world its structure.

    ``archetype_by_segment``: archetype probabilities (``ARCHETYPES`` order) of segment A (250+
    employees), B (50-249) and C. ``archetype_response``: mean responsiveness of each archetype to
    each of ``RESPONSE_CHANNELS``. ``price_sensitivity``: range of the price-sensitive archetype's
    sensitivity (uniform); other accounts draw theirs from ``[0, other_price_sensitivity]``
    (buy-anyway accounts stay near 0). ``touch_months``: months of logged outreach before as-of;
    ``decisions_per_month``: range of each account's rate of logged outreach decisions.
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


WHOLESALER = WorldSpec(
    name="wholesaler",
    description="German industrial-supplies wholesaler; response driven by five hidden behavioural "
                "archetypes (relationship, digital, price-sensitive, contact-averse, buy-anyway)",
)

#: Every preset by name.
WORLDS: MappingProxyType[str, WorldSpec] = MappingProxyType({
    spec.name: spec for spec in (WHOLESALER,)
})


def world_spec(world: str | WorldSpec) -> WorldSpec:
    """The spec of a preset name (a ``WorldSpec`` is returned as it is)."""
    if isinstance(world, WorldSpec):
        return world
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r}; expected one of: {', '.join(WORLDS)}")
    return WORLDS[world]
