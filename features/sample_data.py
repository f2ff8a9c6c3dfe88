"""Realistic sample data: a German industrial-supplies wholesaler, two years before as-of.

``world`` picks a preset of ``features.sample_worlds.WORLDS`` (default ``wholesaler``): the presets
share the wholesaler's catalog and tables but differ in what drives the response to outreach.

``generate_dataset`` returns the typed ``Dataset`` and the truth frame (the true value of every
action for every account at as-of, see ``features.sample_truth``); ``generate`` writes the data
directory and the truth file, which always lives outside the data directory so that nothing
reading the data can see it.

The world (``features.sample_world``) and its day-by-day simulation
(``features.sample_simulation``) are seeded once per call: the same seed gives identical data.
Outreach decisions are logged with exact propensities; the eligibility behind them is the
contract's, evaluated at the decision time ``touched_at``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.dataset import Dataset, as_utc_timestamp, write_dataset
from features.policy import NONE_CHANNEL, Policy
from features.sample_names import display_columns
from features.sample_simulation import DAY_SECONDS, EVENT_TYPES, SimulationLog, simulate
from features.sample_truth import truth_frame
from features.sample_world import (
    DEFAULT_AS_OF,
    EFFECT_DAYS,
    World,
    build_world,
    labels,
    numbered_ids,
)
from features.sample_worlds import WorldSpec, world_spec

TABLE_NAMES = ("accounts", "reps", "offers", "orders", "touches", "web_events")
CAMPAIGN_LABELS = {"email": "EMAIL", "webshop_banner": "BANNER"}


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate`` wrote."""

    data_dir: Path
    truth_path: Path
    as_of: pd.Timestamp
    rows: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        counts = ", ".join(f"{n:,} {name}" for name, n in self.rows.items() if name != "truth")
        return (f"{self.data_dir} ({counts}; as-of {self.as_of:%Y-%m-%d}) and truth "
                f"{self.truth_path} ({self.rows.get('truth', 0):,} rows)")


def generate_dataset(n_accounts: int | None = None, seed: int = 0,
                     as_of: str | pd.Timestamp = DEFAULT_AS_OF,
                     world: str | WorldSpec = "wholesaler") -> tuple[Dataset, pd.DataFrame]:
    """Simulate a world; returns the Dataset (normalized dtypes) and the truth frame.

    ``world``: a preset name of ``features.sample_worlds.WORLDS`` (or a ``WorldSpec``);
    ``n_accounts=None`` takes the preset's default number of accounts.
    """
    spec = world_spec(world)
    as_of = _as_of(as_of)
    rng = np.random.default_rng(seed)
    built = build_world(spec.default_accounts if n_accounts is None else int(n_accounts), rng,
                        as_of, Policy(), spec)
    log = simulate(built, rng)
    accounts = pd.concat([built.accounts, display_columns(built.accounts["account_id"], seed)], axis=1)
    dataset = Dataset(
        accounts=accounts, offers=built.offers, orders=_orders(built, log),
        touches=_touches(built, log), web_events=_web_events(built, log), reps=built.reps,
        policy=built.policy,
    )
    return dataset, truth_frame(built, log)


def default_truth_path(out_dir: str | Path) -> Path:
    """``<out_dir>.truth.parquet`` next to the data directory."""
    out = Path(out_dir).resolve()
    return out.with_name(out.name + ".truth.parquet")


def generate(out_dir: str | Path, n_accounts: int | None = None, seed: int = 0,
             as_of: str | pd.Timestamp = DEFAULT_AS_OF, truth_path: str | Path | None = None,
             fmt: str = "csv", world: str | WorldSpec = "wholesaler") -> GenerationSummary:
    """Write the sample data directory and the truth file (Parquet, outside the directory).

    ``world`` and ``n_accounts`` as in ``generate_dataset``.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    spec = world_spec(world)
    out = Path(out_dir).resolve()
    truth = Path(truth_path).resolve() if truth_path is not None else default_truth_path(out)
    if truth.is_relative_to(out):
        raise ValueError(f"truth file {truth} is inside the data directory {out}; "
                         "expected a path outside it (default: <out_dir>.truth.parquet)")
    other = "parquet" if fmt == "csv" else "csv"
    clashes = [f"{t}.{other}" for t in TABLE_NAMES if (out / f"{t}.{other}").exists()]
    if clashes:
        raise ValueError(f"{out} already holds {', '.join(clashes)}; writing {fmt} files would "
                         f"leave two files for one table; expected no {other} tables there")
    dataset, truth_table = generate_dataset(n_accounts, seed, as_of, spec)
    write_dataset(dataset, out, fmt)
    truth.parent.mkdir(parents=True, exist_ok=True)
    tmp = truth.with_name(f".{truth.name}.tmp")
    truth_table.to_parquet(tmp, index=False)
    tmp.replace(truth)
    rows = {name: len(getattr(dataset, name)) for name in TABLE_NAMES}
    rows["truth"] = len(truth_table)
    return GenerationSummary(data_dir=out, truth_path=truth, as_of=_as_of(as_of), rows=rows)


def _as_of(value: str | pd.Timestamp) -> pd.Timestamp:
    ts = as_utc_timestamp(value)
    if ts != ts.normalize():
        raise ValueError(
            f"as_of must be a date at midnight (UTC) such as 2025-07-01, got {value!r}")
    return ts


def _timestamps(world: World, day: np.ndarray, second: np.ndarray) -> pd.Series:
    start = np.datetime64(world.start.to_datetime64(), "s")
    offset = (day.astype(np.int64) * DAY_SECONDS + second).astype("timedelta64[s]")
    return pd.Series((start + offset).astype("datetime64[us]"))


def _orders(world: World, log: SimulationLog) -> pd.DataFrame:
    """Order lines, in time order; an account's lines of one moment and channel form one order."""
    lines = dict(log.lines, discount=_line_discounts(world, log))
    order = np.lexsort((lines["category"], lines["online"], lines["account"], lines["second"],
                        lines["day"]))
    acc, day, second, online, category, amount, discount = (
        lines[k][order] for k in ("account", "day", "second", "online", "category", "list_amount",
                                  "discount"))
    new_order = np.ones(len(acc), dtype=bool)
    new_order[1:] = ((np.diff(day) != 0) | (np.diff(acc) != 0) | (online[1:] != online[:-1])
                     | (np.diff(second) != 0))
    return pd.DataFrame({
        "order_id": numbered_ids("ORD", np.cumsum(new_order), 7),
        "account_id": labels(world.accounts["account_id"].to_numpy(), acc),
        "ordered_at": _timestamps(world, day, second),
        "channel": labels(("offline", "online"), online.astype(np.int64)),
        "product_category": labels(world.categories, category),
        "net_amount": np.round(amount * (1.0 - discount / 100.0), 2),
        "discount_pct": discount,
    })


