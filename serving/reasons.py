"""Suggestion reasons in the page's language, and why a card's action beats the others.

The snapshot keeps every candidate's reasons as data (``features.reason_texts``); a page renders
them in its own language instead of showing the English sentences of the API. Those reasons
describe the account; :func:`card_reasons` adds, per card, the comparison with the account's
other candidate channels and with the offer without its discount, the account's recent response
per channel, and talking points for a call or visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, timedelta
from typing import Any, Protocol

from features.policy import NONE_CHANNEL
from features.reason_texts import LITERAL, Reason, reasons_from_json
from models.suggestion import Suggestion
from serving.suggestions import NO_FURTHER_ACTION, NO_FURTHER_ACTION_REASON, SuggestionService


def in_language(suggestions: list[Suggestion], service: SuggestionService, lang: str,
                currency: str) -> list[Suggestion]:
    """The suggestions with their ``reasons`` as sentences in ``lang``."""
    codes: dict[str, dict[str, str]] = {}
    out = []
    for s in suggestions:
        if s.account_id not in codes:
            codes[s.account_id] = service.reason_codes(s.account_id)
        found = codes[s.account_id].get(s.suggestion_id)
        reasons = reasons_from_json(found) if found is not None else _without_codes(s)
        out.append(s.with_reasons(r.text(lang, currency) for r in reasons))
    return out


def _without_codes(suggestion: Suggestion) -> list[Reason]:
    """Reasons of a suggestion that has no data form: the added ``none`` says its own reason;
    other sentences stay as given."""
    if suggestion.channel == NONE_CHANNEL and suggestion.reasons == (NO_FURTHER_ACTION,):
        return [NO_FURTHER_ACTION_REASON]
    return [Reason(LITERAL, {"text": t}) for t in suggestion.reasons]


class Wording(Protocol):
    """What the card reasons need of a page's texts (``serving.web.i18n.Texts``)."""

    def __call__(self, key: str, **values: object) -> str: ...
    def money(self, value: float | int | None, currency: str) -> str: ...
    def percent(self, fraction: float | None, decimals: int = 0) -> str: ...
    def points(self, value: float | None) -> str: ...
    def date(self, value: Date | datetime | None) -> str: ...
    def channel(self, name: str | None) -> str: ...


@dataclass(frozen=True)
class CardWhy:
    """Why one suggestion beats the account's other options, what to say on a call, and whether
    it is worth less than the ``minor_value`` setting."""

    comparison: list[str]
    talking_points: list[str]
    minor: bool


def card_reasons(suggestions: list[Suggestion], service: SuggestionService, summary: dict[str, Any],
                 t: Wording, currency: str, *, minor_value: float, window_days: int) -> dict[str, CardWhy]:
    """suggestion_id -> :class:`CardWhy` of an account's shown ``suggestions``: the best value of
    every other channel among the account's candidates, the same offer without its discount,
    the ordering after recent touches per channel (``summary``: ``AccountDirectory.summary``),
    and talking points for rep actions."""
    out: dict[str, CardWhy] = {}
    others = _candidates(service, suggestions[0].account_id) if suggestions else []
    response = _response_by_channel(summary, window_days)
    for s in suggestions:
        if s.channel == NONE_CHANNEL:
            continue
        lines = [_versus_channels(s, others, t, currency)]
        lines += _versus_no_discount(s, others, t, currency)
        lines += _past_response(s.channel, response, t)
        points = _talking_points(s, summary, t, currency) if s.executed_by == "rep" else []
        out[s.suggestion_id] = CardWhy(lines, points, s.expected_incremental_margin < minor_value)
    return out


def _candidates(service: SuggestionService, account_id: str) -> list[dict[str, Any]]:
    """The account's candidate actions (channel, offer, discount, value), best first."""
    cols = service.cols
    return [{"channel": cols["channel"][r], "offer_id": cols["offer_id"][r],
             "discount_pct": float(cols["discount_pct"][r]),
             "value": float(cols["expected_incremental_margin"][r])}
            for r in service.candidate_rows(account_id)]


def _versus_channels(s: Suggestion, others: list[dict[str, Any]], t: Wording, currency: str) -> str:
    best: dict[str, float] = {}
    for c in others:
        if c["channel"] not in (s.channel, NONE_CHANNEL):
            best[c["channel"]] = max(best.get(c["channel"], c["value"]), c["value"])
    value = t.money(s.expected_incremental_margin, currency)
    if not best:
        return t("why_only_channel", channel=t.channel(s.channel), value=value)
    parts = ", ".join(t("why_channel_value", channel=t.channel(ch), value=t.money(v, currency))
                      for ch, v in sorted(best.items(), key=lambda kv: -kv[1]))
    return t("why_versus", channel=t.channel(s.channel), value=value, others=parts)


def _versus_no_discount(s: Suggestion, others: list[dict[str, Any]], t: Wording, currency: str) -> list[str]:
    if not s.discount_pct or s.offer_id is None:
        return []
    plain = [c["value"] for c in others if c["channel"] == s.channel and c["offer_id"] == s.offer_id
             and c["discount_pct"] < s.discount_pct]
    if not plain:
        return [t("why_discount_included", pct=t.points(s.discount_pct))]
    gain = s.expected_incremental_margin - max(plain)
    return [t("why_discount_pays", pct=t.points(s.discount_pct), gain=t.money(gain, currency),
              without=t.money(max(plain), currency))]


def _response_by_channel(summary: dict[str, Any], window_days: int) -> dict[str, tuple[int, int]]:
    """channel -> (recent touches, of which followed by an order within ``window_days``)."""
    orders = [o["ordered_at"] for o in summary.get("recent_orders", []) if o.get("ordered_at") is not None]
    window = timedelta(days=window_days)
    found: dict[str, tuple[int, int]] = {}
    for touch in summary.get("recent_touches", []):
        channel, at = touch.get("channel"), touch.get("touched_at")
        if channel in (None, NONE_CHANNEL) or at is None:
            continue
        ordered = any(at <= o <= at + window for o in orders)
        n, k = found.get(channel, (0, 0))
        found[channel] = (n + 1, k + int(ordered))
    return found


def _past_response(channel: str, response: dict[str, tuple[int, int]], t: Wording) -> list[str]:
    if not response:
        return []
    parts = [t("why_response_part", channel=t.channel(ch), ordered=k, touches=n)
             for ch, (n, k) in sorted(response.items(), key=lambda kv: (kv[0] != channel, kv[0]))]
    return [t("why_response", parts="; ".join(parts))]


def _talking_points(s: Suggestion, summary: dict[str, Any], t: Wording, currency: str) -> list[str]:
    points = []
    if s.offer_id is not None:
        offer = s.offer_name or s.offer_id
        points.append(t("talk_offer_discount", offer=offer, pct=t.points(s.discount_pct)) if s.discount_pct
                      else t("talk_offer", offer=offer))
    same = [o for o in summary.get("recent_orders", []) if s.category and o.get("product_category") == s.category]
    last = same[0] if same else (summary.get("recent_orders") or [None])[0]
    if last is not None:
        points.append(t("talk_last_order", date=t.date(last["ordered_at"]), category=last["product_category"],
                        amount=t.money(last["net_amount"], currency)))
    else:
        points.append(t("talk_no_order"))
    share = (summary.get("orders_90d") or {}).get("online_share")
    if share:
        points.append(t("talk_online", share=t.percent(share)))
    return points[:3]
