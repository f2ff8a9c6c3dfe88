"""As-of feature building: one row of declared features per (account, at, category) query.

Every value is computed only from rows with a timestamp strictly before the query's ``at``.
Event tables are indexed once per build (:class:`features.windows.EventIndex`) and all queries
are answered together, so the cost grows like O((N + Q) log N), not with a loop over queries.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import pandas as pd

from features.dataset import Dataset, restrict_accounts
from features.definitions import FeatureSpec, feature_specs
from features.policy import NONE_CHANNEL
from features.windows import (
    AsOfWindows,
    EventIndex,
    QueryClock,
    Timeline,
    codes_in,
    combine_codes,
    days_to_us,
    lookup,
    to_us,
)

QUERY_COLUMNS = ("account_id", "at", "category")
#: Queries answered together: their window positions are held in memory at once.
QUERY_CHUNK = 250_000
#: Largest share of the accounts that queries may name for the events of the others to be left out.
SUBSET_SHARE = 0.5


def _unique_strings(*columns: pd.Series) -> list[str]:
    """Distinct non-missing values of several columns, as sorted strings."""
    values = [pd.unique(c.dropna()) for c in columns if len(c)]
    if not values:
        return []
    return sorted({str(v) for v in pd.unique(np.concatenate(values))})


class _Events:
    """Vocabularies, coded event tables and event indexes of one build, shared by all query chunks."""

    def __init__(self, dataset: Dataset, query_categories: pd.Series) -> None:
        self.dataset = dataset
        self.accounts = pd.Index(dataset.accounts["account_id"])
        if not self.accounts.is_unique:
            raise ValueError("build_features: accounts.account_id must be unique")
        web = dataset.web_events
        web_cats = web["product_category"] if "product_category" in web else pd.Series([], dtype="str")
        self.categories = pd.Index(_unique_strings(dataset.offers["product_category"],
                                                   dataset.orders["product_category"], web_cats, query_categories))

    @property
    def n_acc(self) -> int:
        return len(self.accounts)

    @property
    def n_cat(self) -> int:
        return len(self.categories)

    def acc_cat(self, acc: np.ndarray, cat: np.ndarray) -> np.ndarray:
        return combine_codes([acc, cat], [self.n_acc, self.n_cat])

    # -- event tables, coded once ----------------------------------------------------------------

    @cached_property
    def orders(self) -> pd.DataFrame:
        orders = self.dataset.orders
        disc = orders["discount_pct"].to_numpy(dtype=np.float64, na_value=0.0)
        net = orders["net_amount"].to_numpy(dtype=np.float64, na_value=0.0)
        return pd.DataFrame({
            "acc": codes_in(orders["account_id"], self.accounts),
            "cat": codes_in(orders["product_category"], self.categories),
            "order": pd.factorize(orders["order_id"])[0],
            "time": to_us(orders["ordered_at"]) if len(orders) else np.zeros(0, dtype=np.int64),
            "net": net,
            "online_net": np.where((orders["channel"] == "online").to_numpy(dtype=bool, na_value=False), net, 0.0),
            "discount": disc,
            "discounted": (disc > 0).astype(np.float64),
            "discounted_net": np.where(disc > 0, net, 0.0),
        })

    @cached_property
    def order_timeline(self) -> Timeline:
        return Timeline(self.orders["time"].to_numpy())

    @cached_property
    def _order_heads(self) -> np.ndarray:
        """Rows that are the first line of their (account, order, time)."""
        return ~self.orders.duplicated(["acc", "order", "time"]).to_numpy()

    @cached_property
    def _category_order_heads(self) -> np.ndarray:
        return ~self.orders.duplicated(["acc", "cat", "order", "time"]).to_numpy()

    @cached_property
    def touches(self) -> pd.DataFrame:
        t = self.dataset.touches
        t = t.loc[(t["channel"] != NONE_CHANNEL).to_numpy(dtype=bool, na_value=True)]
        offer_category = pd.Series(self.dataset.offers["product_category"].to_numpy(),
                                   index=pd.Index(self.dataset.offers["offer_id"]))
        category = lookup(t["offer_id"], offer_category, None)
        discount = t["discount_pct"].to_numpy(dtype=np.float64, na_value=0.0) if "discount_pct" in t \
            else np.zeros(len(t))
        return pd.DataFrame({
            "acc": codes_in(t["account_id"], self.accounts),
            "ch": codes_in(t["channel"], self.channels),
            "cat": codes_in(category, self.categories),
            "time": to_us(t["touched_at"]) if len(t) else np.zeros(0, dtype=np.int64),
            "discounted": (discount > 0) & t["offer_id"].notna().to_numpy(),
        })

    @cached_property
    def channels(self) -> pd.Index:
        return pd.Index(_unique_strings(self.dataset.touches["channel"]))

    @cached_property
    def touch_timeline(self) -> Timeline:
        return Timeline(self.touches["time"].to_numpy())

    @cached_property
    def web(self) -> pd.DataFrame:
        w = self.dataset.web_events
        cats = w["product_category"] if "product_category" in w else pd.Series(pd.NA, index=w.index)
        return pd.DataFrame({
            "acc": codes_in(w["account_id"], self.accounts),
            "cat": codes_in(cats, self.categories),
            "type": codes_in(w["event_type"], self.event_types),
            "time": to_us(w["occurred_at"]) if len(w) else np.zeros(0, dtype=np.int64),
        })

    @cached_property
    def event_types(self) -> pd.Index:
        return pd.Index(_unique_strings(self.dataset.web_events["event_type"]))

    @cached_property
    def web_timeline(self) -> Timeline:
        return Timeline(self.web["time"].to_numpy())

    # -- event indexes ---------------------------------------------------------------------------

    def _order_index(self, keys: np.ndarray, values: tuple[str, ...] = (),
                     rows: np.ndarray | None = None) -> EventIndex:
        o = self.orders
        if rows is not None:
            keys = np.where(rows, keys, -1)
        return EventIndex(keys, self.order_timeline.times, {c: o[c].to_numpy() for c in values},
                          self.order_timeline)

    @cached_property
    def order_lines(self) -> EventIndex:
        return self._order_index(self.orders["acc"].to_numpy(),
                                 ("net", "online_net", "discount", "discounted", "discounted_net"))

    @cached_property
    def order_events(self) -> EventIndex:
        return self._order_index(self.orders["acc"].to_numpy(), rows=self._order_heads)

    @cached_property
    def category_lines(self) -> EventIndex:
        keys = self.acc_cat(self.orders["acc"].to_numpy(), self.orders["cat"].to_numpy())
        return self._order_index(keys, ("net", "discount"))

    @cached_property
    def category_order_events(self) -> EventIndex:
        keys = self.acc_cat(self.orders["acc"].to_numpy(), self.orders["cat"].to_numpy())
        return self._order_index(keys, rows=self._category_order_heads)

    def acc_channel(self, acc: np.ndarray, ch: np.ndarray) -> np.ndarray:
        return combine_codes([acc, ch], [self.n_acc, len(self.channels)])

    @cached_property
    def touches_by_channel(self) -> EventIndex:
        t = self.touches
        return EventIndex(self.acc_channel(t["acc"].to_numpy(), t["ch"].to_numpy()), self.touch_timeline.times,
                          timeline=self.touch_timeline)

    @cached_property
    def _touch_outcomes(self) -> tuple[np.ndarray, np.ndarray]:
        """(end of each touch's attribution window, 1.0 when an order of its category — any
        category for a generic contact — followed within the window)."""
        t = self.touches
        acc, cat, time = t["acc"].to_numpy(), t["cat"].to_numpy(), t["time"].to_numpy()
        window_end = time + days_to_us(self.dataset.policy.attribution_window_days)
        generic = cat < 0
        converted = np.zeros(len(t))
        if generic.any():
            converted[generic] = self.order_lines.count(acc[generic], time[generic], window_end[generic], "right")
        if (~generic).any():
            keys = self.acc_cat(acc[~generic], cat[~generic])
            converted[~generic] = self.category_lines.count(keys, time[~generic], window_end[~generic], "right")
        return window_end, (converted > 0).astype(np.float64)

    @cached_property
    def judged_touches(self) -> EventIndex:
        """Touches keyed by account × channel at the END of their attribution window, valued by
        conversion: counting those with window end < at reads only orders before at."""
        t = self.touches
        window_end, converted = self._touch_outcomes
        return EventIndex(self.acc_channel(t["acc"].to_numpy(), t["ch"].to_numpy()), window_end,
                          {"converted": converted})

    @cached_property
    def judged_offer_touches(self) -> EventIndex:
        """Touches with an offer keyed by account × (0 = at list price, 1 = discounted) at the end of
        their attribution window, valued by conversion; generic contacts are left out."""
        t = self.touches
        window_end, converted = self._touch_outcomes
        offer = t["cat"].to_numpy() >= 0
        keys = combine_codes([t["acc"].to_numpy()[offer], t["discounted"].to_numpy()[offer].astype(np.int64)],
                             [self.n_acc, 2])
        return EventIndex(keys, window_end[offer], {"converted": converted[offer]})

    @cached_property
    def touches_by_category(self) -> EventIndex:
        t = self.touches
        return EventIndex(self.acc_cat(t["acc"].to_numpy(), t["cat"].to_numpy()), self.touch_timeline.times,
                          timeline=self.touch_timeline)

    def _web_index(self, keys: np.ndarray) -> EventIndex:
        return EventIndex(keys, self.web_timeline.times, timeline=self.web_timeline)

    @cached_property
    def web_by_account(self) -> EventIndex:
        return self._web_index(self.web["acc"].to_numpy())

    @cached_property
    def web_by_type(self) -> EventIndex:
        w = self.web
        return self._web_index(combine_codes([w["acc"].to_numpy(), w["type"].to_numpy()],
                                             [self.n_acc, len(self.event_types)]))

    @cached_property
    def web_by_category(self) -> EventIndex:
        return self._web_index(self.acc_cat(self.web["acc"].to_numpy(), self.web["cat"].to_numpy()))

    @cached_property
    def web_by_category_type(self) -> EventIndex:
        w = self.web
        return self._web_index(combine_codes([w["acc"].to_numpy(), w["cat"].to_numpy(), w["type"].to_numpy()],
                                             [self.n_acc, self.n_cat, len(self.event_types)]))


class _Context:
    """One chunk of queries, in (account, category, at) order, and its window views over the
    build's event indexes (:class:`_Events`)."""

    def __init__(self, events: _Events, q_acc: np.ndarray, q_cat: np.ndarray, at: np.ndarray,
                 has_category: np.ndarray) -> None:
        self.events = events
        self.dataset = events.dataset
        self.q_acc, self.q_cat, self.at, self.has_category = q_acc, q_cat, at, has_category
        self._views: dict[tuple, AsOfWindows] = {}
        self._clocks: dict[int, QueryClock] = {}

    @property
    def n_cat(self) -> int:
        return self.events.n_cat

    def acc_cat(self, acc: np.ndarray, cat: np.ndarray) -> np.ndarray:
        return self.events.acc_cat(acc, cat)

    # -- query views ---------------------------------------------------------------------------

    def view(self, index_name: str, key: str | None = None) -> AsOfWindows:
        """Windows of one index for all queries, keyed by the query's account and (depending on
        the index) category, channel ``key`` or event type ``key``."""
        cache_key = (index_name, key)
        if cache_key not in self._views:
            index: EventIndex = getattr(self.events, index_name)
            self._views[cache_key] = AsOfWindows(index, self._query_keys(index_name, key), self.clock(index))
        return self._views[cache_key]

    def clock(self, index: EventIndex) -> QueryClock:
        """The query times ranked on the index's timeline (shared by indexes of one table)."""
        timeline = index.timeline
        if id(timeline) not in self._clocks:
            self._clocks[id(timeline)] = QueryClock(timeline, self.at)
        return self._clocks[id(timeline)]

    def _query_keys(self, index_name: str, key: str | None) -> np.ndarray:
        n, e = len(self.q_acc), self.events
        if index_name in ("order_lines", "order_events", "web_by_account"):
            return self.q_acc
        if index_name in ("category_lines", "category_order_events", "touches_by_category", "web_by_category"):
            return self.acc_cat(self.q_acc, self.q_cat)
        if index_name in ("touches_by_channel", "judged_touches"):
            code = e.channels.get_indexer([key])[0]
            return e.acc_channel(self.q_acc, np.full(n, code))
        if index_name == "judged_offer_touches":
            return combine_codes([self.q_acc, np.full(n, int(key == "discounted"))], [e.n_acc, 2])
        code = e.event_types.get_indexer([key])[0]
        if index_name == "web_by_type":
            return combine_codes([self.q_acc, np.full(n, code)], [e.n_acc, len(e.event_types)])
        if index_name == "web_by_category_type":
            return combine_codes([self.q_acc, self.q_cat, np.full(n, code)],
                                 [e.n_acc, e.n_cat, len(e.event_types)])
        raise ValueError(f"unknown event index {index_name!r}")



