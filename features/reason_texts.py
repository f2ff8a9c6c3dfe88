"""Reasons as data, and their sentences in English and German.

A :class:`Reason` is a catalogue key plus the values its sentence is made of (a count, an
amount, a channel, a window in days). The pipeline keeps reasons in this form, so a page renders
them in its reader's language with that language's number, money and percent style; the English
sentence is what the recommendations file and the API carry.

Templates are ``str.format`` strings over the values and the fields derived from them
(:func:`_fields`). ``[[one|many]]`` picks the singular when the reason's count reads "1".
Feature reasons (keys equal to a feature ``kind``, or ``kind:key`` where the key changes the
wording) hold ``{period}``, ``{one}``, ``{many}``, ``{event}``, ``{days}`` that
:func:`feature_template` fills from the declaration, leaving ``{value}``, ``{category}``,
``{money}`` and ``{share}`` for the value.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any, NamedTuple

LANGUAGES = ("en", "de")
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
#: Key of a sentence kept as it was given (a stored feature declaration with its own wording).
LITERAL = "literal"

FEATURE_TEXTS: dict[str, dict[str, str]] = {
    "order_count": {"en": "ordered {value:.0f} times {period}",
                    "de": "{period} {value:.0f}-mal bestellt"},
    "revenue": {"en": "bought for {money} {period}",
                "de": "{period} für {money} gekauft"},
    "days_since_order": {"en": "no order for {value:.0f} days",
                         "de": "seit {value:.0f} [[Tag|Tagen]] keine Bestellung"},
    "tenure_days": {"en": "first ordered {value:.0f} days ago",
                    "de": "erste Bestellung vor {value:.0f} [[Tag|Tagen]]"},
    "online_share": {"en": "{value:.0%} of revenue came online {period}",
                     "de": "{period} kamen {share} des Umsatzes online"},
    "online_share_change": {"en": "online share of revenue rose by {value:.0f} points {period}",
                            "de": "Online-Anteil am Umsatz {period} um {value:.0f} "
                                  "[[Prozentpunkt|Prozentpunkte]] gestiegen"},
    "revenue_trend": {"en": "revenue grew {period} against the {days} days before",
                      "de": "Umsatz {period} gegenüber den {days} Tagen davor gewachsen"},
    "mean_discount": {"en": "average discount of {value:.0f}% {period}",
                      "de": "{period} durchschnittlich {value:.0f} % Rabatt"},
    "discounted_share": {"en": "{value:.0%} of order lines discounted {period}",
                         "de": "{period} {share} der Bestellpositionen rabattiert"},
    "discounted_revenue_share": {"en": "{value:.0%} of revenue bought at a discount {period}",
                                 "de": "{period} {share} des Umsatzes mit Rabatt gekauft"},
    "discount_response_rate": {"en": "ordered after {value:.0%} of earlier discounted offers",
                               "de": "nach {share} der früheren rabattierten Angebote bestellt"},
    "discount_response_gain": {"en": "ordered more often after discounted offers than at list price "
                                     "(+{value:.0%})",
                               "de": "nach rabattierten Angeboten öfter bestellt als zum Listenpreis "
                                     "(+{share})"},
    "category_count": {"en": "bought from {value:.0f} product categories {period}",
                       "de": "{period} aus {value:.0f} [[Produktkategorie|Produktkategorien]] gekauft"},
    "touch_count": {"en": "received {value:.0f} {many} {period}",
                    "de": "{period} {value:.0f} [[{one}|{many}]] erhalten"},
    "days_since_touch": {"en": "last {one} {value:.0f} days ago",
                         "de": "{one} zuletzt vor {value:.0f} [[Tag|Tagen]]"},
    "responses": {"en": "ordered after {value:.0f} earlier {many}",
                  "de": "nach {value:.0f} früheren [[{one}|{many_dat}]] bestellt"},
    "response_rate": {"en": "ordered after {value:.0%} of earlier {many}",
                      "de": "nach {share} der früheren {many} bestellt"},
    "web_count": {"en": "had {value:.0f} online events of type '{event}' {period}",
                  "de": "{period} {value:.0f} Online-[[Ereignis|Ereignisse]] vom Typ '{event}'"},
    "web_count:visit": {"en": "visited the webshop {value:.0f} times {period}",
                        "de": "{period} {value:.0f}-mal den Webshop besucht"},
    "web_count:product_view": {"en": "viewed products online {value:.0f} times {period}",
                               "de": "{period} {value:.0f}-mal Produkte online angesehen"},
    "web_count:cart": {"en": "added to the online cart {value:.0f} times {period}",
                       "de": "{period} {value:.0f}-mal etwas in den Online-Warenkorb gelegt"},
    "web_count:download": {"en": "downloaded {value:.0f} documents {period}",
                           "de": "{period} {value:.0f} [[Dokument|Dokumente]] heruntergeladen"},
    "web_count:webinar": {"en": "attended {value:.0f} webinars {period}",
                          "de": "{period} an {value:.0f} [[Webinar|Webinaren]] teilgenommen"},
    "web_count:search": {"en": "searched the webshop {value:.0f} times {period}",
                         "de": "{period} {value:.0f}-mal im Webshop gesucht"},
    "days_since_web": {"en": "last online activity {value:.0f} days ago",
                       "de": "letzte Online-Aktivität vor {value:.0f} [[Tag|Tagen]]"},
    "cat_order_count": {"en": "ordered {category} {value:.0f} times {period}",
                        "de": "{period} {value:.0f}-mal {category} bestellt"},
    "cat_revenue": {"en": "bought {category} for {money} {period}",
                    "de": "{period} {category} für {money} gekauft"},
    "cat_days_since_order": {"en": "no {category} order for {value:.0f} days",
                             "de": "seit {value:.0f} [[Tag|Tagen]] keine Bestellung von {category}"},
    "cat_revenue_share": {"en": "{category} made {value:.0%} of revenue {period}",
                          "de": "{category} machte {period} {share} des Umsatzes aus"},
    "cat_web_count": {"en": "looked at {category} online {value:.0f} times {period}",
                      "de": "{period} {value:.0f}-mal online nach {category} geschaut"},
    "cat_web_count:product_view": {"en": "viewed {category} online {value:.0f} times {period}",
                                   "de": "{period} {value:.0f}-mal Produkte aus {category} online angesehen"},
    "cat_web_count:cart": {"en": "put {category} in the online cart {value:.0f} times {period}",
                           "de": "{period} {value:.0f}-mal {category} in den Online-Warenkorb gelegt"},
    "cat_touch_count": {"en": "received {value:.0f} offers for {category} {period}",
                        "de": "{period} {value:.0f} [[Angebot|Angebote]] für {category} erhalten"},
    "cat_mean_discount": {"en": "average discount of {value:.0f}% on {category} {period}",
                          "de": "{period} durchschnittlich {value:.0f} % Rabatt auf {category}"},
}

DECISION_TEXTS: dict[str, dict[str, str]] = {
    "expected_value": {"en": "expected {money} extra margin over no outreach, after costs",
                       "de": "voraussichtlich {money} mehr Deckungsbeitrag als ohne Ansprache, nach Kosten"},
    "expected_value_discount": {
        "en": "expected {money} extra margin over no outreach, after costs and the {discount} discount",
        "de": "voraussichtlich {money} mehr Deckungsbeitrag als ohne Ansprache, nach Kosten und "
              "{discount} Rabatt"},
    "thin_evidence": {"en": "few past examples of this offer on this channel: the estimate leans on its "
                            "average effect",
                      "de": "wenige frühere Beispiele dieses Angebots auf diesem Kanal: die Schätzung stützt "
                            "sich auf seine durchschnittliche Wirkung"},
    "holdout": {"en": "held out at random (no outreach) to measure what outreach adds",
                "de": "zufällig zurückgestellt (keine Ansprache), um zu messen, was Ansprache bringt"},
    "no_further_action": {"en": "no further action is expected to pay off now",
                          "de": "keine weitere Aktion dürfte sich jetzt lohnen"},
    "policy_none": {"en": "in past decisions no outreach has earned more than doing nothing, so none is "
                          "suggested until the data shows one that does",
                    "de": "in früheren Entscheidungen hat keine Ansprache mehr eingebracht als nichts zu tun; "
                          "daher wird keine vorgeschlagen, bis die Daten eine zeigen, die sich lohnt"},
    "policy_single": {"en": "in past decisions one action for everyone ({option}) earned as much as choosing "
                            "per account, so only that action is suggested",
                      "de": "in früheren Entscheidungen brachte eine Aktion für alle ({option}) so viel wie "
                            "die Wahl pro Kunde; daher wird nur diese Aktion vorgeschlagen"},
    "no_history": {"en": "no history for the offered categories yet",
                   "de": "noch keine Historie zu den angebotenen Kategorien"},
    "not_paying_off": {"en": "no outreach pays off now: the best option ({option}) would change margin by "
                             "{money} after costs",
                       "de": "keine Ansprache lohnt sich jetzt: die beste Option ({option}) würde den "
                             "Deckungsbeitrag nach Kosten um {money} ändern"},
    "no_eligible_action": {"en": "no eligible action: {rules}", "de": "keine zulässige Aktion: {rules}"},
    "no_active_offer": {"en": "no active offer fits this account",
                        "de": "kein aktives Angebot passt zu diesem Kunden"},
    "channel_not_in_policy": {"en": "channel {channel} is not in the contact policy",
                              "de": "Kanal {channel} ist nicht in der Kontaktrichtlinie"},
    "offer_inactive": {"en": "offer {offer} is not active", "de": "Angebot {offer} ist nicht aktiv"},
    "discount_above_limit": {"en": "discount of {discount} is above the offer's limit of {limit}",
                             "de": "Rabatt von {discount} liegt über der Grenze des Angebots von {limit}"},
    "do_not_contact": {"en": "account is marked do-not-contact",
                       "de": "Kunde ist als „nicht kontaktieren“ markiert"},
    "no_email_consent": {"en": "no e-mail consent", "de": "keine E-Mail-Einwilligung"},
    "contact_cap": {"en": "{channel} contacted {count} [[time|times]] in the last 30 days (limit {limit_count})",
                    "de": "in den letzten 30 Tagen {count}-mal {medium} kontaktiert (Grenze {limit_count})"},
    "quiet_period": {"en": "ordered {when}, inside the quiet period of {quiet_days} days after an order",
                     "de": "{when} bestellt, innerhalb der Ruhezeit von {quiet_days} Tagen nach einer Bestellung"},
}

#: Every reason sentence by key and language.
TEXTS: dict[str, dict[str, str]] = {**FEATURE_TEXTS, **DECISION_TEXTS}

_CHANNELS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"email": ("e-mail", "e-mails"), "phone": ("call", "calls"), "visit": ("visit", "visits"),
           "webshop_banner": ("webshop banner", "webshop banners")},
    # one, many, many (dative), by what medium
    "de": {"email": ("E-Mail", "E-Mails", "E-Mails", "per E-Mail"),
           "phone": ("Anruf", "Anrufe", "Anrufen", "per Telefon"),
           "visit": ("Besuch", "Besuche", "Besuchen", "per Besuch"),
           "webshop_banner": ("Webshop-Banner", "Webshop-Banner", "Webshop-Bannern", "per Webshop-Banner")},
}
_PLURAL = re.compile(r"\[\[([^|\]]*)\|([^\]]*)\]\]")
EN_PLURALS = {"times": "time", "days": "day", "offers": "offer", "documents": "document",
              "webinars": "webinar", "categories": "category", "e-mails": "e-mail", "calls": "call",
              "visits": "visit", "banners": "banner", "contacts": "contact", "points": "point"}
_EN_ONE_PLURAL = re.compile(r"(?<![\d.,])1 ((?:[a-z]+ )?)(" + "|".join(map(re.escape, EN_PLURALS)) + r")\b")


class Reason(NamedTuple):
    """One reason: a key of :data:`TEXTS` and the values its sentence is made of (never changed
    after it is made; a tuple, as the pipeline makes one per suggestion)."""

    key: str
    values: dict[str, Any] = {}  # noqa: RUF012 - shared empty default, never mutated

    def text(self, lang: str = "en", currency: str = "EUR") -> str:
        """The sentence in ``lang`` ("en" or "de"), amounts in ``currency``."""
        return render(self, lang, currency)

    def to_data(self) -> list[Any]:
        """JSON-able form: ``[key, values]`` (nested reasons in the same form)."""
        if "rules" not in self.values:
            return [self.key, self.values]
        return [self.key, {**self.values, "rules": [r.to_data() for r in self.values["rules"]]}]

    @classmethod
    def from_data(cls, data: Any) -> Reason:
        """Inverse of :meth:`to_data`."""
        if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], str) and isinstance(data[1], dict)):
            raise ValueError(f"reason: expected [key, {{values}}], got {data!r:.200}")
        key, values = data
        if key not in TEXTS and key != LITERAL:
            raise ValueError(f"reason: unknown key {key!r}; expected one of: {', '.join(sorted(TEXTS))}, {LITERAL}")
        if "rules" in values:
            values = {**values, "rules": [cls.from_data(r) for r in values["rules"]]}
        return cls(key, values)


def reasons_to_json(reasons: list[Reason]) -> str:
    """A row's reasons as one compact JSON string (what travels in a ``reason_codes`` column)."""
    return json_list([reason_json(r) for r in reasons])


