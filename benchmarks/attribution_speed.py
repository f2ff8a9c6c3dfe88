"""Speed of channel attribution on a large synthetic data set.

Builds a ``Dataset`` in memory with NumPy (default: 100,000 accounts, 2,000,000 order lines,
200,000 touches, an ownership history of 20,000 changes), then times
``features.attribution.attribute_orders`` and ``attribution_table`` for every grouping.

    python benchmarks/attribution_speed.py [--accounts N] [--orders N] [--touches N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.attribution import BY_CHOICES, attribute_orders, attribution_table  # noqa: E402
from features.dataset import Dataset  # noqa: E402
from features.policy import Policy  # noqa: E402

CATEGORIES = np.array(["Fasteners", "Tools", "Safety", "Adhesives", "Abrasives", "Hydraulics",
                       "Electrical", "Packaging"])
REGIONS = np.array(["North", "South", "East", "West"])
CHANNELS = np.array(["email", "webshop_banner", "phone", "visit", "none"])
START = np.datetime64("2023-07-01T00:00:00", "us")
SPAN_US = 2 * 365 * 86_400 * 1_000_000


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    return pd.Series(prefix + pd.Series(numbers).astype("str").str.zfill(width), dtype="str")


def _times(rng: np.random.Generator, n: int) -> pd.Series:
    return pd.Series(START + rng.integers(0, SPAN_US, n).astype("timedelta64[us]"))


def synthetic(n_accounts: int, n_orders: int, n_touches: int, seed: int = 7
              ) -> tuple[Dataset, pd.DataFrame]:
    """A dataset with normalized dtypes and an ownership history."""
    rng = np.random.default_rng(seed)
    n_reps, n_offers = max(1, n_accounts // 500), 40
    accounts = _ids("A", np.arange(n_accounts), 7)
    reps = _ids("R", np.arange(n_reps), 4)
    offers = _ids("O", np.arange(n_offers), 3)
    rep_of = reps.to_numpy()[rng.integers(0, n_reps, n_accounts)]
    rep_of[rng.random(n_accounts) < 0.05] = None
    account_frame = pd.DataFrame({
        "account_id": accounts, "region": pd.Series(REGIONS[rng.integers(0, 4, n_accounts)], dtype="str"),
        "rep_id": pd.Series(rep_of, dtype="str"), "industry": pd.Series([None] * n_accounts, dtype="str"),
        "employees": np.zeros(n_accounts), "country": pd.Series(["DE"] * n_accounts, dtype="str"),
        "consent_email": True, "do_not_contact": False})
    offer_frame = pd.DataFrame({
        "offer_id": offers, "product_category": pd.Series(CATEGORIES[np.arange(n_offers) % 8], dtype="str"),
        "name": offers, "channels": [("email", "phone")] * n_offers, "discount_steps": [(0.0,)] * n_offers,
        "max_discount_pct": 0.0, "margin_rate": 0.3, "active": True})
    channel = CHANNELS[rng.integers(0, len(CHANNELS), n_touches)]
    offer = offers.to_numpy()[rng.integers(0, n_offers, n_touches)]
    offer[(channel == "none") | (rng.random(n_touches) < 0.2)] = None
    touch_frame = pd.DataFrame({
        "touch_id": _ids("T", np.arange(n_touches), 8),
        "account_id": accounts.to_numpy()[rng.integers(0, n_accounts, n_touches)],
        "touched_at": _times(rng, n_touches), "channel": pd.Series(channel, dtype="str"),
        "offer_id": pd.Series(offer, dtype="str"), "discount_pct": 0.0,
        "rep_id": pd.Series([None] * n_touches, dtype="str"),
        "campaign_id": pd.Series(np.where(np.isin(channel, ["email", "webshop_banner"]),
                                          "C" + (rng.integers(0, 24, n_touches)).astype(str), None),
                                 dtype="str"),
        "propensity": np.nan})
    order_frame = pd.DataFrame({
        "order_id": _ids("S", rng.integers(0, n_orders // 3, n_orders), 8),
        "account_id": accounts.to_numpy()[rng.integers(0, n_accounts, n_orders)],
        "ordered_at": _times(rng, n_orders),
        "channel": pd.Series(np.where(rng.random(n_orders) < 0.4, "online", "offline"), dtype="str"),
        "product_category": pd.Series(CATEGORIES[rng.integers(0, 8, n_orders)], dtype="str"),
        "net_amount": np.round(rng.gamma(2.0, 150.0, n_orders), 2), "discount_pct": 0.0})
    n_changes = max(1, n_accounts // 5)
    owners = pd.DataFrame({
        "account_id": accounts.to_numpy()[rng.integers(0, n_accounts, n_changes)],
        "rep_id": pd.Series(reps.to_numpy()[rng.integers(0, n_reps, n_changes)], dtype="str"),
        "region": pd.Series(REGIONS[rng.integers(0, 4, n_changes)], dtype="str"),
        "valid_from": _times(rng, n_changes)}).drop_duplicates(["account_id", "valid_from"])
    empty_events = pd.DataFrame({"account_id": pd.Series(dtype="str"),
                                 "occurred_at": pd.Series(dtype="datetime64[us]"),
                                 "event_type": pd.Series(dtype="str"),
                                 "product_category": pd.Series(dtype="str")})
    dataset = Dataset(accounts=account_frame, offers=offer_frame, orders=order_frame,
                      touches=touch_frame, web_events=empty_events,
                      reps=pd.DataFrame({"rep_id": reps}), policy=Policy())
    return dataset, owners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--touches", type=int, default=200_000)
    args = parser.parse_args()
    dataset, owners = synthetic(args.accounts, args.orders, args.touches)
    rows = []
    started = time.perf_counter()
    lines = attribute_orders(dataset, owners)
    attributed_s = time.perf_counter() - started
    credited = int(lines["touch_id"].notna().sum())
    rows.append(("attribute_orders", attributed_s, len(lines)))
    for by in BY_CHOICES:
        t0 = time.perf_counter()
        table = attribution_table(lines, by, "2024-07-01", "2025-07-01")
        rows.append((f"attribution_table by {by}", time.perf_counter() - t0, len(table)))
    total = time.perf_counter() - started
    print(f"{args.accounts:,} accounts, {len(dataset.orders):,} order lines, "
          f"{len(dataset.touches):,} touches, {len(owners):,} ownership changes; "
          f"{credited:,} lines credited to outreach")
    print("| step | seconds | rows out |")
    print("|---|---:|---:|")
    for name, seconds, n in rows:
        print(f"| {name} | {seconds:.2f} | {n:,} |")
    print(f"| total | {total:.2f} | |")


if __name__ == "__main__":
    main()
