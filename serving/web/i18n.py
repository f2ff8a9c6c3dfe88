"""German and English texts of the rep pages, and how numbers and dates are written in each.

The language comes from ``?lang=`` (remembered in a cookie), else the cookie, else the best
match of ``Accept-Language``, else English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime

from starlette.requests import Request

from features.reason_texts import format_money, format_number, format_percent

LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "symbiose_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "app_title": "Symbiose workspace",
        "sign_in": "Sign in",
        "sign_in_intro": "Sign in with the access token you were given.",
        "token": "Access token",
        "sign_out": "Sign out",
        "bad_token": "This token is unknown or no longer valid.",
        "bad_form": "The form has expired. Please try again.",
        "signed_in_as": "Signed in as {name} ({role})",
        "my_accounts": "My accounts",
        "accounts": "Accounts",
        "scoreboard": "Scoreboard",
        "search": "Search",
        "search_placeholder": "Account id or name",
        "all_channels": "All channels",
        "all_regions": "All regions",
        "all_reps": "All reps",
        "filter": "Filter",
        "account": "Account",
        "region": "Region",
        "rep": "Rep",
        "next_best_action": "Next best action",
        "expected_margin": "Expected incremental margin",
        "no_accounts": "No accounts match.",
        "showing": "{shown} of {total} accounts",
        "previous": "Previous",
        "next": "Next",
        "firmographics": "Company",
        "industry": "Industry",
        "employees": "Employees",
        "country": "Country",
        "consent_email": "E-mail consent",
        "do_not_contact": "Do not contact",
        "yes": "yes",
        "no": "no",
        "owner": "Owner",
        "last_order": "Last order",
        "orders_90d": "Orders in the last 90 days",
        "online": "Online",
        "offline": "Offline",
        "online_share": "Online share",
        "recent_orders": "Recent orders",
        "recent_touches": "Recent touches",
        "date": "Date",
        "channel": "Channel",
        "category": "Category",
        "amount": "Amount",
        "discount": "Discount",
        "offer": "Offer",
        "none_yet": "None yet.",
        "suggestions": "Suggestions",
        "why": "Why",
        "guardrail": "at most {pct} allowed for this offer",
        "chance": "Chance of an order: {p} with this action, {base} without",
        "accept": "Accept",
        "done": "Done",
        "dismiss": "Dismiss",
        "dismiss_because": "Dismiss because …",
        "status_accepted": "Accepted – mark it done when it is done.",
        "status_done": "Done. Thank you!",
        "status_dismissed": "Dismissed ({reason}).",
        "reason_not_relevant": "not relevant",
        "reason_already_in_contact": "already in contact",
        "reason_customer_declined": "customer declined",
        "reason_wrong_timing": "wrong timing",
        "reason_other": "other reason",
        "not_found_title": "Not found",
        "not_found_text": "There is nothing here, or it is not yours to see.",
        "back": "Back to my accounts",
        "revenue_month": "Revenue {period}",
        "revenue_year": "Revenue {period}",
        "credited_online": "Online after your outreach",
        "total": "Total",
        "you": "You",
        "region_average": "Region average",
        "suggestions_accepted": "Suggestions accepted",
        "suggestions_converted": "Suggestions converted",
        "stage_shown": "Shown",
        "stage_accepted": "Accepted",
        "stage_done": "Done",
        "stage_converted": "Converted",
        "chart_revenue_rep": "Monthly revenue of {name}",
        "chart_revenue_region": "Monthly revenue of region {name}",
        "chart_funnel": "Suggestions of {name}",
        "month": "Month",
        "revenue": "Revenue ({currency})",
        "count": "Suggestions",
        "choose_rep": "Choose a rep",
        "show": "Show",
        "channel_email": "E-mail",
        "channel_webshop_banner": "Webshop banner",
        "channel_phone": "Phone call",
        "channel_visit": "Visit",
        "channel_none": "Nothing now",
        "executed_by_rep": "by you",
        "executed_by_marketing": "by marketing",
        "language": "Language",
        "as_of": "Data as of {date}",
    },
    "de": {
        "app_title": "Symbiose Arbeitsplatz",
        "sign_in": "Anmelden",
        "sign_in_intro": "Melden Sie sich mit Ihrem Zugangsschlüssel an.",
        "token": "Zugangsschlüssel",
        "sign_out": "Abmelden",
        "bad_token": "Dieser Zugangsschlüssel ist unbekannt oder nicht mehr gültig.",
        "bad_form": "Das Formular ist abgelaufen. Bitte erneut versuchen.",
        "signed_in_as": "Angemeldet als {name} ({role})",
        "my_accounts": "Meine Kunden",
        "accounts": "Kunden",
        "scoreboard": "Bilanz",
        "search": "Suchen",
        "search_placeholder": "Kundennummer oder Name",
        "all_channels": "Alle Kanäle",
        "all_regions": "Alle Regionen",
        "all_reps": "Alle Außendienstler",
        "filter": "Filtern",
        "account": "Kunde",
        "region": "Region",
        "rep": "Außendienst",
        "next_best_action": "Nächste beste Aktion",
        "expected_margin": "Erwarteter Zusatz-Deckungsbeitrag",
        "no_accounts": "Keine passenden Kunden.",
        "showing": "{shown} von {total} Kunden",
        "previous": "Zurück",
        "next": "Weiter",
        "firmographics": "Unternehmen",
        "industry": "Branche",
        "employees": "Mitarbeitende",
        "country": "Land",
        "consent_email": "E-Mail-Einwilligung",
        "do_not_contact": "Nicht kontaktieren",
        "yes": "ja",
        "no": "nein",
        "owner": "Betreuer",
        "last_order": "Letzte Bestellung",
        "orders_90d": "Bestellungen der letzten 90 Tage",
        "online": "Online",
        "offline": "Offline",
        "online_share": "Online-Anteil",
        "recent_orders": "Letzte Bestellungen",
        "recent_touches": "Letzte Kontakte",
        "date": "Datum",
        "channel": "Kanal",
        "category": "Kategorie",
        "amount": "Betrag",
        "discount": "Rabatt",
        "offer": "Angebot",
        "none_yet": "Noch keine.",
        "suggestions": "Vorschläge",
        "why": "Warum",
        "guardrail": "höchstens {pct} für dieses Angebot erlaubt",
        "chance": "Bestellchance: {p} mit dieser Aktion, {base} ohne",
        "accept": "Annehmen",
        "done": "Erledigt",
        "dismiss": "Verwerfen",
        "dismiss_because": "Verwerfen, weil …",
        "status_accepted": "Angenommen – bitte als erledigt markieren, wenn es erledigt ist.",
        "status_done": "Erledigt. Danke!",
        "status_dismissed": "Verworfen ({reason}).",
        "reason_not_relevant": "nicht relevant",
        "reason_already_in_contact": "bereits im Kontakt",
        "reason_customer_declined": "Kunde hat abgelehnt",
        "reason_wrong_timing": "falscher Zeitpunkt",
        "reason_other": "anderer Grund",
        "not_found_title": "Nicht gefunden",
        "not_found_text": "Hier gibt es nichts, oder es ist nicht für Sie bestimmt.",
        "back": "Zurück zu meinen Kunden",
        "revenue_month": "Umsatz {period}",
        "revenue_year": "Umsatz {period}",
        "credited_online": "Online nach Ihrer Ansprache",
        "total": "Gesamt",
        "you": "Sie",
        "region_average": "Regionsdurchschnitt",
        "suggestions_accepted": "Angenommene Vorschläge",
        "suggestions_converted": "Erfolgreiche Vorschläge",
        "stage_shown": "Gezeigt",
        "stage_accepted": "Angenommen",
        "stage_done": "Erledigt",
        "stage_converted": "Erfolgreich",
        "chart_revenue_rep": "Monatsumsatz von {name}",
        "chart_revenue_region": "Monatsumsatz der Region {name}",
        "chart_funnel": "Vorschläge von {name}",
        "month": "Monat",
        "revenue": "Umsatz ({currency})",
        "count": "Vorschläge",
        "choose_rep": "Außendienstler wählen",
        "show": "Anzeigen",
        "channel_email": "E-Mail",
        "channel_webshop_banner": "Webshop-Banner",
        "channel_phone": "Anruf",
        "channel_visit": "Besuch",
        "channel_none": "Jetzt nichts",
        "executed_by_rep": "durch Sie",
        "executed_by_marketing": "durch das Marketing",
        "language": "Sprache",
        "as_of": "Datenstand {date}",
    },
}


def choose_language(request: Request) -> str:
    """``?lang=``, else the language cookie, else ``Accept-Language``, else English."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return from_accept_language(request.headers.get("accept-language", ""))


