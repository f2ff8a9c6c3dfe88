"""World presets of the sample generator: the registry, the wholesaler unchanged byte for byte, every
preset valid, deterministic and with a truth that simulating forward confirms, and each preset's
defining structure."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.dataset import DISPLAY_ACCOUNT_COLUMNS, Dataset
from features.loading import load_dataset, validate_directory
from features.policy import NONE_CHANNEL, Policy
from features.sample_catalog import OFFER_SPECS
from features.sample_data import DEFAULT_AS_OF, generate, generate_dataset
from features.sample_simulation import SimulationLog, action_space, next_intent, simulate
from features.sample_truth import truth_frame
from features.sample_world import (
    EFFECT_DAYS,
    INTENT_PURCHASE_FACTOR,
    P_NONE,
    World,
    build_world,
    purchase_season,
)
from features.sample_worlds import ARCHETYPES, WORLDS, WorldSpec, world_spec

TABLES = ("accounts", "reps", "offers", "orders", "touches", "web_events")
#: Digests of ``generate_dataset(200, seed=7)`` as generated before the presets existed: of the six
#: tables, and of the truth without its two probabilities (then ``1 - exp(-expected purchases)``,
#: now exact) with its floats rounded to ``TRUTH_DECIMALS`` decimals: the truth's values pass
#: through ``exp`` and ``log``, whose last bits depend on the vector instructions of the CPU numpy
#: runs on; values up to about 3,000 keep ten significant digits.
WHOLESALER_TABLES = "d34d58d65c9ae9ebe1eb56990cc68f70fd1f810611b00ab7917e2ef3d7932882"
WHOLESALER_TRUTH = "243cc7e9306d09fe7408d77c82c0ca9186125630545b88e4ef82b45b4cf7ff17"
TRUTH_DECIMALS = 6
PROBABILITIES = ["true_p_convert", "true_p_baseline"]
SMALL = 120


def digest(dataset: Dataset) -> str:
    """SHA-256 over the dtypes and row hashes of every table, without the accounts' display-only
    columns (names and contacts, drawn apart from everything the models see)."""
    h = hashlib.sha256()
    for name in TABLES:
        frame = getattr(dataset, name)
        if name == "accounts":
            assert set(DISPLAY_ACCOUNT_COLUMNS) <= set(frame.columns)
            frame = frame.drop(columns=DISPLAY_ACCOUNT_COLUMNS)
        h.update(name.encode())
        h.update(str(list(frame.dtypes.astype(str))).encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float columns rounded to ``TRUTH_DECIMALS`` decimals."""
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{column: frame[column].round(TRUTH_DECIMALS) for column in floats})


def hidden_world(name: str, n_accounts: int, seed: int) -> tuple[World, SimulationLog, pd.DataFrame]:
    """The world, simulation log and truth behind ``generate_dataset(n_accounts, seed, world=name)``."""
    rng = np.random.default_rng(seed)
    world = build_world(n_accounts, rng, DEFAULT_AS_OF, Policy(), WORLDS[name])
    log = simulate(world, rng)
    return world, log, truth_frame(world, log)


