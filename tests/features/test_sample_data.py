"""The sample-data generator: determinism, the contract's rules, logged propensities, dynamics
and the truth file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.dataset import Dataset
from features.policy import NONE_CHANNEL, Policy
from features.sample_data import DEFAULT_AS_OF, generate, generate_dataset
from features.sample_simulation import DAY_SECONDS, next_intent, simulate
from features.sample_truth import TRUTH_COLUMNS, expected_purchases, no_purchase_log_probability
from features.sample_world import (
    EFFECT_DAYS,
    INTENT_PURCHASE_FACTOR,
    OFFER_SPECS,
    P_NONE,
    build_world,
    purchase_season,
)

N_ACCOUNTS = 1500
TABLES = ("accounts", "reps", "offers", "orders", "touches", "web_events")


@pytest.fixture(scope="module")
def generated() -> tuple[Dataset, pd.DataFrame]:
    return generate_dataset(N_ACCOUNTS, seed=11)


@pytest.fixture(scope="module")
def ds(generated: tuple[Dataset, pd.DataFrame]) -> Dataset:
    return generated[0]


@pytest.fixture(scope="module")
def truth(generated: tuple[Dataset, pd.DataFrame]) -> pd.DataFrame:
    return generated[1]


def _offer_end() -> dict[str, pd.Timestamp]:
    """When each offer stopped being active (far future for active offers)."""
    return {spec[0]: DEFAULT_AS_OF - pd.Timedelta(days=spec[-1]) if spec[-1] is not None
            else pd.Timestamp.max for spec in OFFER_SPECS}


def _actions_per_channel(ds: Dataset, when: pd.Timestamp) -> dict[str, int]:
    """Size of the action space of each channel for offers active at ``when``."""
    end = _offer_end()
    counts = dict.fromkeys(ds.policy.channel_names, 0)
    for offer in ds.offers.itertuples():
        if when.normalize() >= end[offer.offer_id]:
            continue
        steps = [s for s in offer.discount_steps if s <= offer.max_discount_pct]
        for ch in offer.channels:
            counts[ch] += len(steps)
    return counts


def _channels_available(ds: Dataset, account_id: str, when: pd.Timestamp) -> dict[str, bool]:
    """Contract section 2 for one account at ``when``: consent, do-not-contact, 30-day caps."""
    acc = ds.accounts.set_index("account_id").loc[account_id]
    t = ds.touches
    recent = t[(t["account_id"] == account_id) & (t["touched_at"] >= when - pd.Timedelta(days=30))
               & (t["touched_at"] < when)]["channel"].value_counts()
    out = {}
    for name, rule in ds.policy.channels.items():
        ok = not acc["do_not_contact"] and (acc["consent_email"] or not rule.requires_consent)
        out[name] = ok and (rule.max_per_30d is None or recent.get(name, 0) < rule.max_per_30d)
    return out


def test_same_seed_gives_identical_data_and_another_seed_differs() -> None:
    first, truth_first = generate_dataset(150, seed=3)
    second, truth_second = generate_dataset(150, seed=3)
    other, truth_other = generate_dataset(150, seed=4)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    pd.testing.assert_frame_equal(truth_first, truth_second)
    assert not first.orders.equals(other.orders)
    assert not first.touches.equals(other.touches)
    assert not np.allclose(truth_first["true_p_baseline"], truth_other["true_p_baseline"])


def test_ids_are_unique_and_references_exist(ds: Dataset) -> None:
    accounts = set(ds.accounts["account_id"])
    assert ds.accounts["account_id"].is_unique and len(accounts) == N_ACCOUNTS
    assert ds.accounts["account_id"].str.fullmatch(r"A\d{6}").all()
    assert ds.reps["rep_id"].is_unique and ds.reps["rep_id"].str.fullmatch(r"R\d{3,}").all()
    assert ds.offers["offer_id"].is_unique
    assert ds.touches["touch_id"].is_unique
    assert set(ds.accounts["rep_id"].dropna()) <= set(ds.reps["rep_id"])
    for table in ("orders", "touches", "web_events"):
        assert set(getattr(ds, table)["account_id"]) <= accounts
    assert set(ds.touches["offer_id"].dropna()) <= set(ds.offers["offer_id"])
    assert set(ds.orders["product_category"]) <= set(ds.offers["product_category"])


def test_accounts_and_reps_look_like_the_wholesaler(ds: Dataset) -> None:
    a = ds.accounts
    assert set(a["region"]) == {"Nord", "Süd", "West", "Ost", "Mitte"}
    assert a["employees"].between(5, 5000).all() and a["employees"].median() < a["employees"].mean()
    assert set(a["country"]) == {"DE", "AT", "CH"} and (a["country"] == "DE").mean() > 0.8
    assert 0.5 < a["consent_email"].mean() < 0.7
    assert 0.01 < a["do_not_contact"].mean() < 0.06
    assert 0.02 < a["rep_id"].isna().mean() < 0.09
    assert set(a["segment"]) == {"A", "B", "C"}
    big = a["employees"] >= 250
    assert (a.loc[big, "segment"] == "A").all() and (a.loc[a["employees"] < 50, "segment"] == "C").all()
    assert (a["credit_limit_eur"] >= 1000).all()
    assert ds.extra_account_columns == ["segment", "credit_limit_eur"]
    reps = ds.reps
    assert reps["weekly_capacity"].between(15, 40).all()
    assert (reps.groupby("region").size() >= 2).all()
    per_rep = a.dropna(subset=["rep_id"]).merge(reps, on="rep_id", suffixes=("", "_rep"))
    assert (per_rep["region"] == per_rep["region_rep"]).all()
    assert 60 <= len(a) / len(reps) <= 140


def test_offer_catalog_follows_the_contract(ds: Dataset) -> None:
    offers = ds.offers
    assert 9 <= len(offers) <= 12 and offers["product_category"].nunique() >= 6
    assert (~offers["active"]).sum() in (1, 2)
    assert offers["margin_rate"].between(0.18, 0.45).all()
    policy_channels = set(ds.policy.channel_names)
    for offer in offers.itertuples():
        assert offer.channels and set(offer.channels) <= policy_channels
        assert list(offer.discount_steps) == sorted(offer.discount_steps)
        assert 0 <= offer.max_discount_pct <= max(offer.discount_steps)
        if offer.active:
            assert 0.0 in offer.discount_steps
    assert (offers["max_discount_pct"] < offers["discount_steps"].map(max)).any()
    assert ds.policy == Policy() and ds.policy.attribution_window_days == 30


def test_event_times_stay_in_their_windows(ds: Dataset) -> None:
    as_of = DEFAULT_AS_OF
    o, t, w = ds.orders["ordered_at"], ds.touches["touched_at"], ds.web_events["occurred_at"]
    assert o.min() >= as_of - pd.DateOffset(years=2) and o.max() < as_of
    assert o.min() < as_of - pd.DateOffset(years=2) + pd.Timedelta(days=7)
    assert t.min() >= as_of - pd.DateOffset(months=18) and t.max() < as_of
    assert w.max() < as_of
    assert ds.before(as_of).orders.shape == ds.orders.shape
    for col in (o, t, w):
        assert col.dtype == "datetime64[us]"


def test_order_lines_are_consistent(ds: Dataset) -> None:
    o = ds.orders
    assert set(o["channel"]) == {"online", "offline"}
    assert (o["net_amount"] > 0).all() and o["discount_pct"].between(0, 100).all()
    per_order = o.groupby("order_id").agg(lines=("account_id", "size"), accounts=("account_id", "nunique"),
                                          times=("ordered_at", "nunique"), channels=("channel", "nunique"))
    assert (per_order[["accounts", "times", "channels"]] == 1).all().all()
    assert (per_order["lines"] > 1).mean() > 0.05


def test_discounted_lines_follow_a_discounted_touch(ds: Dataset) -> None:
    t = ds.touches.dropna(subset=["offer_id"])
    t = t[t["discount_pct"] > 0].merge(ds.offers[["offer_id", "product_category"]], on="offer_id")
    lines = ds.orders[ds.orders["discount_pct"] > 0].reset_index(names="line")
    assert 0.01 < len(lines) / len(ds.orders) < 0.3
    pairs = lines.merge(t, on=["account_id", "product_category"], suffixes=("", "_touch"))
    day_gap = (pairs["ordered_at"].dt.normalize() - pairs["touched_at"].dt.normalize()).dt.days
    covering = pairs[day_gap.between(1, 30)]
    best = covering.groupby("line")["discount_pct_touch"].max()
    assert best.index.nunique() == len(lines)
    assert np.allclose(best.sort_index().to_numpy(), lines["discount_pct"].to_numpy())


def test_touch_rows_follow_the_contract(ds: Dataset) -> None:
    t = ds.touches
    assert set(t["channel"]) == {NONE_CHANNEL, *ds.policy.channel_names}
    none = t[t["channel"] == NONE_CHANNEL]
    assert none["offer_id"].isna().all() and (none["discount_pct"] == 0).all()
    assert none["campaign_id"].isna().all() and none["rep_id"].isna().all()
    p = t["propensity"].dropna()
    assert ((p > 0) & (p <= 1)).all()
    generic = t[t["offer_id"].isna() & (t["channel"] != NONE_CHANNEL)]
    assert 0.005 < len(generic) / len(t) < 0.06
    assert (generic["channel"] == "phone").all() and generic["propensity"].isna().all()
    assert generic["rep_id"].notna().all()
    assert t.loc[t["offer_id"].notna(), "propensity"].notna().all()

    owner = t["account_id"].map(ds.accounts.set_index("account_id")["rep_id"])
    rep_channel = t["channel"].isin(["phone", "visit"])
    assert (t.loc[rep_channel, "rep_id"].fillna("-") == owner[rep_channel].fillna("-")).all()
    marketing = t[t["channel"].isin(["email", "webshop_banner"])]
    assert marketing["rep_id"].isna().all()
    expected = ("CMP-" + marketing["touched_at"].dt.strftime("%Y-%m") + "-"
                + marketing["channel"].map({"email": "EMAIL", "webshop_banner": "BANNER"}))
    assert (marketing["campaign_id"] == expected).all()
    assert t.loc[rep_channel, "campaign_id"].isna().all()
    per_account_month = len(t[t["propensity"].notna()]) / N_ACCOUNTS / 18
    assert 1.0 <= per_account_month <= 2.0


def test_do_not_contact_accounts_only_get_none(ds: Dataset) -> None:
    dnc = set(ds.accounts.loc[ds.accounts["do_not_contact"], "account_id"])
    theirs = ds.touches[ds.touches["account_id"].isin(dnc)]
    assert len(theirs) > 0
    assert (theirs["channel"] == NONE_CHANNEL).all() and (theirs["propensity"] == 1.0).all()
    no_consent = set(ds.accounts.loc[~ds.accounts["consent_email"], "account_id"])
    assert not ((ds.touches["channel"] == "email") & ds.touches["account_id"].isin(no_consent)).any()


def test_no_touch_exceeds_its_channel_cap(ds: Dataset) -> None:
    t = ds.touches[ds.touches["channel"] != NONE_CHANNEL].sort_values(["account_id", "channel", "touched_at"])
    group = t.groupby(["account_id", "channel"], sort=False).ngroup().to_numpy().astype(np.int64)
    seconds = ((t["touched_at"] - DEFAULT_AS_OF) // pd.Timedelta(seconds=1)).to_numpy().astype(np.int64)
    key = group * 10**10 + seconds
    window_start = np.searchsorted(key, key - 30 * 86_400, side="left")
    earlier = np.arange(len(key)) - window_start
    caps = t["channel"].map({n: r.max_per_30d for n, r in ds.policy.channels.items()}).to_numpy()
    assert (earlier < caps).all()
    assert ((earlier == caps - 1) & (caps > 1)).any()


def test_logged_propensities_are_those_of_the_recomputed_choice_set(ds: Dataset) -> None:
    logged = ds.touches[ds.touches["propensity"].notna()]
    sample = logged.sample(250, random_state=0)
    chosen_kinds = set()
    for row in sample.itertuples():
        available = _channels_available(ds, row.account_id, row.touched_at)
        sizes = _actions_per_channel(ds, row.touched_at)
        n_eligible = sum(sizes[ch] for ch, ok in available.items() if ok)
        if n_eligible == 0:
            assert row.channel == NONE_CHANNEL and row.propensity == 1.0
            chosen_kinds.add("forced none")
            continue
        # the choice set is none (P_NONE) plus n_eligible actions sharing 1 - P_NONE equally
        if row.channel == NONE_CHANNEL:
            assert row.propensity == pytest.approx(P_NONE)
            chosen_kinds.add("none")
        else:
            assert available[row.channel]
            assert row.propensity == pytest.approx((1 - P_NONE) / n_eligible)
            offer = ds.offers.set_index("offer_id").loc[row.offer_id]
            assert row.channel in offer["channels"] and row.discount_pct in offer["discount_steps"]
            assert row.discount_pct <= offer["max_discount_pct"]
            assert row.touched_at.normalize() < _offer_end()[row.offer_id]
            chosen_kinds.add("action")
    assert {"none", "action", "forced none"} <= chosen_kinds


def test_web_events_lead_purchases(ds: Dataset) -> None:
    origin = DEFAULT_AS_OF - pd.Timedelta(days=14 * 40)
    views = ds.web_events[(ds.web_events["event_type"] == "product_view")
                          & (ds.web_events["occurred_at"] >= origin)]
    orders = ds.orders[ds.orders["ordered_at"] >= origin]

    def bins(frame: pd.DataFrame, col: str, shift: int) -> pd.DataFrame:
        b = (frame[col] - origin) // pd.Timedelta(days=14) + shift
        return pd.DataFrame({"account_id": frame["account_id"], "cat": frame["product_category"],
                             "bin": b}).drop_duplicates()

    viewed = bins(views, "occurred_at", 1).assign(viewed=True)
    bought = bins(orders, "ordered_at", 0).assign(bought=True)
    cells = bins(orders, "ordered_at", 0)[["account_id", "cat"]].drop_duplicates()
    grid = cells.merge(pd.DataFrame({"bin": np.arange(1, 40)}), how="cross")
    grid = grid.merge(viewed, how="left").merge(bought, how="left")
    grid = grid.fillna({"viewed": False, "bought": False}).astype({"viewed": bool, "bought": bool})
    rates = grid.groupby(["account_id", "cat", "viewed"])["bought"].mean().unstack("viewed").dropna()
    assert len(rates) > 200
    assert rates[True].mean() > 1.2 * rates[False].mean()  # within the same account x category
    assert grid.loc[grid["viewed"], "bought"].mean() > 1.3 * grid.loc[~grid["viewed"], "bought"].mean()


def test_online_share_rises_over_time(ds: Dataset) -> None:
    o = ds.orders
    first = o[o["ordered_at"] < DEFAULT_AS_OF - pd.DateOffset(months=18)]
    last = o[o["ordered_at"] >= DEFAULT_AS_OF - pd.DateOffset(months=6)]
    share_first, share_last = (first["channel"] == "online").mean(), (last["channel"] == "online").mean()
    assert 0.1 < share_first < share_last - 0.08 and share_last < 0.8


def test_truth_covers_the_action_space_with_the_documented_columns(ds: Dataset, truth: pd.DataFrame
                                                                    ) -> None:
    assert list(truth.columns) == TRUTH_COLUMNS
    sizes = _actions_per_channel(ds, DEFAULT_AS_OF)
    assert len(truth) == N_ACCOUNTS * sum(sizes.values())
    assert not truth.duplicated(["account_id", "channel", "offer_id", "discount_pct"]).any()
    active = ds.offers.set_index("offer_id")
    assert active.loc[truth["offer_id"].unique(), "active"].all()
    assert (truth["category"] == truth["offer_id"].map(active["product_category"])).all()
    assert (truth["discount_pct"] <= truth["offer_id"].map(active["max_discount_pct"])).all()
    for col in ("true_p_convert", "true_p_baseline"):
        assert truth[col].between(0, 1).all()
    assert (truth["as_of"] == DEFAULT_AS_OF).all()
    assert truth["eligible"].dtype == bool and truth["eligible"].any() and not truth["eligible"].all()


def test_truth_parts_recompose_probabilities_and_margin(ds: Dataset, truth: pd.DataFrame) -> None:
    # purchases are Poisson given a random intent path, so P(any) lies a little below 1 - exp(-mean)
    for p, mu in (("true_p_convert", "true_purchases"), ("true_p_baseline", "true_purchases_baseline")):
        poisson = -np.expm1(-truth[mu])
        assert (truth[p] <= poisson + 1e-12).all() and (poisson - truth[p]).mean() < 0.02
        assert truth[p].corr(poisson) > 0.99
    margin = ds.offers.set_index("offer_id")["margin_rate"].reindex(truth["offer_id"]).to_numpy()
    cost = truth["channel"].map({n: r.cost for n, r in ds.policy.channels.items()}).to_numpy()
    recomposed = (truth["true_purchases"] * truth["true_line_amount"] * (margin - truth["discount_pct"] / 100)
                  - truth["true_margin_baseline"] - cost)
    np.testing.assert_allclose(recomposed, truth["true_expected_incremental_margin"], rtol=1e-9, atol=1e-9)
    assert (truth["true_line_amount"] > 0).all() and (truth["true_margin_baseline"] >= 0).all()


def test_truth_eligibility_applies_the_contract_at_as_of(ds: Dataset, truth: pd.DataFrame) -> None:
    window = ds.touches[ds.touches["touched_at"] >= DEFAULT_AS_OF - pd.Timedelta(days=30)]
    counts = window.groupby(["account_id", "channel"]).size()
    caps = {n: r.max_per_30d for n, r in ds.policy.channels.items()}
    acc = ds.accounts.set_index("account_id")
    key = pd.MultiIndex.from_arrays([truth["account_id"], truth["channel"]])
    used = counts.reindex(key).fillna(0).to_numpy()
    needs_consent = truth["channel"].map({n: r.requires_consent for n, r in ds.policy.channels.items()})
    expected = ((used < truth["channel"].map(caps).to_numpy())
                & ~truth["account_id"].map(acc["do_not_contact"]).to_numpy()
                & (~needs_consent | truth["account_id"].map(acc["consent_email"])).to_numpy())
    assert (truth["eligible"].to_numpy() == expected).all()
    assert (used >= truth["channel"].map(caps).to_numpy()).any()


def test_truth_has_gains_losses_and_discounts_that_pay_only_sometimes(truth: pd.DataFrame) -> None:
    value = truth["true_expected_incremental_margin"]
    assert (value > 0).mean() > 0.05 and (value < 0).mean() > 0.3
    assert (truth["true_p_convert"] < truth["true_p_baseline"]).any()
    key = ["account_id", "channel", "offer_id"]
    at_zero = truth[truth["discount_pct"] == 0].set_index(key)["true_expected_incremental_margin"]
    best_discount = truth[truth["discount_pct"] > 0].groupby(key)["true_expected_incremental_margin"].max()
    pays = best_discount > at_zero.reindex(best_discount.index)
    assert 0.05 < pays.mean() < 0.6
    per_account = pays.groupby(level="account_id").any()
    assert 0.1 < per_account.mean() < 0.9
    best = truth.loc[truth.groupby("account_id")["true_expected_incremental_margin"].idxmax()]
    assert 0.05 < (best["true_expected_incremental_margin"] <= 0).mean() < 0.6
    uplift = truth["true_p_convert"] - truth["true_p_baseline"]
    assert 0.005 < uplift.median() < 0.05 and uplift.quantile(0.99) < 0.3


def test_truth_baseline_agrees_with_purchase_history(ds: Dataset, truth: pd.DataFrame) -> None:
    recent = ds.orders[ds.orders["ordered_at"] >= DEFAULT_AS_OF - pd.DateOffset(years=1)]
    monthly = recent.groupby(["account_id", "product_category"]).size() / 12
    base = truth.groupby(["account_id", "category"])["true_p_baseline"].first()
    joined = pd.DataFrame({"p": base, "n": monthly.reindex(base.index).fillna(0).to_numpy()})
    assert joined["p"].corr(joined["n"], method="spearman") > 0.6
    predicted = -np.log1p(-joined["p"])
    assert 0.5 < predicted.sum() / joined["n"].sum() < 2.0


def test_truth_expectation_matches_simulating_the_next_month() -> None:
    rng = np.random.default_rng(21)
    world = build_world(120, rng, DEFAULT_AS_OF, Policy())
    log = simulate(world, rng)
    within, after = expected_purchases(world, log)
    window = world.policy.attribution_window_days
    season = purchase_season(world.dates(world.n_days, window))
    runs = 300
    state = np.repeat(log.intent_at_end[None], runs, axis=0)
    entry = np.broadcast_to(world.intent_entry, state.shape)
    counts = np.zeros(state.shape)
    for k in range(window):
        state = next_intent(state, rng.random(state.shape), entry)
        carry = np.exp(log.carry_log[:, :, k]) if k < EFFECT_DAYS else 1.0
        counts += rng.poisson(world.base_rate * season[k] * INTENT_PURCHASE_FACTOR[state] * carry)
    simulated, analytic = counts.mean(axis=0), within + after
    assert simulated.sum() == pytest.approx(analytic.sum(), rel=0.03)
    assert np.corrcoef(simulated.ravel(), analytic.ravel())[0, 1] > 0.97
    n_cat = len(world.categories)
    cells = np.arange(world.base_rate.size)
    exact = -np.expm1(no_purchase_log_probability(world, log, cells // n_cat, cells % n_cat))
    bought = (counts > 0).mean(axis=0).ravel()
    assert bought.mean() == pytest.approx(exact.mean(), abs=0.004)
    assert np.abs(bought - exact).mean() < np.abs(bought + np.expm1(-analytic.ravel())).mean()
    assert (log.intent_at_end > 0).any() and (log.carry_log != 0).any()


def test_quiet_days_after_an_order_block_outreach() -> None:
    rng = np.random.default_rng(4)
    world = build_world(150, rng, DEFAULT_AS_OF, Policy(quiet_days_after_order=5))
    log = simulate(world, rng)
    order_time = log.lines["day"] * DAY_SECONDS + log.lines["second"]
    key = np.sort(log.lines["account"] * 10**9 + order_time)
    t = log.touches
    touch_key = t["account"] * 10**9 + t["day"] * DAY_SECONDS + t["second"]
    orders_in_window = (np.searchsorted(key, touch_key, side="left")
                        - np.searchsorted(key, touch_key - 5 * DAY_SECONDS, side="left"))
    contacted = t["channel"] >= 0
    assert contacted.sum() > 100 and (orders_in_window[contacted] == 0).all()
    blocked = (orders_in_window > 0) & ~world.do_not_contact[t["account"]]
    assert blocked.any() and (t["propensity"][blocked] == 1.0).all()


def test_generate_writes_data_and_truth_outside_it(tmp_path: Path) -> None:
    summary = generate(tmp_path / "data", n_accounts=120, seed=5)
    assert summary.truth_path == (tmp_path / "data.truth.parquet").resolve()
    assert summary.truth_path.exists() and not summary.truth_path.is_relative_to(summary.data_dir)
    written = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert written == sorted([f"{t}.csv" for t in TABLES] + ["policy.yaml"])
    truth = pd.read_parquet(summary.truth_path)
    assert list(truth.columns) == TRUTH_COLUMNS and summary.rows["truth"] == len(truth)
    assert summary.rows["accounts"] == 120 and summary.as_of == DEFAULT_AS_OF
    assert "data.truth.parquet" in str(summary)

    from features.loading import load_dataset

    loaded = load_dataset(tmp_path / "data")
    expected, _ = generate_dataset(120, seed=5)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(expected, name))
    assert loaded.policy == expected.policy


def test_generate_refuses_a_truth_path_inside_the_data_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside the data directory"):
        generate(tmp_path / "data", n_accounts=20, truth_path=tmp_path / "data" / "truth.parquet")
    assert not (tmp_path / "data").exists()


def test_generate_writes_parquet_and_refuses_mixed_formats(tmp_path: Path) -> None:
    summary = generate(tmp_path / "d", n_accounts=30, seed=1, fmt="parquet",
                       truth_path=tmp_path / "elsewhere" / "t.parquet")
    assert (tmp_path / "d" / "orders.parquet").exists() and summary.truth_path.exists()
    with pytest.raises(ValueError, match="orders.parquet"):
        generate(tmp_path / "d", n_accounts=30, fmt="csv", truth_path=tmp_path / "t2.parquet")
    with pytest.raises(ValueError, match="fmt"):
        generate(tmp_path / "x", n_accounts=30, fmt="xlsx")


@pytest.mark.parametrize("as_of", ["2025-07-01T10:00", "not a date"])
def test_as_of_must_be_a_date(as_of: str) -> None:
    with pytest.raises(ValueError, match="as_of"):
        generate_dataset(10, as_of=as_of)


def test_another_as_of_moves_every_window() -> None:
    ds, truth = generate_dataset(40, seed=2, as_of="2024-03-15")
    as_of = pd.Timestamp("2024-03-15")
    assert ds.orders["ordered_at"].max() < as_of <= ds.orders["ordered_at"].max() + pd.Timedelta(days=7)
    assert ds.touches["touched_at"].min() >= as_of - pd.DateOffset(months=18)
    assert (truth["as_of"] == as_of).all()
    with pytest.raises(ValueError, match="n_accounts"):
        generate_dataset(0)
