"""Feature declarations: every model feature is declared here as code, with its meaning.

A :class:`FeatureSpec` names a column, its type, what it is about (the account, the category a
query asks about, or the action), a one-line description, its window and a plain-language
reason template, so the sentence shown to a rep comes from the same declaration that builds the
column. ``kind`` and ``key`` say how :mod:`features.builder` computes it (e.g. kind
``touch_count`` with key ``phone`` and a 30-day window), so a stored spec list rebuilds exactly
the same columns on new data.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from string import Formatter
from typing import Any, Literal

import pandas as pd

from features import reason_texts
from features.dataset import Dataset
from features.reason_texts import Reason, feature_template

FeatureDtype = Literal["numeric", "categorical"]
FeatureScope = Literal["account", "category", "action"]
ReasonWhen = Literal["positive", "negative", "always", "never"]
SPEC_FORMAT = "symbiose.feature_specs"
SPEC_FORMAT_VERSION = 1
N_WEB_EVENT_TYPES = 8
FIRMOGRAPHICS: dict[str, FeatureDtype] = {"employees": "numeric", "industry": "categorical", "region": "categorical",
                 "country": "categorical"}


@dataclass(frozen=True)
class FeatureSpec:
    """One declared feature.

    ``reason`` is a template with ``{value}`` and ``{category}`` fields; ``reason_when`` says for
    which values it is a true statement worth showing: ``positive`` (> 0), ``negative`` (< 0),
    ``always`` (any known value) or ``never``. ``kind`` names the computation in
    ``features.builder.KINDS`` and ``key`` its parameter (a channel, an event type, an account
    column); action-scope specs are built by the models and need neither.
    """

    name: str
    dtype: FeatureDtype
    scope: FeatureScope
    description: str
    window_days: int | None = None
    reason: str | None = None
    reason_when: ReasonWhen = "positive"
    kind: str | None = None
    key: str | None = None


def _web_reason(event_type: str, days: int) -> str:
    key = f"web_count:{event_type}"
    if key in reason_texts.FEATURE_TEXTS:
        return feature_template(key, days=days)
    return feature_template("web_count", days=days, event=event_type)


def account_specs() -> list[FeatureSpec]:
    """Account-scope features about orders and revenue."""
    specs = []
    for w in (30, 90, 365):
        specs.append(FeatureSpec(f"orders_{w}d", "numeric", "account", f"number of orders in the last {w} days",
                                 w, feature_template("order_count", days=w), kind="order_count"))
    for w in (30, 90, 365):
        specs.append(FeatureSpec(f"revenue_{w}d", "numeric", "account", f"net revenue in the last {w} days",
                                 w, feature_template("revenue", days=w), kind="revenue"))
    return [
        *specs,
        FeatureSpec("days_since_last_order", "numeric", "account", "days since the last order (NaN: never ordered)",
                    None, feature_template("days_since_order"), "positive", kind="days_since_order"),
        FeatureSpec("tenure_days", "numeric", "account", "days since the first order",
                    None, feature_template("tenure_days"), "never", kind="tenure_days"),
        FeatureSpec("online_share_90d", "numeric", "account", "online share of net revenue, last 90 days",
                    90, feature_template("online_share", days=90), kind="online_share"),
        FeatureSpec("online_share_365d", "numeric", "account", "online share of net revenue, last 365 days",
                    365, feature_template("online_share", days=365), kind="online_share"),
        FeatureSpec("online_share_change_90d", "numeric", "account",
                    "online share of revenue in the last 90 days minus that of the 275 days before, in points",
                    90, feature_template("online_share_change", days=90),
                    kind="online_share_change"),
        FeatureSpec("revenue_trend_90d", "numeric", "account",
                    "log(1 + revenue of the last 90 days) - log(1 + revenue of the 90 days before)",
                    90, feature_template("revenue_trend", days=90), kind="revenue_trend"),
        FeatureSpec("mean_discount_365d", "numeric", "account", "mean discount of order lines in percent, last 365 days",
                    365, feature_template("mean_discount", days=365), kind="mean_discount"),
        FeatureSpec("discounted_share_365d", "numeric", "account", "share of order lines with a discount, last 365 days",
                    365, feature_template("discounted_share", days=365), kind="discounted_share"),
        FeatureSpec("discounted_revenue_share_365d", "numeric", "account",
                    "share of net revenue bought at a discount (e.g. in promotions), last 365 days",
                    365, feature_template("discounted_revenue_share", days=365), kind="discounted_revenue_share"),
        FeatureSpec("discount_touches_judged", "numeric", "account",
                    "discounted offers sent whose attribution window ended before the as-of time",
                    None, None, "never", kind="discount_touches_judged"),
        FeatureSpec("discount_response_rate", "numeric", "account",
                    "share of judged discounted offers followed by an order of the offer's category (NaN: none)",
                    None, feature_template("discount_response_rate"), kind="discount_response_rate", key="discounted"),
        FeatureSpec("list_price_response_rate", "numeric", "account",
                    "share of judged offers at list price followed by an order of the offer's category (NaN: none)",
                    None, None, "never", kind="discount_response_rate", key="list_price"),
        FeatureSpec("discount_response_gain", "numeric", "account",
                    "response rate to discounted offers minus that to offers at list price, in share points "
                    "(NaN unless both were judged)",
                    None, feature_template("discount_response_gain"), kind="discount_response_gain"),
        FeatureSpec("categories_365d", "numeric", "account", "distinct product categories bought, last 365 days",
                    365, feature_template("category_count", days=365), kind="category_count"),
    ]


def channel_specs(channel: str) -> list[FeatureSpec]:
    """Contact history of one outreach channel."""
    specs = [FeatureSpec(f"touches_{w}d__{channel}", "numeric", "account", f"{channel} touches in the last {w} days",
                         w, feature_template("touch_count", days=w, channel=channel), kind="touch_count",
                         key=channel)
             for w in (30, 90, 365)]
    return [
        *specs,
        FeatureSpec(f"days_since_touch__{channel}", "numeric", "account", f"days since the last {channel} touch",
                    None, feature_template("days_since_touch", channel=channel), "never", kind="days_since_touch", key=channel),
        FeatureSpec(f"touches_judged__{channel}", "numeric", "account",
                    f"{channel} touches whose attribution window ended before the as-of time",
                    None, None, "never", kind="touches_judged", key=channel),
        FeatureSpec(f"responses__{channel}", "numeric", "account",
                    f"{channel} touches followed by an order of the offer's category within the window",
                    None, feature_template("responses", channel=channel), kind="responses", key=channel),
        FeatureSpec(f"response_rate__{channel}", "numeric", "account",
                    f"share of judged {channel} touches followed by an order (NaN: none judged)",
                    None, feature_template("response_rate", channel=channel), kind="response_rate", key=channel),
    ]


def web_specs(event_types: list[str]) -> list[FeatureSpec]:
    """Web activity per event type, and recency of any web activity."""
    specs = [FeatureSpec(f"web_{w}d__{t}", "numeric", "account", f"web events of type {t!r} in the last {w} days",
                         w, _web_reason(t, w), kind="web_count", key=t)
             for t in event_types for w in (7, 30, 90)]
    specs.append(FeatureSpec("days_since_web_event", "numeric", "account", "days since the last web event",
                             None, feature_template("days_since_web"), "never", kind="days_since_web"))
    return specs


def attribute_specs(dataset: Dataset) -> list[FeatureSpec]:
    """Firmographics and every extra account column (numbers numeric, anything else categorical)."""
    specs = [FeatureSpec(col, dtype, "account", f"account attribute {col}", reason_when="never",
                         kind="attribute", key=col)
             for col, dtype in FIRMOGRAPHICS.items()]
    for col in dataset.extra_account_columns:
        series = dataset.accounts[col]
        numeric = pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
        specs.append(FeatureSpec(f"attr__{col}", "numeric" if numeric else "categorical", "account",
                                 f"extra account attribute {col}", reason_when="never", kind="attribute", key=col))
    return specs


def category_specs(event_types: list[str]) -> list[FeatureSpec]:
    """Features about the category a query asks about (NaN for queries without a category)."""
    specs = []
    for w in (90, 365):
        specs.append(FeatureSpec(f"cat_orders_{w}d", "numeric", "category", f"orders of the category in the last {w} days",
                                 w, feature_template("cat_order_count", days=w), kind="cat_order_count"))
        specs.append(FeatureSpec(f"cat_revenue_{w}d", "numeric", "category", f"net revenue of the category, last {w} days",
                                 w, feature_template("cat_revenue", days=w), kind="cat_revenue"))
    specs += [
        FeatureSpec("cat_days_since_last_order", "numeric", "category", "days since the last order of the category",
                    None, feature_template("cat_days_since_order"), kind="cat_days_since_order"),
        FeatureSpec("cat_revenue_share_365d", "numeric", "category", "category share of net revenue, last 365 days",
                    365, feature_template("cat_revenue_share", days=365), kind="cat_revenue_share"),
    ]
    for w in (7, 30):
        specs.append(FeatureSpec(f"cat_web_{w}d", "numeric", "category", f"web events on the category, last {w} days",
                                 w, feature_template("cat_web_count", days=w),
                                 kind="cat_web_count"))
    for t in ("product_view", "cart"):
        if t in event_types:
            specs += [FeatureSpec(f"cat_web_{w}d__{t}", "numeric", "category",
                                  f"web events of type {t!r} on the category, last {w} days",
                                  w, feature_template(f"cat_web_count:{t}", days=w), kind="cat_web_count", key=t)
                      for w in (7, 30)]
    for w in (90, 365):
        specs.append(FeatureSpec(f"cat_touches_{w}d", "numeric", "category",
                                 f"touches with offers of the category, last {w} days",
                                 w, feature_template("cat_touch_count", days=w),
                                 kind="cat_touch_count"))
    specs.append(FeatureSpec("cat_mean_discount_365d", "numeric", "category",
                             "mean discount on the category's order lines in percent, last 365 days",
                             365, feature_template("cat_mean_discount", days=365),
                             kind="cat_mean_discount"))
    return specs


def top_event_types(dataset: Dataset, n: int = N_WEB_EVENT_TYPES) -> list[str]:
    """The ``n`` most frequent web event types (ties by name)."""
    counts = dataset.web_events["event_type"].dropna().astype(str).value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [name for name, _ in ranked[:n]]


def feature_specs(dataset: Dataset) -> list[FeatureSpec]:
    """The full feature list for ``dataset``: templates expanded over the policy's channels, the
    most frequent web event types and the account table's extra columns."""
    event_types = top_event_types(dataset)
    specs = account_specs()
    for channel in dataset.policy.channel_names:
        specs += channel_specs(channel)
    specs += web_specs(event_types) + attribute_specs(dataset) + category_specs(event_types)
    return specs