def cell_index(world: World, truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return (pd.Index(world.accounts["account_id"]).get_indexer(truth["account_id"]),
            pd.Index(world.categories).get_indexer(truth["category"]))


def relative_lift(truth: pd.DataFrame) -> pd.Series:
    return truth["true_purchases"] / truth["true_purchases_baseline"] - 1.0


def test_wholesaler_is_byte_identical_to_the_generator_before_presets() -> None:
    for world in (None, "wholesaler"):
        dataset, truth = generate_dataset(200, seed=7, **({"world": world} if world else {}))
        assert digest(dataset) == WHOLESALER_TABLES
        assert frame_digest(rounded(truth.drop(columns=PROBABILITIES))) == WHOLESALER_TRUTH
    # the exact probabilities lie below the Poisson formula used before, by little
    for p, mu in (("true_p_convert", "true_purchases"), ("true_p_baseline", "true_purchases_baseline")):
        poisson = -np.expm1(-truth[mu])
        assert (truth[p] <= poisson + 1e-12).all() and (poisson - truth[p]).max() < 0.08
        assert 0.001 < (poisson - truth[p]).mean() < 0.02


def test_unknown_world_names_the_allowed_ones(tmp_path: Path) -> None:
    allowed = ", ".join(WORLDS)
    with pytest.raises(ValueError, match=f"unknown world 'wholeseller'; expected one of: {allowed}"):
        generate_dataset(20, world="wholeseller")
    with pytest.raises(ValueError, match="unknown world"):
        generate(tmp_path / "d", n_accounts=20, world="Digital")
    assert not (tmp_path / "d").exists()
    assert world_spec(WORLDS["digital"]) is WORLDS["digital"]
    assert set(WORLDS) >= {"wholesaler", "rep_averse", "replenishment", "promo_sensitive", "digital", "thin"}


def test_a_spec_checks_its_shape() -> None:
    with pytest.raises(ValueError, match="archetype_by_segment"):
        WorldSpec(name="x", description="x", archetype_by_segment=((1.0,),) * 3)
    with pytest.raises(ValueError, match="archetype_response"):
        WorldSpec(name="x", description="x", archetype_response=((0.0,) * 4,) * 2)
    with pytest.raises(ValueError, match="logging weights"):
        WorldSpec(name="x", description="x", logging_weights=(("visit", 0.0),))


@pytest.mark.parametrize("name", list(WORLDS))
def test_every_preset_is_valid_deterministic_and_complete(name: str, tmp_path: Path) -> None:
    spec = WORLDS[name]
    assert spec.name == name and spec.description and "\n" not in spec.description
    summary = generate(tmp_path / "data", n_accounts=SMALL, seed=5, world=name)
    assert validate_directory(summary.data_dir) == []
    loaded = load_dataset(summary.data_dir)
    again, truth = generate_dataset(SMALL, seed=5, world=name)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(loaded, table), getattr(again, table))
    pd.testing.assert_frame_equal(pd.read_parquet(summary.truth_path), truth)
    other, _ = generate_dataset(SMALL, seed=6, world=name)
    assert not other.orders.equals(again.orders)
    assert set(again.touches["channel"]) == {NONE_CHANNEL, *again.policy.channel_names}
    assert (again.orders["discount_pct"] > 0).any() and truth["eligible"].any()
    # the truth's parts recompose its value; the probabilities move with the expected purchases
    margin = again.offers.set_index("offer_id")["margin_rate"].reindex(truth["offer_id"]).to_numpy()
    cost = truth["channel"].map({n: r.cost for n, r in again.policy.channels.items()}).to_numpy()
    value = (truth["true_purchases"] * truth["true_line_amount"] * (margin - truth["discount_pct"] / 100)
             - truth["true_margin_baseline"] - cost)
    np.testing.assert_allclose(value, truth["true_expected_incremental_margin"], rtol=1e-9, atol=1e-9)
    for col in PROBABILITIES:
        assert truth[col].between(0, 1).all()
    more = truth["true_purchases"] > truth["true_purchases_baseline"] + 1e-12
    less = truth["true_purchases"] < truth["true_purchases_baseline"] - 1e-12
    assert (truth.loc[more, "true_p_convert"] >= truth.loc[more, "true_p_baseline"]).all()
    assert (truth.loc[less, "true_p_convert"] <= truth.loc[less, "true_p_baseline"]).all()


def test_default_size_is_the_presets() -> None:
    dataset, _ = generate_dataset(seed=1, world="thin")
    assert len(dataset.accounts) == WORLDS["thin"].default_accounts == 300