def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _offer_response_rate(c: _Context, discounted: bool) -> np.ndarray:
    view = c.view("judged_offer_touches", "discounted" if discounted else "list_price")
    return _ratio(view.sum("converted"), view.count())


def _window(spec: FeatureSpec) -> int:
    if spec.window_days is None:
        raise ValueError(f"feature {spec.name!r} (kind {spec.kind!r}) needs window_days")
    return spec.window_days


def _online_share_change(c: _Context, s: FeatureSpec) -> np.ndarray:
    v, w = c.view("order_lines"), _window(s)
    recent = _ratio(v.sum("online_net", w), v.sum("net", w))
    before = _ratio(v.sum("online_net", 365, w), v.sum("net", 365, w))
    return 100.0 * (recent - before)


def _revenue_trend(c: _Context, s: FeatureSpec) -> np.ndarray:
    v, w = c.view("order_lines"), _window(s)
    return np.log1p(np.maximum(v.sum("net", w), 0.0)) - np.log1p(np.maximum(v.sum("net", 2 * w, w), 0.0))


def _category_count(c: _Context, s: FeatureSpec) -> np.ndarray:
    """Distinct categories with an order line in the window (a loop over the few categories)."""
    w, total = _window(s), np.zeros(len(c.q_acc))
    for code in range(c.n_cat):
        keys = c.acc_cat(c.q_acc, np.full(len(c.q_acc), code))
        total += AsOfWindows(c.events.category_lines, keys, c.clock(c.events.category_lines)).count(w) > 0
    return total