def reason_json(reason: Reason) -> str:
    """One reason as compact JSON: an item of :func:`reasons_to_json`'s list."""
    return json.dumps(reason.to_data(), ensure_ascii=False, separators=(",", ":"))


def json_list(items: list[str]) -> str:
    """The JSON list of items already in JSON (:func:`reason_json`): what :func:`reasons_to_json`
    gives for their reasons."""
    return "[" + ",".join(items) + "]"


class AmountReasons:
    """Reasons of one ``key`` and fixed ``values`` that differ only in their ``amount`` (first in
    the values): the sentences and JSON data of many amounts, the text around the amount made once.
    Equal to ``Reason(key, {"amount": a, **values})``'s :meth:`Reason.text` and :func:`reason_json`."""

    _SLOT = "\x00"  # stands for the amount while the text around it is made

    def __init__(self, key: str, values: dict[str, Any], lang: str = "en", currency: str = "EUR"):
        if key not in TEXTS:
            raise ValueError(f"reason: unknown key {key!r}; expected one of: {', '.join(sorted(TEXTS))}")
        self.key, self.values, self.lang, self.currency = key, values, _check_lang(lang), currency
        template = TEXTS[key][lang]
        # Only the money of the amount is said, once, in a decision's sentence: else each is rendered.
        self._around: tuple[str, str] | None = None
        if key in DECISION_TEXTS and template.count("{money") == 1 and "{money}" in template and "[[" not in template:
            fields = _fields(Reason(key, {"amount": 0.0, **values}), template, lang, currency)
            filled = template.format(**{**fields, "money": self._SLOT})
            if filled.count(self._SLOT) == 1:
                head, tail = filled.split(self._SLOT)
                self._around = (head, tail)
        head_data, tail_data = reason_json(Reason(key, {"amount": self._SLOT, **values})).split('"\\u0000"')
        self._data_around = (head_data, tail_data)

    def texts(self, amounts: Any) -> list[str]:
        """The sentence of each amount."""
        if self._around is None:
            return [render(Reason(self.key, {"amount": float(a), **self.values}), self.lang, self.currency)
                    for a in amounts]
        head, tail = self._around
        lang, currency = self.lang, self.currency
        return [head + format_money(a, currency, lang) + tail for a in map(float, amounts)]

    def data(self, amounts: Any) -> list[str]:
        """The JSON data of each amount's reason (:func:`reason_json`)."""
        head, tail = self._data_around
        return [head + (float.__repr__(a) if math.isfinite(a) else json.dumps(a)) + tail for a in map(float, amounts)]