def format_money(amount: float, currency: str = "EUR") -> str:
    """An amount as people read it: "€1,240", "-€38", "€0.40", "1,240 PLN"."""
    return reason_texts.format_money(amount, currency, "en")


def render_reason(spec: FeatureSpec, value: Any, category: str | None = None,
                  currency: str = "EUR") -> str | None:
    """The spec's reason as a sentence for this value, or None when there is nothing true to say.

    Missing values, values outside ``reason_when``, values that would print as zero ("0% of
    revenue") and templates that need a category when none is given render as None.
    ``{money}`` in a template is the value as an amount in ``currency``.
    "1 times" reads "1 time".
    """
    checked = _reason_value(spec, value, category)
    if checked is None:
        return None
    value = checked
    money = format_money(value, currency) if isinstance(value, float) else value
    text = spec.reason.format(value=value, category=category, money=money)  # type: ignore[union-attr]
    return reason_texts.english_singular(text)


def reason_key(spec: FeatureSpec) -> str | None:
    """The key of the spec's sentence in ``features.reason_texts`` (None: no catalogued wording)."""
    if spec.kind is None:
        return None
    typed = f"{spec.kind}:{spec.key}"
    if spec.key is not None and typed in reason_texts.FEATURE_TEXTS:
        return typed
    return spec.kind if spec.kind in reason_texts.FEATURE_TEXTS else None