def _attribute(c: _Context, s: FeatureSpec) -> np.ndarray:
    accounts = c.dataset.accounts
    column = accounts[s.key] if s.key in accounts else pd.Series(np.nan, index=accounts.index, dtype=object)
    if s.dtype == "numeric":
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return values[c.q_acc]
    return column.to_numpy(dtype=object)[c.q_acc]


_Compute = Callable[[_Context, FeatureSpec], np.ndarray]
KINDS: dict[str, _Compute] = {
    "order_count": lambda c, s: c.view("order_events").count(_window(s)),
    "revenue": lambda c, s: c.view("order_lines").sum("net", _window(s)),
    "days_since_order": lambda c, s: c.view("order_events").days_since_last(),
    "tenure_days": lambda c, s: c.view("order_events").days_since_first(),
    "online_share": lambda c, s: _ratio(c.view("order_lines").sum("online_net", _window(s)),
                                        c.view("order_lines").sum("net", _window(s))),
    "online_share_change": _online_share_change,
    "revenue_trend": _revenue_trend,
    "mean_discount": lambda c, s: _ratio(c.view("order_lines").sum("discount", _window(s)),
                                         c.view("order_lines").count(_window(s))),
    "discounted_share": lambda c, s: _ratio(c.view("order_lines").sum("discounted", _window(s)),
                                            c.view("order_lines").count(_window(s))),
    "discounted_revenue_share": lambda c, s: _ratio(c.view("order_lines").sum("discounted_net", _window(s)),
                                                    c.view("order_lines").sum("net", _window(s))),
    "discount_touches_judged": lambda c, s: c.view("judged_offer_touches", "discounted").count(),
    "discount_response_rate": lambda c, s: _offer_response_rate(c, s.key == "discounted"),
    "discount_response_gain": lambda c, s: _offer_response_rate(c, True) - _offer_response_rate(c, False),
    "category_count": _category_count,
    "touch_count": lambda c, s: c.view("touches_by_channel", s.key).count(_window(s)),
    "days_since_touch": lambda c, s: c.view("touches_by_channel", s.key).days_since_last(),
    "touches_judged": lambda c, s: c.view("judged_touches", s.key).count(),
    "responses": lambda c, s: c.view("judged_touches", s.key).sum("converted"),
    "response_rate": lambda c, s: _ratio(c.view("judged_touches", s.key).sum("converted"),
                                         c.view("judged_touches", s.key).count()),
    "web_count": lambda c, s: c.view("web_by_type", s.key).count(_window(s)),
    "days_since_web": lambda c, s: c.view("web_by_account").days_since_last(),
    "attribute": _attribute,
    "cat_order_count": lambda c, s: c.view("category_order_events").count(_window(s)),
    "cat_revenue": lambda c, s: c.view("category_lines").sum("net", _window(s)),
    "cat_days_since_order": lambda c, s: c.view("category_order_events").days_since_last(),
    "cat_revenue_share": lambda c, s: _ratio(c.view("category_lines").sum("net", _window(s)),
                                             c.view("order_lines").sum("net", _window(s))),
    "cat_web_count": lambda c, s: c.view("web_by_category" if s.key is None else "web_by_category_type",
                                         s.key).count(_window(s)),
    "cat_touch_count": lambda c, s: c.view("touches_by_category").count(_window(s)),
    "cat_mean_discount": lambda c, s: _ratio(c.view("category_lines").sum("discount", _window(s)),
                                             c.view("category_lines").count(_window(s))),
}
#: Kinds whose value depends on the query's category; all others read only its account and time.
CATEGORY_KINDS = frozenset({"cat_order_count", "cat_revenue", "cat_days_since_order", "cat_revenue_share",
                            "cat_web_count", "cat_touch_count", "cat_mean_discount"})


