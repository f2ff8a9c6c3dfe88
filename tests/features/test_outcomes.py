"""Outcome labels: window edges, category matching, margins with discounts, completeness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from factories import T0, make_dataset

from features.outcomes import LABEL_COLUMNS, label_touches, window_outcomes
from features.policy import Policy

US = pd.Timedelta(microseconds=1)
W = pd.Timedelta(days=30)
OFFERS = [{"offer_id": "fw", "product_category": "Werkzeuge", "margin_rate": 0.4},
          {"offer_id": "fw2", "product_category": "Werkzeuge", "margin_rate": 0.2},
          {"offer_id": "fs", "product_category": "Schrauben", "margin_rate": 0.5}]


def _ds(orders: list[dict], touches: list[dict]):
    return make_dataset(offers_rows=OFFERS, orders_rows=orders, touches_rows=touches)


def _order(at: pd.Timestamp, category: str = "Werkzeuge", net: float = 100.0, discount: float = 0.0,
           account: str = "a1") -> dict:
    return {"account_id": account, "ordered_at": at, "product_category": category, "net_amount": net,
            "discount_pct": discount}


def _touch(offer: str | None = "fw", channel: str = "email", at: pd.Timestamp = T0, **kw: object) -> dict:
    return {"account_id": "a1", "touched_at": at, "channel": channel, "offer_id": offer, **kw}


@pytest.mark.parametrize(("offset", "converts"), [
    (pd.Timedelta(0), False),          # an order at the touch itself is not caused by it
    (US, True),
    (W, True),                         # the window's last instant counts
    (W + US, False),
])
def test_window_edges(offset: pd.Timedelta, converts: bool) -> None:
    labels = label_touches(_ds([_order(T0 + offset)], [_touch()]))
    assert labels["converted"].tolist() == [converts]
    assert labels["n_lines"].tolist() == [int(converts)]


def test_order_before_the_touch_does_not_convert() -> None:
    assert not label_touches(_ds([_order(T0 - US)], [_touch()]))["converted"].any()


def test_only_the_offers_category_converts_and_only_for_the_same_account() -> None:
    orders = [_order(T0 + pd.Timedelta(days=1), "Schrauben"), _order(T0 + pd.Timedelta(days=1), account="a2")]
    assert not label_touches(_ds(orders, [_touch("fw")]))["converted"].any()
    assert label_touches(_ds(orders, [_touch("fs")]))["converted"].tolist() == [True]


def test_generic_contact_converts_on_any_category_with_category_margins() -> None:
    orders = [_order(T0 + pd.Timedelta(days=1), "Schrauben", 100.0), _order(T0 + pd.Timedelta(days=2), "Werkzeuge", 100.0)]
    labels = label_touches(_ds(orders, [_touch(None, "phone")]))
    row = labels.iloc[0]
    assert row["converted"] and pd.isna(row["category"]) and pd.isna(row["offer_id"])
    # Schrauben margin 0.5, Werkzeuge the mean of its offers (0.4 + 0.2) / 2.
    assert row["margin"] == pytest.approx(50.0 + 30.0)
    assert row["revenue"] == 200.0 and row["n_lines"] == 2


def test_margin_formula_with_discounts_uses_the_offers_rate() -> None:
    orders = [_order(T0 + pd.Timedelta(days=1), net=90.0, discount=10.0),
              _order(T0 + pd.Timedelta(days=2), net=100.0, discount=0.0),
              _order(T0 + pd.Timedelta(days=3), net=50.0, discount=50.0)]
    labels = label_touches(_ds(orders, [_touch("fw"), _touch("fw2")]))
    m = 0.4
    expected = 90 * (m - 0.1) / 0.9 + 100 * m + 50 * (m - 0.5) / 0.5
    assert labels["margin"].iloc[0] == pytest.approx(expected)
    m = 0.2
    assert labels["margin"].iloc[1] == pytest.approx(90 * (m - 0.1) / 0.9 + 100 * m + 50 * (m - 0.5) / 0.5)
    assert labels["revenue"].iloc[0] == 240.0
    assert labels["list_revenue"].iloc[0] == pytest.approx(100.0 + 100.0 + 100.0)


def test_none_touch_gives_one_control_row_per_category() -> None:
    orders = [_order(T0 + pd.Timedelta(days=1), "Schrauben", 10.0), _order(T0 - pd.Timedelta(days=1), "Lager", 5.0)]
    labels = label_touches(_ds(orders, [_touch("fw", touch_id="t0"), _touch(None, "none", propensity=0.1, touch_id="h1")]))
    control = labels.loc[labels["channel"] == "none"]
    assert control["category"].tolist() == ["Lager", "Schrauben", "Werkzeuge"]
    assert control["touch_id"].tolist() == ["h1"] * 3
    assert control["offer_id"].isna().all() and (control["discount_pct"] == 0).all()
    assert control["propensity"].tolist() == [0.1] * 3
    assert control["converted"].tolist() == [False, True, False]
    assert control["margin"].tolist() == [0.0, pytest.approx(5.0), 0.0]  # Schrauben at 0.5
    assert labels["touch_id"].iloc[0] == "t0"  # rows keep the touches' order


def test_none_touch_with_an_offer_id_is_still_a_control_for_every_category() -> None:
    labels = label_touches(_ds([], [_touch("fw", "none", discount_pct=5.0)]))
    assert labels["category"].tolist() == ["Schrauben", "Werkzeuge"]
    assert labels["offer_id"].isna().all() and (labels["discount_pct"] == 0).all()


def test_output_columns_and_dtypes() -> None:
    labels = label_touches(_ds([_order(T0 + pd.Timedelta(days=1))], [_touch(discount_pct=5.0, propensity=0.5)]))
    assert list(labels.columns) == LABEL_COLUMNS
    assert labels["converted"].dtype == bool and labels["complete"].dtype == bool
    assert labels["margin"].dtype == np.float64 and labels["n_lines"].dtype == np.int64
    assert labels["window_end"].iloc[0] == T0 + W
    assert labels["discount_pct"].iloc[0] == 5.0 and labels["propensity"].iloc[0] == 0.5


def test_incomplete_windows_and_as_of() -> None:
    orders = [_order(T0 + pd.Timedelta(days=20))]
    touches = [_touch(at=T0, touch_id="early"), _touch(at=T0 + pd.Timedelta(days=10), touch_id="late")]
    ds = _ds(orders, touches)
    labels = label_touches(ds)   # as_of = latest timestamp + 1µs = the late touch + 1µs
    assert labels["complete"].tolist() == [False, False]
    as_of = T0 + W + US
    labels = label_touches(ds, as_of)
    assert labels["touch_id"].tolist() == ["early", "late"]
    assert labels["complete"].tolist() == [True, False]
    assert labels["converted"].tolist() == [True, True]
    early = label_touches(ds, T0 + pd.Timedelta(days=5))
    assert early["touch_id"].tolist() == ["early"]  # touches at/after as_of are not read
    assert early["converted"].tolist() == [False]   # nor are orders at/after as_of


def test_window_end_exactly_at_as_of_is_not_complete() -> None:
    labels = label_touches(_ds([], [_touch()]), T0 + W)
    assert labels["complete"].tolist() == [False]


def test_attribution_window_comes_from_the_policy() -> None:
    ds = make_dataset(offers_rows=OFFERS, orders_rows=[_order(T0 + pd.Timedelta(days=8))], touches_rows=[_touch()],
                      policy=Policy(attribution_window_days=7))
    assert label_touches(ds)["converted"].tolist() == [False]


def test_unknown_offer_is_reported() -> None:
    with pytest.raises(ValueError, match="unknown offers in rows .*'nope'"):
        label_touches(_ds([], [_touch("nope")]))


def test_window_outcomes_for_arbitrary_queries() -> None:
    orders = [_order(T0 + pd.Timedelta(days=1), "Werkzeuge", 100.0), _order(T0 + pd.Timedelta(days=40), "Schrauben")]
    ds = _ds(orders, [])
    queries = pd.DataFrame({"account_id": ["a1", "a1", "a1", "a2"],
                            "at": [T0, T0, T0 + pd.Timedelta(days=10), T0],
                            "category": ["Werkzeuge", None, None, None]}, index=[7, 5, 3, 1])
    out = window_outcomes(ds, queries)
    assert out.index.tolist() == [7, 5, 3, 1]
    assert out["converted"].tolist() == [True, True, True, False]
    assert out["margin"].tolist() == [pytest.approx(30.0), pytest.approx(30.0), pytest.approx(50.0), 0.0]
    assert window_outcomes(ds, queries, window_days=1)["converted"].tolist() == [True, True, False, False]
    priced = window_outcomes(ds, queries.assign(margin_rate=[0.9, 0.9, np.nan, np.nan]))
    assert priced["margin"].tolist()[:2] == [pytest.approx(90.0), pytest.approx(30.0)]  # rate only for own category


def test_window_outcomes_needs_account_and_time() -> None:
    with pytest.raises(ValueError, match="lack columns \\['at'\\]"):
        window_outcomes(_ds([], []), pd.DataFrame({"account_id": ["a1"]}))


def test_labels_agree_with_a_brute_force_join() -> None:
    rng = np.random.default_rng(5)
    cats = ["Werkzeuge", "Schrauben"]
    orders = [_order(T0 + pd.Timedelta(hours=int(h)), cats[int(c)], float(n), float(d), f"a{int(a)}")
              for h, c, n, d, a in zip(rng.integers(0, 2000, 150), rng.integers(0, 2, 150), rng.integers(1, 500, 150),
                                        rng.choice([0, 5, 10], 150), rng.integers(1, 3, 150), strict=True)]
    offers = np.array(["fw", "fs", None], dtype=object)
    touches = [{"account_id": f"a{int(a)}", "touched_at": T0 + pd.Timedelta(hours=int(h)), "channel": "email",
                "offer_id": offers[int(o)]}
               for h, o, a in zip(rng.integers(0, 2000, 60), rng.integers(0, 3, 60), rng.integers(1, 3, 60), strict=True)]
    ds = _ds(orders, touches)
    labels = label_touches(ds)
    rates = ds.category_margin_rates()
    offer_rate = ds.offers.set_index("offer_id")["margin_rate"]
    o = ds.orders
    for _, row in labels.iterrows():
        hit = o.loc[(o["account_id"] == row["account_id"]) & (o["ordered_at"] > row["touched_at"])
                    & (o["ordered_at"] <= row["touched_at"] + W)]
        if pd.notna(row["category"]):
            hit = hit.loc[hit["product_category"] == row["category"]]
            rate = float(offer_rate[row["offer_id"]])
        else:
            rate = hit["product_category"].map(rates).astype(float)
        d = hit["discount_pct"] / 100
        assert row["n_lines"] == len(hit)
        assert row["margin"] == pytest.approx(float((hit["net_amount"] * (rate - d) / (1 - d)).sum()), abs=1e-9)


def test_outcomes_of_a_few_accounts_equal_those_asked_with_every_account() -> None:
    """Queries naming few accounts read only those accounts' order lines; the outcomes do not change."""
    rng = np.random.default_rng(2)
    orders = [_order(T0 + int(d) * pd.Timedelta(days=1), category=str(c), net=float(v), discount=float(k),
                     account=f"a{int(a)}")
              for a, d, c, v, k in zip(rng.integers(0, 4, 80), rng.integers(-60, 60, 80),
                                       rng.choice(["Werkzeuge", "Schrauben", "Lager"], 80), rng.integers(1, 300, 80),
                                       rng.choice([0.0, 10.0], 80), strict=True)]
    ds = _ds(orders, [])
    everyone = pd.DataFrame({"account_id": [f"a{i % 4}" for i in range(12)],
                             "at": [T0 + (i - 6) * pd.Timedelta(days=7) for i in range(12)],
                             "category": pd.Series([[None, "Werkzeuge", "Lager"][i % 3] for i in range(12)],
                                                   dtype="str")})
    few = everyone[everyone["account_id"] == "a1"]
    pd.testing.assert_frame_equal(window_outcomes(ds, few), window_outcomes(ds, everyone).loc[few.index],
                                  check_exact=True)
