"""Speed of loading and validating a large data directory (CSV and Parquet).

Generates a synthetic directory with NumPy (default: 100,000 accounts and 2,000,000 order
lines, plus touches and web events), then times ``features.loading.load_dataset`` on the CSV
and the Parquet form, each in a fresh process so that peak memory is measured per format.

    python benchmarks/load_speed.py [--accounts N] [--orders N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = np.array(["Fasteners", "Tools", "Safety", "Adhesives", "Abrasives", "Hydraulics",
                       "Electrical", "Packaging"])
REGIONS = np.array(["North", "South", "East", "West"])
CHANNELS = np.array(["email", "webshop_banner", "phone", "visit", "none"])
EVENTS = np.array(["visit", "product_view", "cart", "download", "webinar"])


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    return prefix + pd.Series(numbers).astype("str").str.zfill(width)


def _times(rng: np.random.Generator, n: int) -> np.ndarray:
    """ISO 8601 text timestamps (whole seconds) spread over two years."""
    start = np.datetime64("2023-01-01T00:00:00", "s")
    seconds = rng.integers(0, 2 * 365 * 86400, n)
    return np.datetime_as_string(start + seconds.astype("timedelta64[s]"), unit="s")


def generate(directory: Path, n_accounts: int, n_orders: int, seed: int = 7) -> dict[str, int]:
    """Write a valid synthetic data directory as CSV and as Parquet; return row counts."""
    rng = np.random.default_rng(seed)
    n_reps = max(1, n_accounts // 500)
    n_offers = 40
    n_touches = n_orders // 10
    n_events = n_orders // 4
    account_ids = _ids("A", np.arange(n_accounts), 7)
    rep_ids = _ids("R", np.arange(n_reps), 4)
    offer_ids = _ids("O", np.arange(n_offers), 3)
    tables = {
        "accounts": pd.DataFrame({
            "account_id": account_ids,
            "region": REGIONS[rng.integers(0, len(REGIONS), n_accounts)],
            "rep_id": rep_ids.to_numpy()[rng.integers(0, n_reps, n_accounts)],
            "industry": CATEGORIES[rng.integers(0, len(CATEGORIES), n_accounts)],
            "employees": rng.integers(1, 5000, n_accounts),
            "country": np.where(rng.random(n_accounts) < 0.7, "DE", "AT"),
            "consent_email": np.where(rng.random(n_accounts) < 0.6, "yes", "no"),
            "do_not_contact": np.where(rng.random(n_accounts) < 0.03, "true", "false"),
            "credit_score": rng.normal(600, 80, n_accounts).round(1),
        }),
        "reps": pd.DataFrame({"rep_id": rep_ids, "name": "Rep " + rep_ids,
                              "region": REGIONS[rng.integers(0, len(REGIONS), n_reps)],
                              "weekly_capacity": rng.integers(10, 40, n_reps)}),
        "offers": pd.DataFrame({
            "offer_id": offer_ids,
            "product_category": CATEGORIES[np.arange(n_offers) % len(CATEGORIES)],
            "name": "Offer " + offer_ids,
            "channels": np.where(np.arange(n_offers) % 2 == 0, "email|webshop_banner",
                                 "phone|visit|email"),
            "discount_steps": "0|5|10",
            "margin_rate": rng.uniform(0.15, 0.45, n_offers).round(3),
        }),
        "orders": pd.DataFrame({
            "order_id": _ids("S", rng.integers(0, n_orders // 3, n_orders), 8),
            "account_id": account_ids.to_numpy()[rng.integers(0, n_accounts, n_orders)],
            "ordered_at": _times(rng, n_orders),
            "channel": np.where(rng.random(n_orders) < 0.4, "online", "offline"),
            "product_category": CATEGORIES[rng.integers(0, len(CATEGORIES), n_orders)],
            "net_amount": rng.gamma(2.0, 150.0, n_orders).round(2),
            "discount_pct": rng.choice([0.0, 5.0, 10.0], n_orders, p=[0.8, 0.15, 0.05]),
        }),
    }
    touch_channels = CHANNELS[rng.integers(0, len(CHANNELS), n_touches)]
    is_none = touch_channels == "none"
    tables["touches"] = pd.DataFrame({
        "touch_id": _ids("T", np.arange(n_touches), 8),
        "account_id": account_ids.to_numpy()[rng.integers(0, n_accounts, n_touches)],
        "touched_at": _times(rng, n_touches),
        "channel": touch_channels,
        "offer_id": np.where(is_none, None, offer_ids.to_numpy()[rng.integers(0, n_offers,
                                                                             n_touches)]),
        "discount_pct": np.where(is_none, 0.0, rng.choice([0.0, 5.0, 10.0], n_touches)),
        "propensity": rng.uniform(0.05, 1.0, n_touches).round(3),
    })
    tables["web_events"] = pd.DataFrame({
        "account_id": account_ids.to_numpy()[rng.integers(0, n_accounts, n_events)],
        "occurred_at": _times(rng, n_events),
        "event_type": EVENTS[rng.integers(0, len(EVENTS), n_events)],
        "product_category": CATEGORIES[rng.integers(0, len(CATEGORIES), n_events)],
    })
    for fmt in ("csv", "parquet"):
        target = directory / fmt
        target.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            if fmt == "csv":
                frame.to_csv(target / f"{name}.csv", index=False)
            else:
                typed = frame.copy()
                for col in ("ordered_at", "touched_at", "occurred_at"):
                    if col in typed:
                        typed[col] = pd.to_datetime(typed[col])
                typed.to_parquet(target / f"{name}.parquet", index=False)
    return {name: len(frame) for name, frame in tables.items()}


def measure(directory: Path) -> dict[str, float]:
    """Load ``directory`` once in this process; seconds and peak resident memory."""
    sys.path.insert(0, str(ROOT))
    from features.loading import load_dataset

    start = time.perf_counter()
    dataset = load_dataset(directory)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": peak_mb, "orders": len(dataset.orders)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return
    if args.generate is not None:
        print(json.dumps(generate(args.generate, args.accounts, args.orders)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        start = time.perf_counter()
        # Each step runs in its own process: a forked child inherits the parent's peak RSS.
        counts = _run("--generate", directory, "--accounts", args.accounts,
                      "--orders", args.orders)
        print(f"generated in {time.perf_counter() - start:.1f} s: "
              + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
        print(f"{'format':<8} {'accounts':>10} {'orders':>11} {'seconds':>8} {'peak RSS MB':>12}")
        for fmt in ("csv", "parquet"):
            result = _run("--measure", directory / fmt)
            print(f"{fmt:<8} {counts['accounts']:>10,} {result['orders']:>11,} "
                  f"{result['seconds']:>8.1f} {result['peak_rss_mb']:>12.0f}")


def _run(*args: object) -> dict:
    """Run this script with ``args`` in a fresh process and parse its JSON answer."""
    out = subprocess.run([sys.executable, __file__, *map(str, args)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