def _line_discounts(world: World, log: SimulationLog) -> np.ndarray:
    """Discount of each order line: the largest discount of the touches in effect that day and of
    the company-wide sale on that day.

    A touch on day t with an offer of category c and discount d affects days t+1 .. t+EFFECT_DAYS.
    """
    n_cat = len(world.categories)
    t = log.touches
    given = (t["offer"] >= 0) & (t["discount"] > 0)
    touches = pd.DataFrame({
        "key": t["account"][given] * n_cat + world.offer_category[t["offer"][given]],
        "touch_day": t["day"][given],
        "discount": t["discount"][given],
    })
    lines = pd.DataFrame({
        "line": np.arange(len(log.lines["account"])),
        "key": log.lines["account"] * n_cat + log.lines["category"],
        "day": log.lines["day"],
    })
    pairs = lines[lines["key"].isin(touches["key"])].merge(touches, on="key")
    gap = pairs["day"] - pairs["touch_day"]
    best = pairs[(gap >= 1) & (gap <= EFFECT_DAYS)].groupby("line")["discount"].max()
    discount = np.zeros(len(lines))
    discount[best.index.to_numpy()] = best.to_numpy()
    return np.maximum(discount, world.promotion_pct[log.lines["day"]])


def _touches(world: World, log: SimulationLog) -> pd.DataFrame:
    """Logged outreach decisions (with propensities) and generic check-in calls, in time order."""
    t = log.touches
    order = np.lexsort((t["account"], t["second"], t["day"]))
    acc, day, second, channel, offer, discount, propensity = (
        t[k][order] for k in ("account", "day", "second", "channel", "offer", "discount",
                              "propensity"))
    n_ch = len(world.channels)
    channel_or_none = np.where(channel >= 0, channel, n_ch)
    executed_by = np.array([world.policy.channels[c].executed_by for c in world.channels] + [""])
    by = executed_by[channel_or_none]
    months, month_index = np.unique(world.dates(0, world.n_days).strftime("%Y-%m").to_numpy(),
                                    return_inverse=True)
    campaigns = [f"CMP-{m}-{CAMPAIGN_LABELS.get(c, c.upper())}" for m in months
                 for c in world.channels]
    return pd.DataFrame({
        "touch_id": numbered_ids("T", np.arange(1, len(acc) + 1), 7),
        "account_id": labels(world.accounts["account_id"].to_numpy(), acc),
        "touched_at": _timestamps(world, day, second),
        "channel": labels((*world.channels, NONE_CHANNEL), channel_or_none),
        "offer_id": labels(world.offers["offer_id"].to_numpy(), offer),
        "discount_pct": discount.astype("float64"),
        "rep_id": labels(world.reps["rep_id"].to_numpy(),
                         np.where(by == "rep", world.rep_index[acc], -1)),
        "campaign_id": labels(campaigns,
                              np.where(by == "marketing", month_index[day] * n_ch + channel, -1)),
        "propensity": propensity.astype("float64"),
    })


def _web_events(world: World, log: SimulationLog) -> pd.DataFrame:
    """Webshop visits, product views, carts and downloads, in time order."""
    w = log.web
    order = np.lexsort((w["account"], w["second"], w["day"]))
    return pd.DataFrame({
        "account_id": labels(world.accounts["account_id"].to_numpy(), w["account"][order]),
        "occurred_at": _timestamps(world, w["day"][order], w["second"][order]),
        "event_type": labels(EVENT_TYPES, w["event"][order]),
        "product_category": labels(world.categories, w["category"][order]),
    })