def _template_args(spec: FeatureSpec, key: str) -> dict[str, Any]:
    """What of the declaration a catalogued template needs: window, channel, event type."""
    english = reason_texts.FEATURE_TEXTS[key]["en"]
    args: dict[str, Any] = {}
    if spec.window_days is not None:
        args["days"] = spec.window_days
    if spec.key is not None and ("{one}" in english or "{many}" in english):
        args["channel"] = spec.key
    if spec.key is not None and "{event}" in english:
        args["event"] = spec.key
    return args


def spec_reason(spec: FeatureSpec, value: Any, category: str | None = None,
                currency: str = "EUR") -> Reason | None:
    """The spec's reason for this value as data (see :func:`render_reason` for when there is none).

    A declaration whose template is the catalogued one gives a reason that renders in every
    language; any other template (a stored declaration with its own wording) gives its English
    sentence as it is.
    """
    checked = _reason_value(spec, value, category)
    if checked is None:
        return None
    key = reason_key(spec)
    if key is not None:
        args = _template_args(spec, key)
        if reason_texts.feature_template(key, "en", **args) == spec.reason:
            values = {"value": checked if isinstance(checked, float) else str(checked), **args}
            if "{category" in spec.reason:
                values["category"] = str(category)
            return Reason(key, values)
    return Reason(reason_texts.LITERAL, {"text": render_reason(spec, value, category, currency)})