def from_accept_language(header: str) -> str:
    """The supported language with the highest q-value in an ``Accept-Language`` header."""
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        q -= position * 1e-6  # earlier wins among equal q
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


@dataclass(frozen=True)
class Texts:
    """The texts and number/date formats of one language."""

    lang: str

    def __call__(self, key: str, **values: object) -> str:
        """The text ``key`` with ``{placeholders}`` filled (English when missing in this language)."""
        text = MESSAGES[self.lang].get(key) or MESSAGES[DEFAULT_LANGUAGE].get(key, key)
        return text.format(**values) if values else text

    def number(self, value: float | int | None, decimals: int = 0) -> str:
        """``1,234.5`` in English, ``1.234,5`` in German; ``–`` for nothing."""
        return "–" if value is None else format_number(value, decimals, self.lang)

    def money(self, value: float | int | None, currency: str) -> str:
        """``€1,234`` in English, ``1.234 €`` in German (cents below 10)."""
        return "–" if value is None else format_money(float(value), currency, self.lang)

    def percent(self, fraction: float | None, decimals: int = 0) -> str:
        """A fraction as a percentage: ``12%`` in English, ``12 %`` in German."""
        if fraction is None:
            return "–"
        text = self.number(100 * fraction, decimals)
        return f"{text} %" if self.lang == "de" else f"{text}%"

    def points(self, value: float | None) -> str:
        """A percentage given in points (a discount): ``5%`` / ``2,5 %``."""
        return "–" if value is None else format_percent(value, self.lang)

    def date(self, value: Date | datetime | None) -> str:
        if value is None:
            return "–"
        return value.strftime("%d.%m.%Y") if self.lang == "de" else value.strftime("%Y-%m-%d")

    def month(self, value: Date | datetime) -> str:
        return value.strftime("%m/%Y") if self.lang == "de" else value.strftime("%Y-%m")

    def channel(self, name: str | None) -> str:
        key = f"channel_{name}"
        return self(key) if key in MESSAGES[DEFAULT_LANGUAGE] else str(name)

    def reason(self, name: str | None) -> str:
        key = f"reason_{name}"
        return self(key) if key in MESSAGES[DEFAULT_LANGUAGE] else str(name or "")


