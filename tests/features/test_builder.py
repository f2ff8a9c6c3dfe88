"""As-of features: window edges, the as-of property, declarations, reasons, stored spec lists."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from factories import T0, make_dataset, with_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.actions import action_space, contact_state, eligible_mask
from features.builder import build_features
from features.dataset import Dataset
from features.definitions import (
    FeatureSpec,
    feature_specs,
    render_reason,
    specs_from_dict,
    specs_to_dict,
)
from features.policy import ChannelRule, Policy

US = pd.Timedelta(microseconds=1)
DAY = pd.Timedelta(days=1)
CATS = ["Werkzeuge", "Schrauben", "Lager"]
OFFERS = [{"offer_id": "fw", "product_category": "Werkzeuge", "channels": ("email", "phone")},
          {"offer_id": "fs", "product_category": "Schrauben", "channels": ("email",)}]


def _queries(*rows: tuple[str, pd.Timestamp, str | None], index: list | None = None) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [r[0] for r in rows], "at": [r[1] for r in rows],
                         "category": pd.Series([r[2] for r in rows], dtype="str")}, index=index)


def _one(ds: Dataset, category: str | None = "Werkzeuge", at: pd.Timestamp = T0) -> pd.Series:
    return build_features(ds, _queries(("a1", at, category))).iloc[0]


# -- window edges ---------------------------------------------------------------------------------

def test_order_exactly_at_at_minus_w_counts_and_exactly_at_at_does_not() -> None:
    orders = [{"order_id": "o1", "account_id": "a1", "ordered_at": T0 - 30 * DAY, "product_category": "Werkzeuge"},
              {"order_id": "o2", "account_id": "a1", "ordered_at": T0 - 30 * DAY - US, "product_category": "Werkzeuge"},
              {"order_id": "o3", "account_id": "a1", "ordered_at": T0, "product_category": "Werkzeuge"}]
    row = _one(make_dataset(offers_rows=OFFERS, orders_rows=orders))
    assert row["orders_30d"] == 1 and row["orders_90d"] == 2
    assert row["revenue_30d"] == 100.0
    assert row["days_since_last_order"] == 30.0
    assert row["tenure_days"] == pytest.approx(30.0 + 1e-6 / 86_400)


def test_touch_and_web_event_edges() -> None:
    touches = [{"account_id": "a1", "touched_at": T0 - 30 * DAY, "channel": "phone"},
               {"account_id": "a1", "touched_at": T0, "channel": "phone"},
               {"account_id": "a1", "touched_at": T0 - 7 * DAY, "channel": "none"}]
    web = [{"account_id": "a1", "occurred_at": T0 - 7 * DAY, "event_type": "visit", "product_category": "Werkzeuge"},
           {"account_id": "a1", "occurred_at": T0 - 7 * DAY - US, "event_type": "visit"},
           {"account_id": "a1", "occurred_at": T0, "event_type": "visit", "product_category": "Werkzeuge"}]
    row = _one(make_dataset(offers_rows=OFFERS, touches_rows=touches, web_rows=web))
    assert row["touches_30d__phone"] == 1 and row["days_since_touch__phone"] == 30.0
    assert row["web_7d__visit"] == 1 and row["web_30d__visit"] == 2
    assert row["cat_web_7d"] == 1 and row["days_since_web_event"] == 7.0
    assert "touches_30d__none" not in row.index


def test_orders_count_distinct_orders_and_revenue_sums_lines() -> None:
    lines = [{"order_id": "o1", "account_id": "a1", "ordered_at": T0 - DAY, "product_category": c, "net_amount": 10.0,
              "channel": ch, "discount_pct": d}
             for c, ch, d in [("Werkzeuge", "online", 10.0), ("Werkzeuge", "online", 0.0), ("Schrauben", "offline", 0.0)]]
    row = _one(make_dataset(offers_rows=OFFERS, orders_rows=lines))
    assert row["orders_30d"] == 1 and row["cat_orders_90d"] == 1
    assert row["revenue_30d"] == 30.0 and row["cat_revenue_90d"] == 20.0
    assert row["online_share_90d"] == pytest.approx(2 / 3)
    assert row["cat_revenue_share_365d"] == pytest.approx(2 / 3)
    assert row["categories_365d"] == 2
    assert row["mean_discount_365d"] == pytest.approx(10 / 3) and row["discounted_share_365d"] == pytest.approx(1 / 3)
    assert row["cat_mean_discount_365d"] == 5.0


def test_revenue_trend_and_online_share_change() -> None:
    orders = [{"account_id": "a1", "ordered_at": T0 - 10 * DAY, "product_category": "Werkzeuge", "net_amount": 300.0,
               "channel": "online"},
              {"account_id": "a1", "ordered_at": T0 - 100 * DAY, "product_category": "Werkzeuge", "net_amount": 100.0}]
    row = _one(make_dataset(offers_rows=OFFERS, orders_rows=orders))
    assert row["revenue_trend_90d"] == pytest.approx(np.log(301) - np.log(101))
    assert row["online_share_change_90d"] == pytest.approx(100.0)


def test_response_rate_counts_only_touches_whose_window_ended_before_at() -> None:
    touches = [{"account_id": "a1", "touched_at": T0 - 40 * DAY, "channel": "email", "offer_id": "fw"},
               {"account_id": "a1", "touched_at": T0 - 50 * DAY, "channel": "email", "offer_id": "fs"},
               {"account_id": "a1", "touched_at": T0 - 30 * DAY, "channel": "email", "offer_id": "fw"},   # ends at T0
               {"account_id": "a1", "touched_at": T0 - 45 * DAY, "channel": "phone"}]                   # generic
    orders = [{"account_id": "a1", "ordered_at": T0 - 20 * DAY, "product_category": "Werkzeuge"},
              {"account_id": "a1", "ordered_at": T0 - 1 * DAY, "product_category": "Werkzeuge"}]
    row = _one(make_dataset(offers_rows=OFFERS, orders_rows=orders, touches_rows=touches))
    assert row["touches_judged__email"] == 2 and row["responses__email"] == 1
    assert row["response_rate__email"] == 0.5
    assert row["touches_judged__phone"] == 1 and row["response_rate__phone"] == 1.0
    assert row["cat_touches_90d"] == 2  # offers of Werkzeuge, any channel
    assert np.isnan(row["response_rate__visit"])


def test_category_features_are_nan_without_a_category_and_zero_for_an_unseen_one() -> None:
    ds = make_dataset(offers_rows=OFFERS, orders_rows=[{"account_id": "a1", "ordered_at": T0 - DAY,
                                                        "product_category": "Werkzeuge"}])
    out = build_features(ds, _queries(("a1", T0, None), ("a1", T0, "Neu")))
    assert out.filter(like="cat_").iloc[0].isna().all()
    assert out["cat_orders_90d"].iloc[1] == 0 and np.isnan(out["cat_days_since_last_order"].iloc[1])
    assert out["orders_30d"].tolist() == [1.0, 1.0]


def test_result_keeps_the_queries_index_and_order() -> None:
    orders = [{"account_id": a, "ordered_at": T0 - d * DAY, "product_category": "Werkzeuge"}
              for a, d in [("a1", 1), ("a2", 2), ("a2", 3)]]
    ds = make_dataset(offers_rows=OFFERS, orders_rows=orders)
    queries = _queries(("a2", T0, "Werkzeuge"), ("a1", T0, None), ("a2", T0 - 2 * DAY, None), index=[30, 10, 20])
    out = build_features(ds, queries)
    assert out.index.tolist() == [30, 10, 20]
    assert out["orders_30d"].tolist() == [2.0, 1.0, 1.0]


# -- attributes -------------------------------------------------------------------------------------

def test_firmographics_and_extra_columns_keep_their_kind() -> None:
    ds = make_dataset(accounts_rows=[
        {"account_id": "a1", "employees": 40, "industry": "Bau", "segment": "A", "credit_limit": 5000.0},
        {"account_id": "a2", "industry": None, "segment": None, "credit_limit": None}])
    specs = {s.name: s for s in feature_specs(ds)}
    assert specs["attr__segment"].dtype == "categorical" and specs["attr__credit_limit"].dtype == "numeric"
    out = build_features(ds, _queries(("a2", T0, None), ("a1", T0, None)))
    assert out["employees"].tolist()[1] == 40.0 and np.isnan(out["employees"].iloc[0])
    assert out["attr__segment"].dtype == "str"
    assert pd.isna(out["attr__segment"].iloc[0]) and out["attr__segment"].iloc[1] == "A"
    assert pd.isna(out["industry"].iloc[0]) and out["industry"].iloc[1] == "Bau"
    assert out["attr__credit_limit"].dtype == np.float64 and out["attr__credit_limit"].iloc[1] == 5000.0


# -- declarations -----------------------------------------------------------------------------------

def test_specs_expand_over_channels_event_types_and_extras() -> None:
    web = [{"account_id": "a1", "occurred_at": T0, "event_type": f"type{i}"} for i in range(10) for _ in range(i + 1)]
    policy = Policy(channels={"email": ChannelRule("email", 0.5, "marketing", True, 4),
                              "fax": ChannelRule("fax", 1.0, "marketing", False, None)})
    ds = make_dataset(accounts_rows=[{"account_id": "a1", "tier": "gold"}], web_rows=web, policy=policy)
    names = [s.name for s in feature_specs(ds)]
    assert len(names) == len(set(names))
    assert "touches_30d__fax" in names and "touches_30d__phone" not in names
    web_types = {n.split("__")[1] for n in names if n.startswith("web_7d__")}
    assert web_types == {f"type{i}" for i in range(2, 10)}  # the 8 most frequent
    assert "attr__tier" in names
    assert all(s.description and "\n" not in s.description for s in feature_specs(ds))


def test_specs_round_trip_through_json() -> None:
    ds = make_dataset(accounts_rows=[{"account_id": "a1", "tier": "gold"}],
                      web_rows=[{"account_id": "a1", "occurred_at": T0, "event_type": "cart"}])
    specs = feature_specs(ds)
    restored = specs_from_dict(json.loads(json.dumps(specs_to_dict(specs))))
    assert restored == specs
    assert specs_from_dict(specs_to_dict(specs)["specs"]) == specs


@pytest.mark.parametrize(("payload", "message"), [
    ({"format": "other", "version": 1, "specs": []}, "expected format"),
    ({"format": "symbiose.feature_specs", "version": 9, "specs": []}, "expected version 1"),
    ([{"name": "x", "dtype": "text", "scope": "account", "description": "d"}], "dtype='text'; expected one of"),
    ([{"name": "x", "dtype": "numeric", "scope": "account", "description": "d", "colour": 1}], "unknown keys \\['colour'\\]"),
    ([{"name": "x", "dtype": "numeric", "scope": "account", "description": "d", "window_days": 0}], "window_days=0"),
    ([{"name": "x", "dtype": "numeric", "scope": "account"}], "lacks required keys \\['description'\\]"),
    ([{"name": "x", "dtype": "numeric", "scope": "account", "description": "d", "reason": "{rows} rows"}],
     "may use only {value} and {category}"),
    ("not specs", "expected a list of specs"),
])
def test_bad_spec_payloads_are_rejected(payload: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        specs_from_dict(payload)  # type: ignore[arg-type]


def test_stored_specs_on_data_missing_a_channel_event_type_and_column() -> None:
    web = [{"account_id": "a1", "occurred_at": T0 - DAY, "event_type": "webinar", "product_category": "Werkzeuge"}]
    trained = make_dataset(accounts_rows=[{"account_id": "a1", "tier": "gold"}], offers_rows=OFFERS,
                           web_rows=web, touches_rows=[{"account_id": "a1", "touched_at": T0 - DAY, "channel": "visit"}])
    specs = specs_from_dict(specs_to_dict(feature_specs(trained)))
    now = make_dataset(offers_rows=OFFERS, policy=Policy(channels={"email": ChannelRule("email", 0.5, "marketing")}),
                       touches_rows=[{"account_id": "a1", "touched_at": T0 - DAY, "channel": "email"}])
    out = build_features(now, _queries(("a1", T0, "Werkzeuge")), specs)
    assert list(out.columns) == [s.name for s in specs if s.scope != "action"]
    row = out.iloc[0]
    assert row["touches_30d__visit"] == 0 and np.isnan(row["days_since_touch__visit"])
    assert row["web_7d__webinar"] == 0 and np.isnan(row["days_since_web_event"])
    assert pd.isna(row["attr__tier"])


def test_action_specs_are_skipped_and_bad_spec_lists_are_reported() -> None:
    ds = make_dataset()
    action = FeatureSpec("action_channel", "categorical", "action", "channel of the action")
    orders = FeatureSpec("orders_7d", "numeric", "account", "orders in 7 days", 7, kind="order_count")
    out = build_features(ds, _queries(("a1", T0, None)), [action, orders])
    assert list(out.columns) == ["orders_7d"]
    with pytest.raises(ValueError, match="repeated: \\['orders_7d'\\]"):
        build_features(ds, _queries(("a1", T0, None)), [orders, orders])
    with pytest.raises(ValueError, match="no computation for features x \\(kind 'nope'\\); known kinds: order_count"):
        build_features(ds, _queries(("a1", T0, None)), [FeatureSpec("x", "numeric", "account", "d", kind="nope")])
    with pytest.raises(ValueError, match="needs window_days"):
        build_features(ds, _queries(("a1", T0, None)), [FeatureSpec("x", "numeric", "account", "d", kind="revenue")])


def test_queries_are_checked() -> None:
    ds = make_dataset()
    with pytest.raises(ValueError, match="not in the accounts table: \\['zz'\\]"):
        build_features(ds, _queries(("zz", T0, None)))
    with pytest.raises(ValueError, match="lack columns \\['at'\\]"):
        build_features(ds, pd.DataFrame({"account_id": ["a1"]}))


# -- reasons ------------------------------------------------------------------------------------------

def test_reasons_render_in_plain_language() -> None:
    ds = make_dataset(web_rows=[{"account_id": "a1", "occurred_at": T0, "event_type": "product_view"}])
    specs = {s.name: s for s in feature_specs(ds)}
    assert render_reason(specs["cat_orders_90d"], 4.0, "Werkzeuge") == "ordered Werkzeuge 4 times in the last 90 days"
    assert render_reason(specs["cat_orders_90d"], 1.0, "Werkzeuge") == "ordered Werkzeuge 1 time in the last 90 days"
    assert render_reason(specs["cat_web_30d__product_view"], 6.0, "Werkzeuge") == \
        "viewed Werkzeuge online 6 times in the last 30 days"
    assert render_reason(specs["days_since_last_order"], 120.0, None) == "no order for 120 days"
    assert render_reason(specs["online_share_90d"], 0.45, None) == "45% of revenue came online in the last 90 days"
    assert render_reason(specs["touches_90d__email"], 3.0, None) == "received 3 e-mails in the last 90 days"
    assert render_reason(specs["touches_90d__phone"], 1.0, None) == "received 1 call in the last 90 days"
    assert render_reason(specs["response_rate__email"], 2 / 3, None) == "ordered after 67% of earlier e-mails"
    assert render_reason(specs["revenue_365d"], 12400.0, None) == "bought for €12,400 in the last 12 months"
    assert render_reason(specs["revenue_365d"], 12400.0, None, "PLN") == "bought for 12,400 PLN in the last 12 months"


def test_reasons_are_withheld_when_they_would_not_be_true() -> None:
    specs = {s.name: s for s in feature_specs(make_dataset())}
    assert render_reason(specs["cat_orders_90d"], 0.0, "Werkzeuge") is None        # positive only
    assert render_reason(specs["cat_orders_90d"], 3.0, None) is None               # needs a category
    assert render_reason(specs["orders_90d"], np.nan, None) is None
    assert render_reason(specs["orders_90d"], None, None) is None
    assert render_reason(specs["employees"], 40.0, None) is None                   # never
    assert render_reason(specs["online_share_90d"], 0.004, None) is None           # would read "0%"
    assert render_reason(specs["days_since_last_order"], 0.4, None) is None        # would read "0 days"
    falling = FeatureSpec("trend", "numeric", "account", "d", reason="revenue fell by {value:.0%}",
                          reason_when="negative")
    assert render_reason(falling, -0.2, None) == "revenue fell by 20%"
    assert render_reason(falling, 0.2, None) is None


def test_every_declared_reason_renders_for_a_typical_value() -> None:
    ds = make_dataset(accounts_rows=[{"account_id": "a1", "tier": "gold"}],
                      web_rows=[{"account_id": "a1", "occurred_at": T0, "event_type": t}
                                for t in ("visit", "product_view", "cart", "download", "webinar", "odd_type")])
    for spec in feature_specs(ds):
        text = render_reason(spec, 3.0, "Werkzeuge")
        if spec.reason and spec.reason_when != "never":
            assert text and "{" not in text and "_" not in text.replace("odd_type", ""), spec.name
        else:
            assert text is None, spec.name


# -- the as-of property -------------------------------------------------------------------------------

def _random_dataset(rows: dict[str, list[tuple]]) -> Dataset:
    accounts = [{"account_id": a, "segment": s} for a, s in (("a0", "x"), ("a1", "y"), ("a2", None))]
    orders = [{"order_id": f"o{i // 2}", "account_id": f"a{a}", "ordered_at": T0 + t, "product_category": CATS[c],
               "net_amount": float(n), "discount_pct": float(d), "channel": ("online", "offline")[c % 2]}
              for i, (a, t, c, n, d) in enumerate(rows["orders"])]
    offer_ids = ["fw", "fs", None]
    touches = [{"touch_id": f"t{i}", "account_id": f"a{a}", "touched_at": T0 + t,
                "channel": ("email", "phone", "none")[ch], "offer_id": None if ch == 2 else offer_ids[o]}
               for i, (a, t, ch, o) in enumerate(rows["touches"])]
    web = [{"account_id": f"a{a}", "occurred_at": T0 + t, "event_type": ("visit", "cart")[e],
            "product_category": (CATS + [None])[c]}
           for a, t, e, c in rows["web"]]
    return make_dataset(accounts_rows=accounts, offers_rows=OFFERS, orders_rows=orders, touches_rows=touches,
                        web_rows=web, policy=Policy(quiet_days_after_order=2))


AT_DAYS = (-30, -10, 0)
# Event times: anywhere on a day grid, or exactly on (±1µs around) a window edge of a query time.
_edge_times = st.builds(lambda at, w, e: (at - w) * DAY + e * US, st.sampled_from(AT_DAYS),
                        st.sampled_from([0, 2, 7, 30, 60, 90, 180, 365]), st.sampled_from([-1, 0, 1]))
_times = st.one_of(st.builds(lambda d: d * DAY, st.integers(-400, 60)), _edge_times)
# Future rows: at or after the latest query time, often exactly at it.
_future_times = st.builds(lambda d, e: d * DAY + e * US, st.sampled_from([0, 0, 1, 40]), st.sampled_from([0, 0, 1]))


def _rows(times: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries({
        "orders": st.lists(st.tuples(st.integers(0, 2), times, st.integers(0, 2), st.integers(0, 500),
                                     st.sampled_from([0, 5])), max_size=25),
        "touches": st.lists(st.tuples(st.integers(0, 2), times, st.integers(0, 2), st.integers(0, 2)), max_size=15),
        "web": st.lists(st.tuples(st.integers(0, 2), times, st.integers(0, 1), st.integers(0, 3)), max_size=15),
    })


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows(_times), future=_rows(_future_times),
       ats=st.lists(st.sampled_from(AT_DAYS), min_size=1, max_size=3, unique=True))
def test_future_rows_change_nothing(rows: dict, future: dict, ats: list[int]) -> None:
    """build_features, contact_state and eligible_mask ignore rows at or after ``at``."""
    ds = _random_dataset(rows)
    specs = feature_specs(ds)
    at_times = [T0 + d * DAY for d in ats]
    queries = _queries(*[(f"a{i % 3}", at, (CATS + [None])[i % 4]) for i, at in enumerate(at_times * 4)])
    base = build_features(ds, queries, specs)
    latest = max(at_times) - T0
    extra = _random_dataset({k: [(r[0], r[1] + latest, *r[2:]) for r in v] for k, v in future.items()})
    grown = with_rows(ds, orders_rows=extra.orders.assign(order_id="f" + extra.orders["order_id"]).to_dict("records"),
                      touches_rows=extra.touches.assign(touch_id="f" + extra.touches["touch_id"]).to_dict("records"),
                      web_rows=extra.web_events.to_dict("records"))
    pd.testing.assert_frame_equal(base, build_features(grown, queries, specs), check_exact=True)
    actions = action_space(ds)
    for at in at_times:
        mask = (queries["at"] == at).to_numpy()
        alone = build_features(ds.before(at), queries.loc[mask], specs)
        pd.testing.assert_frame_equal(base.loc[mask], alone, check_exact=True)
        state = contact_state(ds, at)
        pd.testing.assert_frame_equal(state, contact_state(grown, at), check_exact=True)
        np.testing.assert_array_equal(eligible_mask(state, actions, ds.policy),
                                      eligible_mask(contact_state(grown, at), actions, ds.policy))


def test_features_agree_with_a_brute_force_computation() -> None:
    rng = np.random.default_rng(21)

    def times(n: int) -> list[pd.Timedelta]:
        return [int(d) * DAY + int(h) * pd.Timedelta(hours=1) for d, h in zip(rng.integers(-400, 5, n),
                                                                               rng.integers(0, 24, n), strict=True)]

    rows = {
        "orders": list(zip(rng.integers(0, 3, 200), times(200), rng.integers(0, 3, 200), rng.integers(1, 500, 200),
                           rng.choice([0, 5], 200), strict=True)),
        "touches": list(zip(rng.integers(0, 3, 80), times(80), rng.integers(0, 3, 80), rng.integers(0, 3, 80),
                            strict=True)),
        "web": list(zip(rng.integers(0, 3, 120), times(120), rng.integers(0, 2, 120), rng.integers(0, 4, 120),
                        strict=True)),
    }
    ds = _random_dataset(rows)
    queries = _queries(*[(f"a{int(a)}", T0 + int(d) * DAY, (CATS + [None])[int(c)])
                         for a, d, c in zip(rng.integers(0, 3, 40), rng.integers(-200, 10, 40), rng.integers(0, 4, 40),
                                            strict=True)])
    out = build_features(ds, queries)
    o, t, w = ds.orders, ds.touches, ds.web_events
    offer_cat = ds.offers.set_index("offer_id")["product_category"]
    for i, q in queries.iterrows():
        acc, at, cat = q["account_id"], q["at"], q["category"]
        mine = o.loc[(o["account_id"] == acc) & (o["ordered_at"] < at)]
        win = mine.loc[mine["ordered_at"] >= at - 90 * DAY]
        year = mine.loc[mine["ordered_at"] >= at - 365 * DAY]
        f = out.loc[i]
        assert f["orders_90d"] == win.drop_duplicates(["order_id", "ordered_at"]).shape[0]
        assert f["revenue_90d"] == pytest.approx(win["net_amount"].sum())
        assert f["categories_365d"] == year["product_category"].nunique()
        expected_days = (at - mine["ordered_at"].max()) / DAY if len(mine) else np.nan
        np.testing.assert_allclose(f["days_since_last_order"], expected_days)
        online = win.loc[win["channel"] == "online", "net_amount"].sum()
        np.testing.assert_allclose(f["online_share_90d"], online / win["net_amount"].sum() if len(win) else np.nan)
        touched = t.loc[(t["account_id"] == acc) & (t["touched_at"] < at) & (t["channel"] == "email")]
        assert f["touches_30d__email"] == (touched["touched_at"] >= at - 30 * DAY).sum()
        judged = touched.loc[touched["touched_at"] + 30 * DAY < at]
        answered = [
            ((o["account_id"] == acc) & (o["ordered_at"] > r["touched_at"]) & (o["ordered_at"] <= r["touched_at"] + 30 * DAY)
             & ((o["product_category"] == offer_cat.get(r["offer_id"])) if pd.notna(r["offer_id"]) else True)).any()
            for _, r in judged.iterrows()]
        np.testing.assert_allclose(f["response_rate__email"], np.mean(answered) if answered else np.nan)
        views = w.loc[(w["account_id"] == acc) & (w["occurred_at"] < at) & (w["occurred_at"] >= at - 7 * DAY)]
        assert f["web_7d__visit"] == (views["event_type"] == "visit").sum()
        if pd.isna(cat):
            assert np.isnan(f["cat_orders_365d"])
            continue
        in_cat = year.loc[year["product_category"] == cat]
        assert f["cat_orders_365d"] == in_cat.drop_duplicates(["order_id", "ordered_at"]).shape[0]
        share = year.loc[year["product_category"] == cat, "net_amount"].sum() / year["net_amount"].sum() \
            if year["net_amount"].sum() > 0 else np.nan
        np.testing.assert_allclose(f["cat_revenue_share_365d"], share)
        cat_views = w.loc[(w["account_id"] == acc) & (w["occurred_at"] < at) & (w["occurred_at"] >= at - 30 * DAY)
                          & (w["product_category"] == cat)]
        assert f["cat_web_30d"] == len(cat_views)
        offered = t.loc[(t["account_id"] == acc) & (t["touched_at"] < at) & (t["touched_at"] >= at - 90 * DAY)
                        & (t["offer_id"].map(offer_cat) == cat)]
        assert f["cat_touches_90d"] == len(offered)


def _brute_force_world() -> tuple[Dataset, pd.DataFrame]:
    rng = np.random.default_rng(5)
    days = rng.integers(-400, 5, 300)
    rows = {
        "orders": [(int(a), int(d) * DAY, int(c), int(v), 5 * int(k)) for a, d, c, v, k in zip(
            rng.integers(0, 3, 120), days[:120], rng.integers(0, 3, 120), rng.integers(1, 500, 120),
            rng.integers(0, 2, 120), strict=True)],
        "touches": [(int(a), int(d) * DAY, int(c), int(o)) for a, d, c, o in zip(
            rng.integers(0, 3, 60), days[120:180], rng.integers(0, 3, 60), rng.integers(0, 3, 60), strict=True)],
        "web": [(int(a), int(d) * DAY, int(e), int(c)) for a, d, e, c in zip(
            rng.integers(0, 3, 120), days[180:], rng.integers(0, 2, 120), rng.integers(0, 4, 120), strict=True)],
    }
    queries = _queries(*[(f"a{int(a)}", T0 + int(d) * DAY, (CATS + [None])[int(c)]) for a, d, c in zip(
        rng.integers(0, 3, 50), rng.integers(-200, 10, 50), rng.integers(0, 4, 50), strict=True)],
        index=list(rng.permutation(50) + 100))
    return _random_dataset(rows), queries


def test_queries_answered_in_chunks_give_the_same_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queries are answered chunk by chunk (bounded memory); the chunk size changes no value."""
    import features.builder as builder

    ds, queries = _brute_force_world()
    whole = build_features(ds, queries)
    monkeypatch.setattr(builder, "QUERY_CHUNK", 7)
    pd.testing.assert_frame_equal(build_features(ds, queries), whole, check_exact=True)