class SpecReasons:
    """:func:`spec_reason` of one declaration for many values, with each reason's English sentence
    and JSON data (``features.reason_texts.reason_json``): what the template and the declaration
    give is worked out once, so a value costs one check, one format and one join."""

    def __init__(self, spec: FeatureSpec, currency: str = "EUR"):
        self.spec, self.currency = spec, currency
        self._key: str | None = None
        self._categories: dict[str, str] = {}  # each category's JSON, made once
        key = reason_key(spec) if spec.reason else None
        template = spec.reason or ""
        if key is not None and "{share" not in template and "[[" not in template:
            args = _template_args(spec, key)
            if reason_texts.feature_template(key, "en", **args) == template:
                self._key, self._args = key, args
                self._money = "{money" in template
                self._category = "{category" in template
                self._head = "[" + json.dumps(key) + ',{"value":'
                self._middle = "".join("," + _json(name) + ":" + _json(v) for name, v in args.items())

    def said(self, value: Any, category: Any) -> tuple[Reason, str, str] | None:
        """The reason for this value and category, its sentence and its JSON data; None when there
        is nothing to say (as :func:`spec_reason`) or the sentence is empty."""
        if self._key is None:
            reason = spec_reason(self.spec, value, category, self.currency)
            text = reason.text("en", self.currency) if reason is not None else None
            return (reason, text, reason_texts.reason_json(reason)) if reason is not None and text else None
        checked = _reason_value(self.spec, value, category)
        if checked is None:
            return None
        number = isinstance(checked, float)
        shown: Any = checked if number else str(checked)
        values = {"value": shown, **self._args}
        named = dict(values)
        tail = "}]"
        if self._category:
            values["category"] = named["category"] = str(category)
            said = self._categories.get(values["category"])
            if said is None:
                said = self._categories[values["category"]] = ',"category":' + _json(values["category"])
            tail = said + tail
        if self._money and number:
            named["money"] = reason_texts.format_money(shown, self.currency, "en")
        template: str = self.spec.reason  # type: ignore[assignment]
        text = reason_texts.english_singular(template.format(**named) if "{" in template else template)
        if not text:
            return None
        data = self._head + (float.__repr__(shown) if number and math.isfinite(shown) else _json(shown)) \
            + self._middle + tail
        return Reason(self._key, values), text, data


