"""Reasons as data: every declared reason has a German sentence, and English stays as rendered."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from features.actions import ineligible_reasons
from features.definitions import SpecReasons, feature_specs, reason_key, render_reason, spec_reason
from features.policy import ChannelRule, Policy
from features.reason_texts import (
    LITERAL,
    TEXTS,
    AmountReasons,
    Reason,
    format_money,
    reason_json,
    reasons_from_json,
    reasons_to_json,
)
from tests.features.factories import T0, make_dataset

EVENT_TYPES = ("visit", "product_view", "cart", "download", "webinar", "search", "odd_type")
ENGLISH_WORDS = re.compile(r"\b(the|last|days|times|ordered|received|of|online events|revenue)\b")


def _specs():
    channels = {"email": ChannelRule("email", 0.5, "marketing", True, 4),
                "phone": ChannelRule("phone", 12.0, "rep", False, 2),
                "trade_fair": ChannelRule("trade_fair", 50.0, "rep", False, None)}
    ds = make_dataset(accounts_rows=[{"account_id": "a1", "tier": "gold"}],
                      web_rows=[{"account_id": "a1", "occurred_at": T0, "event_type": t} for t in EVENT_TYPES],
                      policy=Policy(channels=channels))
    return [s for s in feature_specs(ds) if s.reason]


def test_every_declared_reason_template_has_a_german_sentence() -> None:
    specs = _specs()
    assert {s.key for s in specs if s.kind == "touch_count"} == {"email", "phone", "trade_fair"}
    for spec in specs:
        assert reason_key(spec) is not None, f"{spec.name}: its reason template is not in features.reason_texts"
        reason = spec_reason(spec, 3.0, "Werkzeuge") if spec.reason_when != "never" else None
        if reason is None:  # shown never; the sentence must still exist in German
            reason = Reason(reason_key(spec), {"value": 3.0, "category": "Werkzeuge",  # type: ignore[arg-type]
                                               "days": spec.window_days, "channel": spec.key, "event": spec.key})
        assert reason.key != LITERAL, f"{spec.name}: template {spec.reason!r} differs from the catalogued one"
        german = reason.text("de")
        assert german != reason.text("en") and not re.search(r"[{}\[\]|]", german), (spec.name, german)
        assert not ENGLISH_WORDS.search(german.replace("odd type", "")), (spec.name, german)


def test_every_catalogued_sentence_exists_in_both_languages() -> None:
    for key, texts in TEXTS.items():
        assert set(texts) == {"en", "de"} and texts["en"] != texts["de"], key


@pytest.mark.parametrize("value", [1.0, 3.0, 0.45, 12400.0])
def test_reason_data_renders_the_same_english_sentence(value: float) -> None:
    for spec in _specs():
        english = render_reason(spec, value, "Werkzeuge", "PLN")
        reason = spec_reason(spec, value, "Werkzeuge", "PLN")
        assert (reason.text("en", "PLN") if reason else None) == english, spec.name


def test_german_sentences_use_german_numbers_and_singulars() -> None:
    specs = {s.name: s for s in _specs()}
    assert spec_reason(specs["revenue_365d"], 12400.0).text("de") == "in den letzten 12 Monaten für 12.400 € gekauft"
    assert spec_reason(specs["days_since_last_order"], 1.0).text("de") == "seit 1 Tag keine Bestellung"
    assert spec_reason(specs["responses__phone"], 1.0).text("de") == "nach 1 früheren Anruf bestellt"
    assert spec_reason(specs["responses__phone"], 4.0).text("de") == "nach 4 früheren Anrufen bestellt"
    assert spec_reason(specs["online_share_90d"], 0.45).text("de") == \
        "in den letzten 90 Tagen kamen 45 % des Umsatzes online"
    assert spec_reason(specs["touches_90d__trade_fair"], 2.0).text("de") == \
        "in den letzten 90 Tagen 2 Kontakte über trade fair erhalten"
    value = Reason("expected_value_discount", {"amount": 1234.5, "discount_pct": 2.5})
    assert value.text("de") == ("voraussichtlich 1.234 € mehr Deckungsbeitrag als ohne Ansprache, "
                                "nach Kosten und 2,5 % Rabatt")
    assert value.text("en") == "expected €1,234 extra margin over no outreach, after costs and the 2.5% discount"
    assert format_money(4.5, "EUR", "de") == "4,50 €" and format_money(-38.0, "PLN", "de") == "-38 PLN"


def test_a_custom_template_keeps_its_own_sentence() -> None:
    spec = next(s for s in _specs() if s.name == "orders_90d")
    custom = type(spec)(**{**spec.__dict__, "reason": "placed {value:.0f} orders lately"})
    reason = spec_reason(custom, 3.0)
    assert reason is not None and reason.key == LITERAL
    assert reason.text("de") == reason.text("en") == "placed 3 orders lately"


def test_ineligibility_reasons_read_in_german() -> None:
    policy = Policy(channels={"email": ChannelRule("email", 0.5, "marketing", True, 2)}, quiet_days_after_order=7)
    state = pd.Series({"consent_email": False, "do_not_contact": True, "touches_30d__email": 2,
                       "in_quiet_period": True, "days_since_last_order": 1.2})
    action = {"channel": "email", "offer_id": "f2", "discount_pct": 15.0, "max_discount_pct": 12.0, "active": False}
    german = [r.text("de") for r in ineligible_reasons(state, action, policy)]
    assert german == [
        "Angebot f2 ist nicht aktiv",
        "Rabatt von 15 % liegt über der Grenze des Angebots von 12 %",
        "Kunde ist als „nicht kontaktieren“ markiert",
        "keine E-Mail-Einwilligung",
        "in den letzten 30 Tagen 2-mal per E-Mail kontaktiert (Grenze 2)",
        "vor 1 Tag bestellt, innerhalb der Ruhezeit von 7 Tagen nach einer Bestellung",
    ]
    blocked = Reason("no_eligible_action", {"rules": ineligible_reasons(state, action, policy)[:1]})
    assert blocked.text("de") == "keine zulässige Aktion: Angebot f2 ist nicht aktiv"
    assert Reason("no_eligible_action", {"rules": []}).text() == "no eligible action: no active offer fits this account"


def test_reasons_travel_as_json() -> None:
    reasons = [Reason("cat_order_count", {"value": 4.0, "days": 90, "category": "Dübel"}),
               Reason("no_eligible_action", {"rules": [Reason("no_email_consent")]})]
    text = reasons_to_json(reasons)
    assert reasons_from_json(text) == reasons and "Dübel" in text
    with pytest.raises(ValueError, match="unknown key 'nope'"):
        reasons_from_json('[["nope", {}]]')
    with pytest.raises(ValueError, match="expected \\[key, \\{values\\}\\]"):
        reasons_from_json('[["holdout"]]')


AMOUNTS = [0.0, -0.0, 0.004, 0.005, 0.125, 1.0, 9.994, 9.995, 9.999, 10.0, 10.5, 11.5, 999.5, 1234.5678, -38.2,
           -9.995, 1e7 + 0.5, 123456789.123, 2.5e-9, float("nan"), float("inf"), -float("inf")]


@pytest.mark.parametrize(("key", "values"), [("expected_value", {}),
                                             ("expected_value_discount", {"discount_pct": 5.0}),
                                             ("expected_value_discount", {"discount_pct": 12.5}),
                                             ("not_paying_off", {"channel": "phone", "offer": "Dübel {x}",
                                                                 "discount_pct": 2.5})])
@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("currency", ["EUR", "USD", "PLN"])
def test_amount_reasons_in_bulk_equal_one_by_one(key, values, lang, currency) -> None:
    amounts = [*AMOUNTS, *pd.Series(range(-500, 500)).mul(0.37).tolist()]
    bulk = AmountReasons(key, values, lang, currency)
    one_by_one = [Reason(key, {"amount": a, **values}) for a in amounts]
    texts = bulk.texts(amounts)
    assert all(texts)
    assert texts == [r.text(lang, currency) for r in one_by_one]
    assert bulk.data(amounts) == [reason_json(r) for r in one_by_one]
    assert reasons_to_json(one_by_one[:3]) == "[" + ",".join(bulk.data(amounts[:3])) + "]"
    with pytest.raises(ValueError, match="unknown key 'nope'"):
        AmountReasons("nope", {})


SPEC_VALUES = [*AMOUNTS, 1, 3, True, None, pd.NA, "7", "x", -1.0, -0.004, 0.0049, 0.51, 1.5, 12400.0]


@pytest.mark.parametrize("currency", ["EUR", "PLN"])
@pytest.mark.parametrize("category", ["Werkzeuge", "Dübel \"{x}\"", None, float("nan")])
def test_spec_reasons_equal_one_by_one(currency, category) -> None:
    specs = _specs()
    custom = next(s for s in specs if s.name == "orders_90d")
    specs.append(type(custom)(**{**custom.__dict__, "reason": "placed {value:.0f} orders, {money} lately"}))
    for spec in specs:
        bulk = SpecReasons(spec, currency)
        for value in SPEC_VALUES:
            try:
                reason = spec_reason(spec, value, category, currency)
            except (TypeError, ValueError) as error:  # a value the template cannot print
                with pytest.raises(type(error)):
                    bulk.said(value, category)
                continue
            text = reason.text("en", currency) if reason is not None else None
            expected = (reason, text, reason_json(reason)) if reason is not None and text else None
            assert bulk.said(value, category) == expected, (spec.name, value, category)