def reasons_from_json(text: str) -> list[Reason]:
    """Inverse of :func:`reasons_to_json`."""
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError(f"reason codes: expected a JSON list, got {type(data).__name__}")
    return [Reason.from_data(item) for item in data]


def join(reasons: list[Reason], lang: str = "en", currency: str = "EUR") -> str:
    """The reasons as one ``; ``-separated text (the contract's ``reasons`` column)."""
    return "; ".join(r.text(lang, currency) for r in reasons)


# -- formats -----------------------------------------------------------------------------------------

def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: expected one of: {', '.join(LANGUAGES)}")
    return lang


def format_number(value: float, decimals: int = 0, lang: str = "en") -> str:
    """``1,234.5`` in English, ``1.234,5`` in German."""
    text = f"{value:,.{decimals}f}"
    if _check_lang(lang) == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_money(amount: float, currency: str = "EUR", lang: str = "en") -> str:
    """An amount as people read it: "€1,240", "-€38", "€0.40", "1,240 PLN"; in German
    "1.240 €", "-38 €", "0,40 €", "1.240 PLN"."""
    sign = "-" if amount < 0 else ""
    size = abs(amount)
    digits = format_number(size, 2 if 0 < size < 10 else 0, lang)
    symbol = CURRENCY_SYMBOLS.get(currency)
    if lang == "de":
        return f"{sign}{digits} {symbol or currency}"
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def format_percent(points: float, lang: str = "en") -> str:
    """A percentage given in points: "5%", "2.5%"; German "5 %", "2,5 %"."""
    text = f"{float(points):g}"
    return f"{text}%" if _check_lang(lang) == "en" else f"{text.replace('.', ',')} %"