def _simulate_window(world: World, log: SimulationLog, multiplier: np.ndarray, runs: int,
                     rng: np.random.Generator) -> np.ndarray:
    """(runs, n_accounts, n_categories) purchases in the window after as-of, drawn by simulating
    forward from the hidden state at as-of, with ``multiplier`` on every cell's rate during the
    effect days of an action taken at as-of."""
    window = world.policy.attribution_window_days
    season = purchase_season(world.dates(world.n_days, window))
    state = np.repeat(log.intent_at_end[None], runs, axis=0)
    entry = np.broadcast_to(world.intent_entry, state.shape)
    counts = np.zeros(state.shape)
    for k in range(window):
        state = next_intent(state, rng.random(state.shape), entry)
        effect = np.exp(log.carry_log[:, :, k]) * multiplier if k < EFFECT_DAYS else 1.0
        counts += rng.poisson(world.purchase_base(world.n_days + k) * season[k]
                              * INTENT_PURCHASE_FACTOR[state] * effect)
    stop = world.n_days + window
    pending = log.pending_contract
    inside = pending["day"] < stop
    np.add.at(counts, (slice(None), pending["account"][inside], pending["category"][inside]), 1)
    for r in range(runs):
        lines = world.contracts.orders(world.n_days, stop, world.line_amount, rng)
        inside = lines["day"] < stop
        np.add.at(counts[r], (lines["account"][inside], lines["category"][inside]), 1)
    return counts


@pytest.mark.parametrize("name", list(WORLDS))
def test_truth_expectation_matches_simulating_the_next_month(name: str) -> None:
    rng = np.random.default_rng(21)
    world, log, truth = hidden_world(name, 100, seed=21)
    # every account gets the same action at as-of: the discounted phone call of the first offer
    space = action_space(world, world.n_days)
    ch = world.channels.index("phone")
    offer, discount = space.offer[ch, 1], space.discount[ch, 1]
    n_acc, n_cat = world.base_rate.shape
    accounts = np.arange(n_acc)
    cat = world.offer_category[offer]
    multiplier = np.ones((n_acc, n_cat))
    multiplier[:, cat] = np.where(world.responsive(accounts, np.full(n_acc, cat), world.n_days),
                                  world.multiplier(accounts, np.full(n_acc, ch), np.full(n_acc, discount)), 1.0)
    runs = 300
    base = _simulate_window(world, log, np.ones((n_acc, n_cat)), runs, rng)
    acted = _simulate_window(world, log, multiplier, runs, rng)

    acc, cats = cell_index(world, truth)
    first = truth.assign(acc=acc, cat=cats).drop_duplicates(["acc", "cat"])
    mu0 = np.zeros((n_acc, n_cat))
    p0 = np.zeros((n_acc, n_cat))
    mu0[first["acc"], first["cat"]] = first["true_purchases_baseline"]
    p0[first["acc"], first["cat"]] = first["true_p_baseline"]
    covered = np.zeros((n_acc, n_cat), dtype=bool)
    covered[first["acc"], first["cat"]] = True
    assert base.mean(axis=0)[covered].sum() == pytest.approx(mu0[covered].sum(), rel=0.03)
    assert np.corrcoef(base.mean(axis=0)[covered], mu0[covered])[0, 1] > 0.97
    assert np.abs((base > 0).mean(axis=0)[covered] - p0[covered]).mean() < 0.02
    assert (base > 0).mean(axis=0)[covered].mean() == pytest.approx(p0[covered].mean(), abs=0.01)

    chosen = truth[(truth["channel"] == "phone") & (truth["offer_id"] == world.offers["offer_id"].iloc[offer])
                   & (truth["discount_pct"] == discount)]
    acc_c = pd.Index(world.accounts["account_id"]).get_indexer(chosen["account_id"])
    simulated = acted[:, acc_c, cat]
    assert simulated.mean(axis=0).sum() == pytest.approx(chosen["true_purchases"].sum(), rel=0.04)
    assert (simulated > 0).mean() == pytest.approx(chosen["true_p_convert"].mean(), abs=0.015)