def _json(value: Any) -> str:
    """``value`` as :func:`features.reason_texts.reason_json` writes it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _reason_value(spec: FeatureSpec, value: Any, category: str | None) -> Any:
    """The value a reason states (absolute for ``negative``), None when there is nothing true to say."""
    if not spec.reason or spec.reason_when == "never" or _missing(value):
        return None
    if "{category" in spec.reason and _missing(category):
        return None
    if spec.dtype == "numeric":
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        if (spec.reason_when == "positive" and not value > 0) or (spec.reason_when == "negative" and not value < 0):
            return None
        value = abs(value) if spec.reason_when == "negative" else value
        if spec.reason_when != "always" and _shows_zero(spec.reason, value):
            return None
    return value


def _shows_zero(template: str, value: float) -> bool:
    """Whether the template would print the value as zero ("0%", "0 days"): nothing to say."""
    return any(not any(ch in "123456789" for ch in format(value, spec)) for spec in _value_formats(template))


@lru_cache(maxsize=1024)
def _value_formats(template: str) -> tuple[str, ...]:
    """The format specs of the template's ``{value}`` fields, in order."""
    return tuple(format_spec or "" for _, field, format_spec, _ in Formatter().parse(template) if field == "value")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):  # also numpy's float64
        return value != value  # NaN: what pd.isna says of a float, without its dispatch
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def specs_to_dict(specs: list[FeatureSpec]) -> dict[str, Any]:
    """JSON-able form of a spec list (what a trained model stores)."""
    return {"format": SPEC_FORMAT, "version": SPEC_FORMAT_VERSION, "specs": [asdict(s) for s in specs]}


def specs_from_dict(data: dict[str, Any] | list[dict[str, Any]]) -> list[FeatureSpec]:
    """Inverse of :func:`specs_to_dict` (also accepts the bare list of spec dicts)."""
    if isinstance(data, dict):
        if data.get("format") != SPEC_FORMAT:
            raise ValueError(f"feature specs: expected format {SPEC_FORMAT!r}, got {data.get('format')!r}")
        if data.get("version") != SPEC_FORMAT_VERSION:
            raise ValueError(f"feature specs: expected version {SPEC_FORMAT_VERSION}, got {data.get('version')!r}")
        items = data.get("specs")
    else:
        items = data
    if not isinstance(items, list):
        raise ValueError(f"feature specs: expected a list of specs, got {type(items).__name__}")
    allowed = {f.name for f in fields(FeatureSpec)}
    specs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"feature specs: item {i} must be a mapping, got {type(item).__name__}")
        unknown = set(item) - allowed
        if unknown:
            raise ValueError(f"feature specs: item {i} has unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        absent = [k for k in ("name", "dtype", "scope", "description") if k not in item]
        if absent:
            raise ValueError(f"feature specs: item {i} lacks required keys {absent}")
        spec = FeatureSpec(**item)
        _check_spec(spec, i)
        specs.append(spec)
    return specs


def _check_spec(spec: FeatureSpec, i: int) -> None:
    checks = {"dtype": ("numeric", "categorical"), "scope": ("account", "category", "action"),
              "reason_when": ("positive", "negative", "always", "never")}
    for attr, allowed in checks.items():
        if getattr(spec, attr) not in allowed:
            raise ValueError(f"feature specs: item {i} ({spec.name!r}) has {attr}={getattr(spec, attr)!r}; "
                             f"expected one of: {', '.join(allowed)}")
    window = spec.window_days
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise ValueError(f"feature specs: item {i} ({spec.name!r}) has window_days={spec.window_days!r}; "
                         "expected a whole number >= 1 or null")
    if spec.reason is not None:
        try:
            spec.reason.format(value=1.0, category="category", money="€1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"feature specs: item {i} ({spec.name!r}) has a reason template that does not "
                             f"render ({exc!r}); it may use only {{value}} and {{category}}") from None