def period_words(days: int, lang: str = "en") -> str:
    """ "in the last 90 days" / "in den letzten 90 Tagen" (365 days read as 12 months)."""
    if _check_lang(lang) == "de":
        return "in den letzten 12 Monaten" if days == 365 else f"in den letzten {days} Tagen"
    return "in the last 12 months" if days == 365 else f"in the last {days} days"


def _safe(text: str) -> str:
    """A name put into a template: no template syntax in it."""
    return text.replace("{", "(").replace("}", ")").replace("[", "(").replace("]", ")").replace("|", "/")


def channel_words(channel: str, lang: str = "en") -> tuple[str, ...]:
    """How one says contacts of a channel. English: (one, several) — ("call", "calls").
    German: (one, several, several in the dative, by what medium) — ("Anruf", "Anrufe",
    "Anrufen", "per Telefon")."""
    known = _CHANNELS[_check_lang(lang)].get(channel)
    if known:
        return known
    words = _safe(channel.replace("_", " "))
    if lang == "de":
        return f"Kontakt über {words}", f"Kontakte über {words}", f"Kontakten über {words}", f"über {words}"
    return f"{words} contact", f"{words} contacts"


def _when(days_ago: Any, lang: str) -> str:
    if days_ago is None:
        return "kürzlich" if lang == "de" else "recently"
    whole = int(days_ago)
    if whole == 0:
        return "heute" if lang == "de" else "today"
    if lang == "de":
        return "vor 1 Tag" if whole == 1 else f"vor {whole} Tagen"
    return "1 day ago" if whole == 1 else f"{whole} days ago"