def _logged_propensity(ds: Dataset, spec: WorldSpec, row: pd.Series) -> float:
    """The logging policy's chance of the logged action, recomputed from the tables."""
    acc = ds.accounts.set_index("account_id").loc[row.account_id]
    t = ds.touches
    recent = t[(t["account_id"] == row.account_id) & (t["touched_at"] >= row.touched_at - pd.Timedelta(days=30))
               & (t["touched_at"] < row.touched_at)]["channel"].value_counts()
    ended = {s[0]: DEFAULT_AS_OF - pd.Timedelta(days=s[-1]) for s in
             OFFER_SPECS if s[-1] is not None}
    mass = {}
    for name, rule in ds.policy.channels.items():
        ok = not acc["do_not_contact"] and (acc["consent_email"] or not rule.requires_consent)
        if not ok or (rule.max_per_30d is not None and recent.get(name, 0) >= rule.max_per_30d):
            continue
        n_actions = sum(len([s for s in o.discount_steps if s <= o.max_discount_pct])
                        for o in ds.offers.itertuples()
                        if name in o.channels and row.touched_at.normalize() < ended.get(o.offer_id, pd.Timestamp.max))
        mass[name] = n_actions * spec.logging_weight(name)
    total = sum(mass.values())
    if total == 0:
        return 1.0
    if row.channel == NONE_CHANNEL:
        return P_NONE
    return (1 - P_NONE) * spec.logging_weight(row.channel) / total


def test_skewed_logging_policy_logs_its_exact_propensities() -> None:
    spec = WORLDS["digital"]
    assert spec.logging_weight("email") > spec.logging_weight("phone") > spec.logging_weight("visit")
    ds, _ = generate_dataset(200, seed=3, world="digital")
    logged = ds.touches[ds.touches["propensity"].notna()]
    for row in logged.sample(120, random_state=1).itertuples():
        assert row.propensity == pytest.approx(_logged_propensity(ds, spec, row))
    by_channel = logged.groupby("channel")["propensity"].median()
    assert by_channel["email"] > 4 * by_channel["visit"]
    assert logged["propensity"].min() < 0.003


def test_rep_averse_accounts_lose_purchases_after_calls_and_visits() -> None:
    world, _, truth = hidden_world("rep_averse", 600, seed=2)
    averse = world.archetype == ARCHETYPES.index("contact_averse")
    assert 0.30 <= averse.mean() <= 0.42
    acc, _ = cell_index(world, truth)
    lift = relative_lift(truth)
    theirs = averse[acc]
    for channel in ("phone", "visit"):
        on = theirs & (truth["channel"] == channel).to_numpy()
        assert (lift[on] < 0).mean() > 0.9 and lift[on].median() < -0.3
        others = ~theirs & (truth["channel"] == channel).to_numpy()
        assert (lift[others] < 0).mean() < 0.5
    undiscounted_marketing = theirs & truth["channel"].isin(["email", "webshop_banner"]).to_numpy() & (
        truth["discount_pct"] == 0).to_numpy()
    assert (lift[undiscounted_marketing] > 0).mean() > 0.9