def test_float32_features_are_the_float64_values_rounded() -> None:
    ds, queries = _brute_force_world()
    wide = build_features(ds, queries)
    narrow = build_features(ds, queries, numeric_dtype=np.float32)
    numeric = [c for c in wide.columns if wide[c].dtype == np.float64]
    assert numeric and all(narrow[c].dtype == np.float32 for c in numeric)
    np.testing.assert_array_equal(narrow[numeric].to_numpy(), wide[numeric].to_numpy(dtype=np.float32))
    text = [c for c in wide.columns if c not in numeric]
    pd.testing.assert_frame_equal(narrow[text], wide[text])
    assert list(narrow.columns) == list(wide.columns) and narrow.index.equals(queries.index)


def test_queries_for_few_accounts_read_only_their_events_with_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Features of a few accounts are built from those accounts' events only; the values are those of
    a build over every account's events (channels, event types and categories only others have too)."""
    import features.builder as builder

    ds, queries = _brute_force_world()
    one = queries.assign(account_id="a0")
    one.loc[one.index[:3], "category"] = "Lager"
    seen: list[int] = []
    real = builder._Events.__init__

    def spy(self, dataset, categories):  # type: ignore[no-untyped-def]
        seen.append(len(dataset.accounts))
        real(self, dataset, categories)

    monkeypatch.setattr(builder._Events, "__init__", spy)
    few = build_features(ds, one)
    monkeypatch.setattr(builder, "SUBSET_SHARE", -1.0)
    every = build_features(ds, one)
    assert seen == [1, len(ds.accounts)]
    pd.testing.assert_frame_equal(few, every, check_exact=True)


def test_account_features_are_computed_once_per_account_and_time_with_the_values_of_single_queries(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Account features are computed once per distinct (account, at) and copied to the queries of
    every category; each value is that of the query asked on its own, bit for bit."""
    import features.builder as builder

    ds, queries = _brute_force_world()
    repeated = pd.concat([queries.assign(category=c) for c in [*CATS, None]], ignore_index=True)
    sizes: list[int] = []
    real = builder._Context.__init__

    def spy(self, events, q_acc, *args):  # type: ignore[no-untyped-def]
        sizes.append(len(q_acc))
        real(self, events, q_acc, *args)

    monkeypatch.setattr(builder._Context, "__init__", spy)
    together = build_features(ds, repeated)
    distinct = len(repeated[["account_id", "at"]].drop_duplicates())
    assert sorted(sizes) == sorted([len(repeated), distinct]) and distinct < len(queries)
    alone = pd.concat([build_features(ds, repeated.iloc[[i]]) for i in range(len(repeated))])
    pd.testing.assert_frame_equal(together, alone, check_exact=True)