# -- rendering ---------------------------------------------------------------------------------------

def feature_template(reason_key: str, lang: str = "en", *, days: int | None = None,
                     channel: str | None = None, event: str | None = None) -> str:
    """The template of a feature reason with the declaration's window, channel and event type
    filled in; ``{value}``, ``{category}``, ``{money}`` and ``{share}`` stay open."""
    return _feature_template(reason_key, lang, days, channel, event)


@lru_cache(maxsize=4096)
def _feature_template(reason_key: str, lang: str, days: int | None, channel: str | None, event: str | None) -> str:
    """:func:`feature_template`, made once per declaration and language (a suggestion file renders
    the same few templates hundreds of thousands of times)."""
    template = FEATURE_TEXTS[reason_key][_check_lang(lang)]
    if days is not None:
        template = template.replace("{period}", period_words(days, lang)).replace("{days}", str(days))
    if channel is not None:
        words = channel_words(channel, lang)
        template = template.replace("{one}", words[0]).replace("{many}", words[1])
        if lang == "de":
            template = template.replace("{many_dat}", words[2]).replace("{medium}", words[3])
    if event is not None:
        template = template.replace("{event}", _safe(event.replace("_", " ")))
    return template


def _reads_one(values: dict[str, Any]) -> bool:
    count = values.get("count", values.get("value"))
    try:
        return format(float(count), ".0f") == "1"  # type: ignore[arg-type]  # None fails below
    except (TypeError, ValueError):
        return False