def build_features(dataset: Dataset, queries: pd.DataFrame, specs: list[FeatureSpec] | None = None,
                   numeric_dtype: type[np.floating] = np.float64) -> pd.DataFrame:
    """Feature frame for ``queries`` (columns ``account_id``, ``at``, optional ``category``).

    Same index and order as ``queries``; one column per account- or category-scope spec
    (default: :func:`features.definitions.feature_specs`), numeric as float64 (``numeric_dtype``:
    the float64 values rounded, e.g. float32 to halve the memory) and categorical as ``str`` with
    NA. Only rows with a timestamp strictly before each query's ``at`` are read.
    Category features are NaN for queries without a category. Channels, event types or account
    columns that a stored spec names but the data lacks give 0 counts and NaN values.
    """
    specs = feature_specs(dataset) if specs is None else specs
    specs = [s for s in specs if s.scope in ("account", "category")]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"build_features: feature names must be unique; repeated: {dupes}")
    unknown = [f"{s.name} (kind {s.kind!r})" for s in specs if s.kind not in KINDS]
    if unknown:
        raise ValueError(f"build_features: no computation for features {', '.join(unknown[:5])}; "
                         f"known kinds: {', '.join(KINDS)}")
    return _assemble(specs, _computed_columns(dataset, queries, specs, numeric_dtype), numeric_dtype, queries.index)


