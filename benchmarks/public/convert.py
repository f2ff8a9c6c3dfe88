"""Public randomized experiments (Hillstrom, Starbucks) as data-contract directories.

The mapping is the one fixed in ``shared/data/README.md``, so results stay comparable:
one logged touch per customer with its assignment propensity, order lines for purchases,
``visit`` web events (Hillstrom), and a policy with a single ``email`` channel.

``Experiment`` keeps the contract tables together with each customer's assigned arm and
outcomes, so cross-validation can write any subset of customers as a training directory
(``write_training_dir``) or as never-seen customers to recommend for (``write_scoring_dir``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

#: Default location of the public data, relative to the repository root.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "public"
HILLSTROM_CSV = "hillstrom_dev.csv"
STARBUCKS_CSV = "starbucks_training.csv"

HILLSTROM_ARMS = {"Mens E-Mail": "mens", "Womens E-Mail": "womens", "No E-Mail": "none"}
STARBUCKS_ARMS = {"Yes": "promo", "No": "none"}

TOUCH_COLUMNS = ["touch_id", "account_id", "touched_at", "channel", "offer_id", "discount_pct",
                 "propensity"]
ORDER_COLUMNS = ["order_id", "account_id", "ordered_at", "channel", "product_category",
                 "net_amount"]
WEB_COLUMNS = ["account_id", "occurred_at", "event_type"]


@dataclass
class Experiment:
    """A randomized experiment in contract form plus what evaluation needs.

    ``outcomes`` has one row per account: ``account_id``, ``arm`` (the assigned action:
    an offer id or ``none``), ``propensity`` and the outcome columns of the experiment.
    """

    name: str
    accounts: pd.DataFrame
    offers: pd.DataFrame
    policy: dict
    touches: pd.DataFrame
    orders: pd.DataFrame
    outcomes: pd.DataFrame
    train_as_of: str
    recommend_as_of: str
    web_events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WEB_COLUMNS))

    def restricted(self, account_ids: pd.Series | np.ndarray | list[str]) -> Experiment:
        """The same experiment with only the given accounts (and their rows)."""
        keep = set(account_ids)

        def rows(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["account_id"].isin(keep)].reset_index(drop=True)

        return Experiment(self.name, rows(self.accounts), self.offers, self.policy, rows(self.touches),
                          rows(self.orders), rows(self.outcomes), self.train_as_of,
                          self.recommend_as_of, rows(self.web_events))


def _write(frames: dict[str, pd.DataFrame], policy: dict, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    (out / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return out


def write_training_dir(exp: Experiment, out_dir: str | Path) -> Path:
    """All tables of ``exp`` (accounts with their touches, orders and web events)."""
    return _write({"accounts": exp.accounts, "offers": exp.offers, "touches": exp.touches,
                   "orders": exp.orders, "web_events": exp.web_events}, exp.policy, out_dir)


def write_scoring_dir(exp: Experiment, out_dir: str | Path) -> Path:
    """The accounts of ``exp`` as never-seen customers: same offers and policy, empty history."""
    return _write({"accounts": exp.accounts, "offers": exp.offers,
                   "touches": exp.touches.iloc[0:0], "orders": exp.orders.iloc[0:0],
                   "web_events": exp.web_events.iloc[0:0]}, exp.policy, out_dir)


def _email_policy(window_days: int, cost: float) -> dict:
    return {"attribution_window_days": window_days,
            "channels": {"email": {"cost": cost, "executed_by": "marketing", "requires_consent": True}}}


def _read(csv: str | Path, required: list[str], rows: int | None, seed: int) -> pd.DataFrame:
    path = Path(csv)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; expected the public experiment CSV "
                                f"(default folder {DEFAULT_DATA_DIR})")
    raw = pd.read_csv(path)
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected at least {required}")
    if rows is not None and rows < len(raw):
        raw = raw.sample(rows, random_state=seed).sort_index()
    return raw.reset_index(drop=True)


def _touches(account_id: pd.Series, arm: pd.Series, at: str, propensity: float) -> pd.DataFrame:
    contacted = arm != "none"
    return pd.DataFrame({
        "touch_id": "T" + account_id, "account_id": account_id, "touched_at": at,
        "channel": np.where(contacted, "email", "none"),
        "offer_id": arm.where(contacted, None), "discount_pct": 0.0, "propensity": propensity,
    })[TOUCH_COLUMNS]


def _orders(account_id: pd.Series, bought: pd.Series, at: str, category: str,
            amount: pd.Series | float) -> pd.DataFrame:
    amounts = pd.Series(amount, index=account_id.index, dtype=float)
    ids = account_id[bought.astype(bool)]
    return pd.DataFrame({"order_id": "O" + ids, "account_id": ids, "ordered_at": at,
                         "channel": "online", "product_category": category,
                         "net_amount": amounts[ids.index]})[ORDER_COLUMNS].reset_index(drop=True)


def hillstrom_experiment(csv: str | Path, rows: int | None = None, seed: int = 0) -> Experiment:
    """The Hillstrom e-mail experiment in contract form (optionally a seeded sample of ``rows``)."""
    raw = _read(csv, ["customer_id", "recency", "history_segment", "history", "mens", "womens",
                      "zip_code", "newbie", "channel", "segment", "visit", "conversion", "spend"],
                rows, seed)
    unknown = sorted(set(raw["segment"]) - set(HILLSTROM_ARMS))
    if unknown:
        raise ValueError(f"{csv}: column segment has {unknown}; expected one of {list(HILLSTROM_ARMS)}")
    account_id = "H" + raw["customer_id"].astype(str)
    arm = raw["segment"].map(HILLSTROM_ARMS)
    accounts = pd.DataFrame({
        "account_id": account_id, "region": raw["zip_code"], "consent_email": True,
        "recency": raw["recency"], "history_segment": raw["history_segment"],
        "history": raw["history"], "mens": raw["mens"], "womens": raw["womens"],
        "newbie": raw["newbie"], "purchase_channel": raw["channel"],
    })
    offers = pd.DataFrame({"offer_id": ["mens", "womens"], "product_category": "merchandise",
                           "channels": "email", "discount_steps": "0", "margin_rate": 1.0})
    visits = account_id[raw["visit"].astype(bool)]
    web_events = pd.DataFrame({"account_id": visits, "occurred_at": "2008-03-04",
                               "event_type": "visit"}).reset_index(drop=True)
    outcomes = pd.DataFrame({"account_id": account_id, "arm": arm, "propensity": 1 / 3,
                             "visit": raw["visit"].astype(float),
                             "conversion": raw["conversion"].astype(float),
                             "spend": raw["spend"].astype(float)})
    return Experiment(
        name="hillstrom", accounts=accounts, offers=offers,
        policy=_email_policy(14, 0.0),
        touches=_touches(account_id, arm, "2008-03-01", 1 / 3),
        orders=_orders(account_id, raw["conversion"], "2008-03-08", "merchandise", raw["spend"]),
        outcomes=outcomes, train_as_of="2008-03-20", recommend_as_of="2008-03-01",
        web_events=web_events,
    )


def starbucks_experiment(csv: str | Path, rows: int | None = None, seed: int = 0) -> Experiment:
    """The Starbucks promotion experiment in contract form (optionally a seeded sample of ``rows``)."""
    features = [f"V{i}" for i in range(1, 8)]
    raw = _read(csv, ["ID", "Promotion", "purchase", *features], rows, seed)
    unknown = sorted(set(raw["Promotion"]) - set(STARBUCKS_ARMS))
    if unknown:
        raise ValueError(f"{csv}: column Promotion has {unknown}; expected one of {list(STARBUCKS_ARMS)}")
    account_id = "S" + raw["ID"].astype(str)
    arm = raw["Promotion"].map(STARBUCKS_ARMS)
    accounts = pd.concat([pd.DataFrame({"account_id": account_id, "region": "all",
                                        "consent_email": True}), raw[features]], axis=1)
    offers = pd.DataFrame({"offer_id": ["promo"], "product_category": "product", "channels": "email",
                           "discount_steps": "0", "margin_rate": 1.0})
    outcomes = pd.DataFrame({"account_id": account_id, "arm": arm, "propensity": 0.5,
                             "purchase": raw["purchase"].astype(float)})
    return Experiment(
        name="starbucks", accounts=accounts, offers=offers,
        policy=_email_policy(30, 0.15),
        touches=_touches(account_id, arm, "2020-01-01", 0.5),
        orders=_orders(account_id, raw["purchase"], "2020-01-08", "product", 10.0),
        outcomes=outcomes, train_as_of="2020-02-15", recommend_as_of="2020-01-01",
    )


def hillstrom_to_contract(csv: str | Path, out_dir: str | Path, rows: int | None = None,
                          seed: int = 0) -> Path:
    """Write the Hillstrom experiment as a contract data directory; returns ``out_dir``."""
    return write_training_dir(hillstrom_experiment(csv, rows, seed), out_dir)


def starbucks_to_contract(csv: str | Path, out_dir: str | Path, rows: int | None = None,
                          seed: int = 0) -> Path:
    """Write the Starbucks experiment as a contract data directory; returns ``out_dir``."""
    return write_training_dir(starbucks_experiment(csv, rows, seed), out_dir)