def test_replenishment_contracts_buy_regularly_and_ignore_outreach() -> None:
    world, log, truth = hidden_world("replenishment", 500, seed=4)
    with_contract = np.isin(np.arange(len(world.accounts)), world.contracts.account)
    assert 0.3 <= with_contract.mean() <= 0.55
    acc, cat = cell_index(world, truth)
    contract = world.contract_start[acc, cat] < world.n_days
    assert contract.mean() > 0.08
    np.testing.assert_array_equal(truth.loc[contract, "true_purchases"], truth.loc[contract, "true_purchases_baseline"])
    assert (truth.loc[contract, "true_expected_incremental_margin"] < 0).all()
    assert truth.loc[contract, "true_p_baseline"].mean() > 0.8
    assert (relative_lift(truth)[~contract] != 0).mean() > 0.5

    dataset, _ = generate_dataset(500, seed=4, world="replenishment")
    orders = dataset.orders.assign(acc=pd.Index(world.accounts["account_id"]).get_indexer(dataset.orders["account_id"]),
                                   cat=pd.Index(world.categories).get_indexer(dataset.orders["product_category"]))
    day = ((orders["ordered_at"] - world.start) // pd.Timedelta(days=1)).to_numpy()
    orders["contract"] = world.contract_start[orders["acc"], orders["cat"]] <= day
    gap = orders.groupby(["acc", "cat"])["ordered_at"].diff() / pd.Timedelta(days=1)
    cv = gap.groupby([orders["acc"], orders["cat"], orders["contract"]]).agg(
        lambda g: g.std() / g.mean() if g.count() >= 5 else np.nan).dropna()
    assert cv.xs(True, level=2).median() < 0.45 < 0.8 < cv.xs(False, level=2).median()
    assert (orders.loc[orders["contract"], "channel"] == "online").mean() > 0.75


def _oracle(truth: pd.DataFrame) -> float:
    value = np.where(truth["eligible"], truth["true_expected_incremental_margin"], 0.0)
    best = pd.Series(value).groupby(truth["account_id"].to_numpy()).max().clip(lower=0)
    return float(best.sum())


def test_promo_sensitive_buy_in_sales_and_discounts_carry_a_share_of_the_oracle() -> None:
    world, _, truth = hidden_world("promo_sensitive", 800, seed=0)
    share = 1 - _oracle(truth[truth["discount_pct"] == 0]) / _oracle(truth)
    assert 0.13 <= share <= 0.28
    dataset, _ = generate_dataset(800, seed=0, world="promo_sensitive")
    orders = dataset.orders
    day = ((orders["ordered_at"] - world.start) // pd.Timedelta(days=1)).to_numpy()
    sale = world.promotion_pct[day]
    assert 6 <= len(np.unique(np.flatnonzero(np.diff(np.r_[0.0, world.promotion_pct]) > 0))) <= 10
    assert ((sale > 0) & (orders["discount_pct"] >= sale)).sum() == (sale > 0).sum()
    assert (orders["discount_pct"].to_numpy() >= sale).all()
    sensitive = world.archetype == ARCHETYPES.index("price_sensitive")
    acc = pd.Index(world.accounts["account_id"]).get_indexer(orders["account_id"])
    days_on = (world.promotion_pct > 0).sum()
    rate_on = np.bincount(acc[sale > 0], minlength=len(sensitive)) / days_on
    rate_off = np.bincount(acc[sale == 0], minlength=len(sensitive)) / (world.n_days - days_on)
    assert rate_on[sensitive].sum() / rate_off[sensitive].sum() > 1.6
    assert rate_on[~sensitive].sum() / rate_off[~sensitive].sum() < 1.2
    # a discount pays (against the same action at 0 %) mostly for the sensitive accounts
    key = ["account_id", "channel", "offer_id"]
    at_zero = truth[truth["discount_pct"] == 0].set_index(key)["true_expected_incremental_margin"]
    best_step = truth[truth["discount_pct"] > 0].groupby(key)["true_expected_incremental_margin"].max()
    pays = (best_step > at_zero.reindex(best_step.index)).groupby(level="account_id").mean()
    theirs = sensitive[pd.Index(world.accounts["account_id"]).get_indexer(pays.index)]
    assert pays[theirs].mean() > 0.5 > 0.05 > pays[~theirs].mean()


def test_digital_response_follows_webshop_activity() -> None:
    world, log, truth = hidden_world("digital", 600, seed=1)
    web = np.bincount(log.web["account"], minlength=len(world.accounts))
    online = np.bincount(log.lines["account"], weights=log.lines["online"], minlength=len(world.accounts)) / np.maximum(
        np.bincount(log.lines["account"], minlength=len(world.accounts)), 1)
    responsive = world.archetype != ARCHETYPES.index("buy_anyway")
    email, phone = world.channels.index("email"), world.channels.index("phone")
    assert np.corrcoef(world.responsiveness[responsive, email], np.log1p(web[responsive]))[0, 1] > 0.4
    assert np.corrcoef(world.responsiveness[responsive, phone], online[responsive])[0, 1] < -0.3
    acc, _ = cell_index(world, truth)
    email_lift = relative_lift(truth)[(truth["channel"] == "email").to_numpy()].groupby(acc[truth["channel"] == "email"]).mean()
    busy = web[email_lift.index] > np.median(web)
    assert email_lift[busy].mean() > 1.5 * email_lift[~busy].mean()


def test_thin_world_has_few_touches() -> None:
    dataset, truth = generate_dataset(seed=2, world="thin")
    logged = dataset.touches[dataset.touches["propensity"].notna()]
    assert len(logged) / len(dataset.accounts) < 6
    assert logged["touched_at"].min() >= DEFAULT_AS_OF - pd.DateOffset(months=9)
    assert truth["account_id"].nunique() == 300