# Scoreboard, accessibility and offline texts.
MESSAGES["en"].update({
    "chart_revenue_region_average": "Monthly revenue of the average rep in region {name}",
    "credited_online_rep": "Online after the rep's outreach",
    "region_average_of": "Region average: the average of the {count} reps in region {region}",
    "funnel_period": "Suggestions of the current data (as of {date}), each counted once",
    "skip_to_content": "Skip to content",
    "offline_banner": "You are offline: this page was saved at {time}; it is read-only until the network is back.",
    "offline_queued": "Saved offline – it is sent when the network is back.",
    "offline_pending": "{count} answers waiting to be sent",
    "offline_sent": "Answers given offline have been sent.",
})
MESSAGES["de"].update({
    "scoreboard": "Kennzahlen",
    "region_average": "Durchschnitt der Region",
    "chart_revenue_region_average": "Monatsumsatz des durchschnittlichen Außendienstlers der Region {name}",
    "credited_online_rep": "Online nach Ansprache durch den Außendienst",
    "region_average_of": "Durchschnitt der Region: Mittelwert der {count} Außendienstler der Region {region}",
    "funnel_period": "Vorschläge des aktuellen Datenstands ({date}), jeder einmal gezählt",
    "skip_to_content": "Zum Inhalt springen",
    "offline_banner": "Sie sind offline: Diese Seite wurde um {time} gespeichert; bis das Netz zurück ist, "
                      "kann sie nur gelesen werden.",
    "offline_queued": "Offline gespeichert – wird gesendet, sobald das Netz zurück ist.",
    "offline_pending": "{count} Antworten warten auf das Senden",
    "offline_sent": "Offline gegebene Antworten wurden gesendet.",
})
