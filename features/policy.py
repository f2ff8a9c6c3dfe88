"""Business policy: channels with their cost and contact rules, attribution window, quiet days.

Read from ``policy.yaml`` in a data directory; the contract's defaults apply when the file
or a key is absent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from numpy.typing import ArrayLike

from features.errors import SymbioseError

ExecutedBy = Literal["rep", "marketing"]
#: The contact caps count the contacts of this many days before the day in question.
CONTACT_WINDOW = pd.Timedelta(days=30)
_DAY = pd.Timedelta(days=1)
EXECUTORS: tuple[str, ...] = ("rep", "marketing")
NONE_CHANNEL = "none"


class PolicyError(SymbioseError, ValueError):
    """policy.yaml is malformed; the message names the key and what was expected."""


@dataclass(frozen=True)
class ChannelRule:
    """Cost and contact rules of one outreach channel."""

    name: str
    cost: float
    executed_by: ExecutedBy
    requires_consent: bool = False
    max_per_30d: int | None = None

    def cap_reached(self, touches: ArrayLike) -> np.ndarray:
        """The contact-cap rule: no further contact on this channel once an account's touches in
        the 30 days before as-of (``touches``, a count or an array of counts) reach ``max_per_30d``."""
        counts = np.asarray(touches, dtype=np.float64)
        if self.max_per_30d is None:
            return np.zeros(counts.shape, dtype=bool)
        return counts >= self.max_per_30d

    def free_from(self, contacts: ArrayLike, as_of: pd.Timestamp) -> pd.Timestamp | None:
        """The first time from ``as_of`` on when the contact-cap rule allows this channel again, if
        no further contact happens: ``as_of`` itself when the ``contacts`` (their times, all before
        ``as_of``) of the 30 days before it stay below ``max_per_30d``; else the midnight after the
        day on which the ``max_per_30d``-th latest contact leaves the 30-day window (from then on
        :meth:`cap_reached` is false for the contacts counted in the window); None when the cap
        is 0 (never allowed)."""
        as_of = pd.Timestamp(as_of)
        if self.max_per_30d is None:
            return as_of
        times = pd.DatetimeIndex(np.asarray(contacts, dtype="datetime64[ns]")).dropna()
        times = times[times >= as_of - CONTACT_WINDOW].sort_values()
        if not self.cap_reached(len(times)):
            return as_of
        if self.max_per_30d == 0:
            return None
        kth_latest = times[len(times) - self.max_per_30d]
        return max(as_of, (kth_latest + CONTACT_WINDOW).normalize() + _DAY)


DEFAULT_CHANNELS: dict[str, ChannelRule] = {
    "email": ChannelRule("email", 0.5, "marketing", True, 4),
    "webshop_banner": ChannelRule("webshop_banner", 0.1, "marketing", False, 8),
    "phone": ChannelRule("phone", 12.0, "rep", False, 2),
    "visit": ChannelRule("visit", 90.0, "rep", False, 1),
}


@dataclass(frozen=True)
class Policy:
    """The business rules every component shares (docs/data-contract.md §1, policy.yaml)."""

    attribution_window_days: int = 30
    quiet_days_after_order: int = 0
    channels: dict[str, ChannelRule] = field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    currency: str = "EUR"  # ISO 4217 code of amounts, for texts shown to people (not in contract v1)

    @property
    def channel_names(self) -> list[str]:
        return list(self.channels)

    def quiet_until(self, last_order: pd.Timestamp | None, as_of: pd.Timestamp) -> pd.Timestamp:
        """The first time from ``as_of`` on outside the quiet period after an account's
        ``last_order`` (None: no order): ``as_of`` when it is outside already, else the midnight
        after the day on which the ``quiet_days_after_order`` end (the rule of
        ``features.actions.contact_state``'s ``in_quiet_period``)."""
        as_of = pd.Timestamp(as_of)
        if last_order is None or pd.isna(last_order) or self.quiet_days_after_order <= 0:
            return as_of
        quiet = pd.Timedelta(days=self.quiet_days_after_order)
        if pd.Timestamp(last_order) < as_of - quiet:
            return as_of
        return max(as_of, (pd.Timestamp(last_order) + quiet).normalize() + _DAY)

    def rule(self, channel: str) -> ChannelRule:
        try:
            return self.channels[channel]
        except KeyError:
            raise PolicyError(
                f"channel {channel!r} is not in the policy; expected one of: "
                f"{', '.join(self.channels)}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, the same shape as policy.yaml."""
        return {
            "attribution_window_days": self.attribution_window_days,
            "quiet_days_after_order": self.quiet_days_after_order,
            "currency": self.currency,
            "channels": {
                name: {k: v for k, v in asdict(rule).items() if k != "name"}
                for name, rule in self.channels.items()
            },
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Policy:
        """Build a policy from parsed YAML; missing keys take the contract's defaults."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise PolicyError(f"policy.yaml: expected a mapping at top level, got {type(raw).__name__}")
        window = _non_negative_int(raw.get("attribution_window_days", 30), "attribution_window_days")
        if window < 1:
            raise PolicyError(f"policy.yaml: attribution_window_days must be >= 1, got {window}")
        quiet = _non_negative_int(raw.get("quiet_days_after_order", 0), "quiet_days_after_order")
        channels_raw = raw.get("channels")
        if channels_raw is None:
            channels = dict(DEFAULT_CHANNELS)
        else:
            if not isinstance(channels_raw, dict) or not channels_raw:
                raise PolicyError("policy.yaml: 'channels' must be a non-empty mapping of channel name to rules")
            channels = {str(n): _channel(str(n), spec) for n, spec in channels_raw.items()}
        currency = raw.get("currency", "EUR")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            raise PolicyError(f"policy.yaml: currency must be a 3-letter ISO code such as EUR, got {currency!r}")
        return cls(attribution_window_days=window, quiet_days_after_order=quiet, channels=channels,
                   currency=currency.upper())


def _non_negative_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise PolicyError(f"policy.yaml: {key} must be a whole number >= 0, got {value!r}")
    return int(value)


def _channel(name: str, spec: Any) -> ChannelRule:
    if name == NONE_CHANNEL:
        raise PolicyError("policy.yaml: 'none' is reserved for no outreach and cannot be a channel")
    default = DEFAULT_CHANNELS.get(name)
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise PolicyError(f"policy.yaml: channels.{name} must be a mapping, got {spec!r}")
    unknown = set(spec) - {"cost", "executed_by", "requires_consent", "max_per_30d"}
    if unknown:
        raise PolicyError(
            f"policy.yaml: channels.{name} has unknown keys {sorted(unknown)}; expected: "
            "cost, executed_by, requires_consent, max_per_30d"
        )
    if "cost" in spec:
        cost = spec["cost"]
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or cost < 0:
            raise PolicyError(f"policy.yaml: channels.{name}.cost must be a number >= 0, got {cost!r}")
    elif default is not None:
        cost = default.cost
    else:
        raise PolicyError(f"policy.yaml: channels.{name}.cost is required for a channel without defaults")
    executed_by = spec.get("executed_by", default.executed_by if default else None)
    if executed_by not in EXECUTORS:
        raise PolicyError(
            f"policy.yaml: channels.{name}.executed_by must be one of: rep, marketing; got {executed_by!r}"
        )
    consent = spec.get("requires_consent", default.requires_consent if default else False)
    if not isinstance(consent, bool):
        raise PolicyError(f"policy.yaml: channels.{name}.requires_consent must be true or false, got {consent!r}")
    cap = spec.get("max_per_30d", default.max_per_30d if default else None)
    if cap is not None:
        cap = _non_negative_int(cap, f"channels.{name}.max_per_30d")
    return ChannelRule(name, float(cost), executed_by, consent, cap)


def load_policy(path: str | Path | None) -> Policy:
    """Read policy.yaml; ``None`` or a missing file gives the contract's defaults."""
    if path is None or not Path(path).exists():
        return Policy()
    return policy_from_text(Path(path).read_text(encoding="utf-8"))


def policy_from_text(text: str) -> Policy:
    """The policy written in ``text`` (the YAML of policy.yaml)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy.yaml: not valid YAML ({exc})") from exc
    return Policy.from_dict(raw)


def write_policy(policy: Policy, path: str | Path) -> None:
    """Write the policy as YAML (used by the sample-data generator and tests)."""
    Path(path).write_text(yaml.safe_dump(policy.to_dict(), sort_keys=False), encoding="utf-8")
