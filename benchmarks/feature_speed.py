"""Speed of as-of feature building, labels and eligibility on synthetic tables.

Generates NumPy-random tables of a realistic size (default: 20,000 accounts, 600k order lines,
300k touches, 1M web events) and times ``build_features`` for a training-sized query set
(400k queries at many as-of times) and a scoring-sized one (every account × category at one
as-of time), plus ``label_touches``, ``contact_state`` and ``eligible_mask``.

    python benchmarks/feature_speed.py [--accounts N] [--scale F] [--seed S]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from features.actions import action_space, contact_state, eligible_mask
from features.builder import build_features
from features.dataset import Dataset
from features.definitions import feature_specs
from features.outcomes import label_touches
from features.policy import Policy

CATEGORIES = ["Werkzeuge", "Schrauben", "Arbeitsschutz", "Elektro", "Hydraulik", "Reinigung",
              "Klebstoffe", "Lager"]
EVENT_TYPES = ["visit", "product_view", "cart", "search", "download", "webinar", "login", "quote",
               "newsletter_click", "video"]
START = pd.Timestamp("2023-01-01")
DAYS = 3 * 365


def _times(rng: np.random.Generator, n: int) -> np.ndarray:
    seconds = rng.integers(0, DAYS * 86_400, n)
    return (START + pd.to_timedelta(seconds, unit="s")).to_numpy(dtype="datetime64[us]")


def synthetic_dataset(n_accounts: int = 20_000, scale: float = 1.0, seed: int = 7) -> Dataset:
    """Random tables with the normalized dtypes of ``features.dataset``."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"A{i:06d}" for i in range(n_accounts)], dtype=object)
    accounts = pd.DataFrame({
        "account_id": pd.Series(ids, dtype="str"),
        "region": pd.Series(rng.choice(["Nord", "Süd", "West", "Ost"], n_accounts), dtype="str"),
        "rep_id": pd.Series(rng.choice([f"R{i:02d}" for i in range(40)], n_accounts), dtype="str"),
        "industry": pd.Series(rng.choice(["Bau", "Metall", "Kfz", "Handwerk"], n_accounts), dtype="str"),
        "employees": pd.array(rng.integers(1, 2000, n_accounts), dtype="Int64"),
        "country": pd.Series(rng.choice(["DE", "AT", "CH"], n_accounts), dtype="str"),
        "consent_email": rng.random(n_accounts) < 0.7,
        "do_not_contact": rng.random(n_accounts) < 0.03,
        "segment": pd.Series(rng.choice(["A", "B", "C"], n_accounts), dtype="str"),
        "credit_limit": rng.gamma(2.0, 5000.0, n_accounts),
    })
    n_offers = 2 * len(CATEGORIES)
    offers = pd.DataFrame({
        "offer_id": pd.Series([f"F{i:02d}" for i in range(n_offers)], dtype="str"),
        "product_category": pd.Series(np.repeat(CATEGORIES, 2), dtype="str"),
        "name": pd.Series([f"Offer {i}" for i in range(n_offers)], dtype="str"),
        "channels": [("email", "phone", "visit", "webshop_banner")] * n_offers,
        "discount_steps": [(0.0, 5.0, 10.0, 15.0)] * n_offers,
        "max_discount_pct": np.where(np.arange(n_offers) % 2, 10.0, 15.0),
        "margin_rate": rng.uniform(0.2, 0.45, n_offers),
        "active": np.arange(n_offers) != 3,
    })
    n_orders = int(600_000 * scale)
    weights = rng.gamma(0.7, 1.0, n_accounts)
    acc = rng.choice(n_accounts, n_orders, p=weights / weights.sum())
    orders = pd.DataFrame({
        "order_id": pd.Series(np.char.add("O", (np.arange(n_orders) // 3).astype(str)), dtype="str"),
        "account_id": pd.Series(ids[acc], dtype="str"),
        "ordered_at": _times(rng, n_orders),
        "channel": pd.Series(np.where(rng.random(n_orders) < 0.35, "online", "offline"), dtype="str"),
        "product_category": pd.Series(rng.choice(CATEGORIES, n_orders), dtype="str"),
        "net_amount": rng.gamma(1.5, 250.0, n_orders),
        "discount_pct": rng.choice([0.0, 0.0, 0.0, 5.0, 10.0], n_orders),
    })
    n_touches = int(300_000 * scale)
    channel = rng.choice(["email", "phone", "visit", "webshop_banner", "none"], n_touches,
                         p=[0.45, 0.2, 0.05, 0.2, 0.1])
    offer = rng.choice(offers["offer_id"].to_numpy(dtype=object), n_touches).astype(object)
    offer[(channel == "none") | (rng.random(n_touches) < 0.1)] = None
    touches = pd.DataFrame({
        "touch_id": pd.Series(np.char.add("T", np.arange(n_touches).astype(str)), dtype="str"),
        "account_id": pd.Series(ids[rng.integers(0, n_accounts, n_touches)], dtype="str"),
        "touched_at": _times(rng, n_touches),
        "channel": pd.Series(channel, dtype="str"),
        "offer_id": pd.Series(offer, dtype="str"),
        "discount_pct": np.where(offer == None, 0.0, rng.choice([0.0, 5.0, 10.0], n_touches)),  # noqa: E711
        "rep_id": pd.Series([None] * n_touches, dtype="str"),
        "campaign_id": pd.Series([None] * n_touches, dtype="str"),
        "propensity": rng.uniform(0.05, 1.0, n_touches),
    })
    n_web = int(1_000_000 * scale)
    category = rng.choice(np.array([*CATEGORIES, None], dtype=object), n_web)
    web_events = pd.DataFrame({
        "account_id": pd.Series(ids[rng.choice(n_accounts, n_web, p=weights / weights.sum())], dtype="str"),
        "occurred_at": _times(rng, n_web),
        "event_type": pd.Series(rng.choice(EVENT_TYPES, n_web), dtype="str"),
        "product_category": pd.Series(category, dtype="str"),
    })
    reps = pd.DataFrame({"rep_id": pd.Series([], dtype="str"), "name": pd.Series([], dtype="str"),
                         "region": pd.Series([], dtype="str"), "weekly_capacity": pd.Series([], dtype="int64")})
    return Dataset(accounts=accounts, offers=offers, orders=orders, touches=touches,
                   web_events=web_events, reps=reps, policy=Policy(quiet_days_after_order=3))


def _timed(label: str, fn: Callable[[], Any], rows: list[tuple[str, int, float]], size: int) -> Any:
    start = time.perf_counter()
    out = fn()
    rows.append((label, size, time.perf_counter() - start))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the event table sizes")
    parser.add_argument("--queries", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rows: list[tuple[str, int, float]] = []
    dataset = _timed("generate synthetic tables", lambda: synthetic_dataset(args.accounts, args.scale, args.seed),
                     rows, args.accounts)
    specs = feature_specs(dataset)
    rng = np.random.default_rng(args.seed + 1)
    as_of = START + pd.Timedelta(days=DAYS)
    train = pd.DataFrame({
        "account_id": dataset.accounts["account_id"].to_numpy()[rng.integers(0, args.accounts, args.queries)],
        "at": _times(rng, args.queries),
        "category": pd.Series(rng.choice(np.array([*CATEGORIES, None], dtype=object), args.queries), dtype="str"),
    })
    scoring = pd.DataFrame({
        "account_id": np.repeat(dataset.accounts["account_id"].to_numpy(), len(CATEGORIES)),
        "at": as_of,
        "category": np.tile(CATEGORIES, args.accounts),
    })
    _timed("build_features: training queries", lambda: build_features(dataset, train, specs), rows, len(train))
    frame = _timed("build_features: scoring (accounts × categories)",
                   lambda: build_features(dataset, scoring, specs), rows, len(scoring))
    _timed("label_touches", lambda: label_touches(dataset, as_of), rows, len(dataset.touches))
    state = _timed("contact_state", lambda: contact_state(dataset, as_of), rows, args.accounts)
    actions = action_space(dataset)
    _timed("eligible_mask", lambda: eligible_mask(state, actions, dataset.policy), rows,
           args.accounts * len(actions))

    print(f"accounts {args.accounts:,}; order lines {len(dataset.orders):,}; touches {len(dataset.touches):,}; "
          f"web events {len(dataset.web_events):,}; features {frame.shape[1]}; actions {len(actions)}")
    print(f"{'step':<50} {'rows':>12} {'seconds':>9} {'rows/s':>12}")
    for label, size, seconds in rows:
        print(f"{label:<50} {size:>12,} {seconds:>9.2f} {size / max(seconds, 1e-9):>12,.0f}")


if __name__ == "__main__":
    main()