def _queried_accounts_only(dataset: Dataset, queries: pd.DataFrame) -> Dataset:
    """``dataset`` with only the accounts the queries name, when that is at most
    :data:`SUBSET_SHARE` of them: an account's features read its own events only, so indexing the
    others' would cost time and memory for nothing (a channel, event type or category that only
    other accounts have gives the same 0 counts and NaN values as one the account never had)."""
    named = pd.unique(queries["account_id"].dropna())
    if len(named) > SUBSET_SHARE * len(dataset.accounts):
        return dataset
    known = dataset.accounts["account_id"].isin(named).to_numpy(dtype=bool, na_value=False)
    if int(known.sum()) < len(named):  # unknown accounts: the full table reports them
        return dataset
    return restrict_accounts(dataset, named)


def _coded_queries(events: _Events, queries: pd.DataFrame, category: pd.Series
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(account code, category code, at in µs, has a category) of every query."""
    q_acc = codes_in(queries["account_id"], events.accounts)
    if (q_acc < 0).any():
        unknown = queries["account_id"].to_numpy(dtype=object)[q_acc < 0][:5].tolist()
        raise ValueError(f"build_features: queries name accounts not in the accounts table: {unknown}")
    at = to_us(queries["at"]) if len(queries) else np.zeros(0, dtype=np.int64)
    return q_acc, codes_in(category, events.categories), at, category.notna().to_numpy()


def _computed_columns(dataset: Dataset, queries: pd.DataFrame, specs: list[FeatureSpec],
                      numeric_dtype: type[np.floating]) -> dict[str, np.ndarray]:
    """Every spec's values in the queries' order, computed chunk by chunk of :data:`QUERY_CHUNK`
    queries over event indexes built once (the window views of one chunk are freed before the next).

    Account-scope features whose kind does not read the query's category (all but
    :data:`CATEGORY_KINDS`) are computed once per distinct (account, at) and copied to that pair's
    queries: a snapshot asks for every account once per category. Each query's value is computed on
    its own, so this gives the values a query-by-query computation gives, bit for bit."""
    missing = [c for c in ("account_id", "at") if c not in queries.columns]
    if missing:
        raise ValueError(f"build_features: queries lack columns {missing}; expected {list(QUERY_COLUMNS)}")
    category = queries["category"] if "category" in queries else pd.Series(pd.NA, index=queries.index)
    events = _Events(_queried_accounts_only(dataset, queries), category)
    q_acc, q_cat, at, has_category = _coded_queries(events, queries, category)
    columns = {s.name: np.empty(len(q_acc), dtype=numeric_dtype if s.dtype == "numeric" else object) for s in specs}
    once = [s.scope == "account" and s.kind not in CATEGORY_KINDS for s in specs]
    per_account = [s for s, o in zip(specs, once, strict=True) if o]
    per_query = [s for s, o in zip(specs, once, strict=True) if not o]
    if per_query:
        # Work in (account, category, at) order: binary searches on sorted probes are cache-friendly.
        _compute_into(columns, per_query, events, np.lexsort((at, q_cat, q_acc)), q_acc, q_cat, at, has_category)
    if per_account:
        order = np.lexsort((at, q_acc))
        first = np.r_[True, (q_acc[order][1:] != q_acc[order][:-1]) | (at[order][1:] != at[order][:-1])] \
            if len(order) else np.zeros(0, dtype=bool)
        distinct = order[first]  # one query per (account, at), in (account, at) order
        values = {s.name: np.empty(len(distinct), dtype=columns[s.name].dtype) for s in per_account}
        _compute_into(values, per_account, events, np.arange(len(distinct)), q_acc[distinct], q_cat[distinct],
                      at[distinct], has_category[distinct])
        group = np.cumsum(first) - 1  # each sorted query's distinct (account, at)
        for name, vals in values.items():
            columns[name][order] = vals[group]
    return columns


def _compute_into(columns: dict[str, np.ndarray], specs: list[FeatureSpec], events: _Events, perm: np.ndarray,
                  q_acc: np.ndarray, q_cat: np.ndarray, at: np.ndarray, has_category: np.ndarray) -> None:
    """Write the values of ``specs`` for the queries ``perm`` (in that order, :data:`QUERY_CHUNK` at a time)
    into ``columns`` at the queries' positions."""
    for start in range(0, len(perm), QUERY_CHUNK):
        rows = perm[start:start + QUERY_CHUNK]
        context = _Context(events, q_acc[rows], q_cat[rows], at[rows], has_category[rows])
        for spec in specs:
            values = KINDS[str(spec.kind)](context, spec)
            if spec.dtype == "numeric":
                values = np.asarray(values, dtype=np.float64)
                if spec.scope == "category":
                    values = np.where(context.has_category, values, np.nan)
            columns[spec.name][rows] = values


def _assemble(specs: list[FeatureSpec], columns: dict[str, np.ndarray], numeric_dtype: type[np.floating],
              index: pd.Index) -> pd.DataFrame:
    """The feature frame: numeric columns in one block (not copied again), categorical ones as ``str``."""
    numeric = [s.name for s in specs if s.dtype == "numeric"]
    block = np.empty((len(numeric), len(index)), dtype=numeric_dtype)
    for j, name in enumerate(numeric):
        block[j] = columns.pop(name)
    out = pd.DataFrame(block.T, index=index, columns=numeric, copy=False)
    for position, spec in enumerate(specs):
        if spec.dtype == "categorical":
            out.insert(position, spec.name, pd.Series(columns.pop(spec.name), index=index).astype("str"))
    return out
