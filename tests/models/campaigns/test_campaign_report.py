"""Measurement on generated data: outcomes drawn from the generator's truth after the plan's as-of;
the report's intervals must cover the true lift (and do so at about their nominal rate)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features.policy import Policy
from features.sample_world import LINE_AMOUNT_SIGMA, build_world
from models.campaigns.candidates import candidates_from_recommendations
from models.campaigns.holdout import assign_holdout
from models.campaigns.plan import limits_from_dataset, plan_campaign
from models.campaigns.report import campaign_report, compare

SIZE, SEED = 400, 3  # the session's small data set (tests/conftest.py)


@pytest.fixture(scope="module")
def truth_members(small_recommendations, small_dataset, small_data_dir, as_of):
    """Members of a half-held-out plan with the generator's true rates and line amounts."""
    cand = candidates_from_recommendations(small_recommendations, small_dataset.accounts, small_dataset.policy)
    plan = plan_campaign("truth", cand, limits_from_dataset(small_dataset), holdout_share=0.5, seed=11)
    truth = pd.read_parquet(small_data_dir.parent / "truth.parquet")
    keys = ["account_id", "channel", "offer_id", "discount_pct"]
    members = plan.members.merge(truth[[*keys, "true_p_convert", "true_p_baseline",
                                        "true_expected_incremental_margin"]], on=keys, how="left")
    assert members["true_p_convert"].notna().all()
    world = build_world(SIZE, np.random.default_rng(SEED), as_of, Policy())
    acc = pd.Index(world.accounts["account_id"]).get_indexer(members["account_id"])
    cat = pd.Index(world.categories).get_indexer(members["category"])
    members["line_amount"] = world.line_amount[acc, cat]
    margins = small_dataset.category_margin_rates()
    np.testing.assert_allclose([margins[c] for c in world.categories], world.category_margin)
    offer_rate = small_dataset.offers.set_index("offer_id")["margin_rate"].reindex(members["offer_id"]).to_numpy()
    category_rate = members["category"].map(margins).to_numpy(dtype=float)
    members["margin_rate"] = np.where(members["holdout"], category_rate, offer_rate)
    return members


def simulate_outcomes(members: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Purchases in the window: Poisson with the true mean of the member's group, log-normal amounts."""
    held = members["holdout"].to_numpy(dtype=bool)
    p = np.where(held, members["true_p_baseline"], members["true_p_convert"])
    counts = rng.poisson(-np.log1p(-p))
    mu = np.log(members["line_amount"].to_numpy()) - LINE_AMOUNT_SIGMA**2 / 2
    line = np.repeat(np.arange(len(members)), counts)
    amount = np.exp(mu[line] + LINE_AMOUNT_SIGMA * rng.standard_normal(len(line)))
    return line, amount


def true_lifts(members: pd.DataFrame) -> tuple[float, float]:
    """(conversion lift, margin lift before contact cost) per account, averaged over the audience."""
    conversion = (members["true_p_convert"] - members["true_p_baseline"]).mean()
    margin = (members["true_expected_incremental_margin"] + members["cost"]).mean()
    return float(conversion), float(margin)


def test_report_interval_covers_the_true_lift(truth_members, small_dataset, as_of) -> None:
    members = truth_members
    line, amount = simulate_outcomes(members, np.random.default_rng(5))
    held = members["holdout"].to_numpy(dtype=bool)[line]
    discount = np.where(held, 0.0, members["discount_pct"].to_numpy()[line])
    offset = np.random.default_rng(6).integers(3600, 29 * 86400, len(line))
    new_orders = pd.DataFrame({
        "order_id": [f"N{i:06d}" for i in range(len(line))],
        "account_id": members["account_id"].to_numpy()[line],
        "ordered_at": (as_of + pd.to_timedelta(offset, unit="s")).astype("datetime64[us]"),
        "channel": "online",
        "product_category": members["category"].to_numpy()[line],
        "net_amount": amount * (1 - discount / 100.0),
        "discount_pct": discount,
    })
    orders = pd.concat([small_dataset.orders, new_orders.astype(small_dataset.orders.dtypes.to_dict())],
                       ignore_index=True)
    report = campaign_report(replace(small_dataset, orders=orders), members, as_of)
    conversion, margin = true_lifts(members)
    overall = report.overall
    assert overall.contacted + overall.holdout == len(members)
    assert overall.conversion_lift.low <= conversion <= overall.conversion_lift.high
    assert overall.margin_lift.low <= margin <= overall.margin_lift.high
    assert report.window_complete is False  # the simulated orders end before the window does
    assert {c.group for c in report.by_channel} == {f"channel {c}" for c in members["channel"].unique()}
    assert sum(c.contacted for c in report.by_offer) == overall.contacted


def test_intervals_cover_at_about_the_nominal_rate(truth_members, small_dataset) -> None:
    """Each run redraws the control group (the design's randomness) and the outcomes."""
    members = truth_members
    conversion, margin = true_lifts(members)
    margins = small_dataset.category_margin_rates()
    offer_rate = small_dataset.offers.set_index("offer_id")["margin_rate"].reindex(members["offer_id"]).to_numpy()
    category_rate = members["category"].map(margins).to_numpy(dtype=float)
    rng = np.random.default_rng(21)
    hits_conv = hits_margin = 0
    runs = 300
    for _ in range(runs):
        held = assign_holdout(members["region"].to_numpy(dtype=object),
                              members["expected_incremental_margin"].to_numpy(), 0.5, rng).held_out
        drawn = members.assign(holdout=held)
        rate = np.where(held, category_rate, offer_rate)
        d = np.where(held, 0.0, members["discount_pct"].to_numpy() / 100.0)
        line, amount = simulate_outcomes(drawn, rng)
        margin_sum = np.bincount(line, weights=amount * (rate[line] - d[line]), minlength=len(members))
        converted = np.bincount(line, minlength=len(members)) > 0
        result = compare(drawn.assign(converted=converted, margin=margin_sum))
        hits_conv += result.conversion_lift.low <= conversion <= result.conversion_lift.high
        hits_margin += result.margin_lift.low <= margin <= result.margin_lift.high
    assert 0.9 <= hits_conv / runs <= 0.995
    assert 0.9 <= hits_margin / runs <= 0.995