def _fields(reason: Reason, template: str, lang: str, currency: str) -> dict[str, Any]:
    """The values of ``reason`` plus what ``template`` prints of them: money, percents, words."""
    v = reason.values
    out: dict[str, Any] = dict(v)
    value = v.get("amount", v.get("value"))
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if numeric and "{money" in template:
        out["money"] = format_money(float(value), currency, lang)  # type: ignore[arg-type]
    if numeric and "{share" in template:
        out["share"] = format_percent(round(100 * float(value)), lang)  # type: ignore[arg-type]
    for name, pct in (("discount", "discount_pct"), ("limit", "limit_pct")):
        if pct in v:
            out[name] = format_percent(float(v[pct]), lang)
    if "days_ago" in v:
        out["when"] = _when(v["days_ago"], lang)
    if "rules" in v:
        rules = v["rules"] or [Reason("no_active_offer")]
        out["rules"] = "; ".join(r.text(lang, currency) for r in rules)
    if "channel" in v and reason.key in DECISION_TEXTS:
        words = channel_words(str(v["channel"]), lang)
        out["medium"] = words[3] if lang == "de" else str(v["channel"])
        if reason.key in ("not_paying_off", "policy_single"):
            disc = float(v.get("discount_pct") or 0.0)
            off = "" if disc <= 0 else (f" mit {format_percent(disc, lang)} Rabatt" if lang == "de"
                                         else f" at {disc:g}% off")
            out["option"] = f"{words[0]}, {v.get('offer')}{off}"
    return out


def render(reason: Reason, lang: str = "en", currency: str = "EUR") -> str:
    """The sentence of ``reason`` in ``lang``."""
    _check_lang(lang)
    v = reason.values
    if reason.key == LITERAL:
        return str(v.get("text", ""))
    texts = TEXTS.get(reason.key)
    if texts is None:
        raise ValueError(f"reason: unknown key {reason.key!r}; expected one of: {', '.join(sorted(TEXTS))}")
    template = texts[lang]
    if reason.key in FEATURE_TEXTS:
        template = feature_template(reason.key, lang, days=v.get("days"), channel=v.get("channel"),
                                    event=v.get("event"))
    if "[[" in template:
        one = _reads_one(v)
        template = _PLURAL.sub(lambda m: m.group(1) if one else m.group(2), template)
    text = template.format(**_fields(reason, template, lang, currency)) if "{" in template else template
    return english_singular(text) if lang == "en" and reason.key in FEATURE_TEXTS else text


def english_singular(text: str) -> str:
    """ "1 times" reads "1 time", "1 earlier calls" reads "1 earlier call"."""
    return _EN_ONE_PLURAL.sub(lambda m: f"1 {m.group(1) or ''}{EN_PLURALS[m.group(2)]}", text)
