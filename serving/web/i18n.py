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
        "executed_by_rep_other": "by the rep",
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
        "executed_by_rep_other": "durch den Außendienst",
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


# The rep's day, display-only account columns and card reasons.
MESSAGES["en"].update({
    "my_day": "My day",
    "all_my_accounts": "All my accounts",
    "due": "Due",
    "rep_action": "Your call or visit",
    "no_rep_work": "No call or visit worth {value} or more right now.",
    "showing_rep_day": "{shown} of {total} accounts with a call or visit worth {value} or more",
    "planned_by_marketing": "planned by marketing",
    "marketing_note": "Marketing carries this out; nothing to do for you.",
    "marketing_read_only": "Marketing carries out this action; it cannot be changed here.",
    "minor": "minor (below {value})",
    "why_this": "Why this action",
    "talking_points": "Talking points",
    "about_account": "About this account",
    "why_versus": "{channel}: {value} expected; best other channels: {others}.",
    "why_channel_value": "{channel} {value}",
    "why_only_channel": "{channel}: {value} expected; no other channel is expected to pay off now.",
    "why_discount_pays": "The {pct} discount pays back: {gain} more than the same offer without it ({without}).",
    "why_discount_included": "The cost of the {pct} discount is already deducted.",
    "why_response": "Recent response: {parts}.",
    "why_response_part": "{channel}: ordered after {ordered} of {touches}",
    "talk_offer": "Offer: {offer}.",
    "talk_offer_discount": "Offer: {offer} with a {pct} discount.",
    "talk_last_order": "Last order {date}: {category}, {amount}.",
    "talk_no_order": "No order on record yet: ask what they need.",
    "talk_online": "{share} of their revenue in the last 90 days came online.",
    "outcome": "Outcome",
    "outcome_reached": "Reached",
    "outcome_not_reached": "Not reached",
    "outcome_order_expected": "Order expected",
    "status_done_outcome": "Done: {outcome}.",
    "status_snoozed": "Snoozed until {date}.",
    "status_snoozed_plain": "Snoozed.",
    "snoozed_line": "{channel} snoozed until {date}",
    "snooze": "Snooze …",
    "snooze_until": "Until",
    "snooze_confirm": "Snooze",
    "undo": "Undo",
    "add_note": "Note …",
    "note": "Note",
    "note_hint": "Saved with the next button you press.",
    "contact": "Contact",
    "contact_name": "Contact person",
    "contact_phone": "Phone",
    "contact_email": "E-mail",
    "crm": "CRM",
    "open_in_crm": "Open in CRM",
    "attr_segment": "Segment",
    "attr_credit_limit_eur": "Credit limit",
    "due_contact_cap": "{channel}: cap of {limit} per 30 days reached, possible from {date}",
    "due_quiet_period": "quiet period of {days} days after the last order, possible from {date}",
    "later_action": "Your next call or visit here, worth {value}; not possible today, so there is no button yet:",
})
MESSAGES["de"].update({
    "my_day": "Mein Tag",
    "all_my_accounts": "Alle meine Kunden",
    "due": "Fällig",
    "rep_action": "Ihr Anruf oder Besuch",
    "due_contact_cap": "{channel}: Obergrenze von {limit} pro 30 Tage erreicht, möglich ab {date}",
    "due_quiet_period": "Ruhezeit von {days} Tagen nach der letzten Bestellung, möglich ab {date}",
    "later_action": "Ihr nächster Anruf oder Besuch hier, Wert {value}; heute noch nicht möglich, daher noch ohne Knopf:",
    "no_rep_work": "Zurzeit kein Anruf oder Besuch mit mindestens {value}.",
    "showing_rep_day": "{shown} von {total} Kunden mit einem Anruf oder Besuch ab {value}",
    "planned_by_marketing": "vom Marketing geplant",
    "marketing_note": "Das Marketing führt dies aus; für Sie ist nichts zu tun.",
    "marketing_read_only": "Diese Aktion führt das Marketing aus; sie kann hier nicht geändert werden.",
    "minor": "geringfügig (unter {value})",
    "why_this": "Warum diese Aktion",
    "talking_points": "Gesprächspunkte",
    "about_account": "Zu diesem Kunden",
    "why_versus": "{channel}: {value} erwartet; beste andere Kanäle: {others}.",
    "why_channel_value": "{channel} {value}",
    "why_only_channel": "{channel}: {value} erwartet; kein anderer Kanal lohnt sich zurzeit.",
    "why_discount_pays": "Der Rabatt von {pct} lohnt sich: {gain} mehr als dasselbe Angebot ohne Rabatt ({without}).",
    "why_discount_included": "Die Kosten des Rabatts von {pct} sind bereits abgezogen.",
    "why_response": "Reaktion zuletzt: {parts}.",
    "why_response_part": "{channel}: nach {ordered} von {touches} bestellt",
    "talk_offer": "Angebot: {offer}.",
    "talk_offer_discount": "Angebot: {offer} mit {pct} Rabatt.",
    "talk_last_order": "Letzte Bestellung {date}: {category}, {amount}.",
    "talk_no_order": "Noch keine Bestellung: nach dem Bedarf fragen.",
    "talk_online": "{share} des Umsatzes der letzten 90 Tage kamen online.",
    "outcome": "Ergebnis",
    "outcome_reached": "Erreicht",
    "outcome_not_reached": "Nicht erreicht",
    "outcome_order_expected": "Bestellung erwartet",
    "status_done_outcome": "Erledigt: {outcome}.",
    "status_snoozed": "Zurückgestellt bis {date}.",
    "status_snoozed_plain": "Zurückgestellt.",
    "snoozed_line": "{channel} zurückgestellt bis {date}",
    "snooze": "Zurückstellen …",
    "snooze_until": "Bis",
    "snooze_confirm": "Zurückstellen",
    "undo": "Rückgängig",
    "add_note": "Notiz …",
    "note": "Notiz",
    "note_hint": "Wird mit der nächsten gedrückten Schaltfläche gespeichert.",
    "contact": "Kontakt",
    "contact_name": "Ansprechpartner",
    "contact_phone": "Telefon",
    "contact_email": "E-Mail",
    "crm": "CRM",
    "open_in_crm": "Im CRM öffnen",
    "attr_segment": "Segment",
    "attr_credit_limit_eur": "Kreditlimit",
})


# Team page and campaign pages ------------------------------------------------------------------
MESSAGES["en"].update({
    "team": "Team",
    "team_of_region": "Team of region {region}",
    "team_period": "Period",
    "team_month": "This month",
    "team_year": "This year",
    "team_period_month": "Revenue of this month, {start} to {end}",
    "team_period_year": "Revenue of this year, {start} to {end}",
    "team_caption": "Revenue in the period; suggestions: distinct suggestions shown, accepted, done, converted",
    "team_no_reps": "No reps in this region.",
    "team_rep_id": "Rep id",
    "team_accounts": "Accounts",
    "team_offline_revenue": "Offline ({currency})",
    "team_online_revenue": "Online ({currency})",
    "team_online_revenue_after_outreach": "Online credited ({currency})",
    "team_shown": "Shown",
    "team_accepted": "Accepted",
    "team_done": "Done",
    "team_converted": "Converted",
    "team_open_tasks": "Open tasks",
    "team_drill_down": "Details",
    "team_list": "List",
    "team_name": "Name",
    "team_offer": "Offer",
    "expected_margin_currency": "Expected incremental margin ({currency})",
    "download_csv": "Download CSV",
    "campaigns": "Campaigns",
    "campaign_plan_new": "Plan a campaign",
    "campaign_plan_intro": "Planned from the suggestions as of {date}; nothing is saved before you press Save.",
    "campaign_none_yet": "No campaigns yet.",
    "campaign_name": "Name",
    "campaign_planned_on": "Planned",
    "campaign_status": "Status",
    "campaign_status_active": "Active",
    "campaign_status_cancelled": "Cancelled",
    "campaign_contacted": "Contacted",
    "campaign_holdout": "Control group",
    "campaign_cost": "Contact cost ({currency})",
    "campaign_expected": "Expected incremental margin ({currency})",
    "campaign_channels": "Channels",
    "campaign_offers": "Offers",
    "campaign_none_means_all": "none chosen: all",
    "campaign_channel_budget": "budget ({currency})",
    "campaign_budget": "Total budget ({currency})",
    "campaign_holdout_pct": "Control group (% of the audience)",
    "campaign_min_value": "Minimum expected margin per account ({currency})",
    "campaign_max_accounts": "Most accounts",
    "campaign_preview": "Preview",
    "campaign_save": "Save campaign",
    "campaign_computing": "Computing…",
    "campaign_preview_of": "Preview: {name} (not saved)",
    "campaign_warn_other": "{n} accounts are left out as members of active campaigns ({names}).",
    "campaign_warn_accepted": "{n} accounts are left out: their rep accepted a rep action in the last 14 days.",
    "campaign_warn_name": "A campaign with this name exists already; choose another name to save.",
    "campaign_solver_milp": "Optimal within {gap} (mixed-integer program, {pairs} candidate pairs, {seconds} s).",
    "campaign_solver_greedy": "Greedy selection: {reason}",
    "campaign_per_channel": "Per channel",
    "campaign_per_region": "Contacted per region",
    "campaign_top_audience": "The {n} most valuable contacted accounts",
    "campaign_empty_no_candidates": "This campaign would contact nobody: no account has an eligible action on "
                                    "these channels and offers worth more than the minimum.",
    "campaign_empty_all_excluded": "This campaign would contact nobody: all {accounts} accounts with an eligible "
                                   "action are left out — {in_other} are already in an active campaign ({names}), "
                                   "{accepted} have a rep action accepted in the last 14 days. Cancel a campaign "
                                   "or plan after its attribution window.",
    "campaign_empty_no_room": "This campaign would contact nobody: the budgets and limits leave no room (the cheapest "
                              "contact costs {cost}, total budget {budget}).",
    "campaign_empty_all_held_out": "This campaign would contact nobody: its {members} account(s) all went to "
                                   "the control group. Lower the control group or widen the limits.",
    "campaign_bad_field": "Please check the field “{field}”.",
    "campaign_field_name": "Name",
    "campaign_field_budget": "Budget",
    "campaign_field_holdout_pct": "Control group",
    "campaign_field_min_value": "Minimum expected margin",
    "campaign_field_max_accounts": "Most accounts",
    "campaign_field_seed": "Seed",
    "campaign_field_channels": "Channels",
    "campaign_field_offers": "Offers",
    "campaign_refused": "Not saved: {detail}",
    "campaign_heading": "Campaign {name}",
    "campaign_export_csv": "Export CSV",
    "campaign_export_excel_de": "Export for German Excel (;)",
    "campaign_cancel": "Cancel campaign…",
    "campaign_cancel_explained": "Its rep actions leave the reps' lists and its accounts are free for other "
                                 "campaigns. Exports already sent are not recalled.",
    "campaign_cancel_confirm": "Yes, cancel this campaign",
    "campaign_report": "Lift report",
    "campaign_report_no_data": "The service has no data directory; the report is not available.",
    "campaign_report_pending": "No outcomes yet: the report appears once orders after the campaign arrive "
                               "(attribution window {start} to {end}).",
    "campaign_report_window": "Attribution window {start} to {end}",
    "campaign_report_incomplete": "incomplete, data until {date}",
    "campaign_group": "Group",
    "campaign_conv_contacted": "Conversion contacted",
    "campaign_conv_holdout": "Conversion control",
    "campaign_lift_pp": "Lift (pp) [95 %]",
    "campaign_net": "Incremental margin per contacted ({currency}) [95 %]",
    "campaign_planned_per": "Planned per contacted ({currency})",
    "campaign_report_note": "– : not measurable (a group has fewer than two accounts).",
    "campaign_chart_title": "Campaign {name}: contacted vs control group",
    "campaign_chart_conversion": "Conversion rate, contacted − control (pp)",
    "campaign_chart_margin": "Incremental margin per contacted account",
    "campaign_planned": "planned",
    "campaign_all": "All",
    "campaign_card": "Campaign: {name}",
})
MESSAGES["de"].update({
    "team": "Team",
    "team_of_region": "Team der Region {region}",
    "team_period": "Zeitraum",
    "team_month": "Dieser Monat",
    "team_year": "Dieses Jahr",
    "team_period_month": "Umsatz dieses Monats, {start} bis {end}",
    "team_period_year": "Umsatz dieses Jahres, {start} bis {end}",
    "team_caption": "Umsatz im Zeitraum; Vorschläge: verschiedene gezeigte, angenommene, erledigte, erfolgreiche",
    "team_no_reps": "Keine Außendienstler in dieser Region.",
    "team_rep_id": "Außendienst-Nr.",
    "team_accounts": "Kunden",
    "team_offline_revenue": "Offline ({currency})",
    "team_online_revenue": "Online ({currency})",
    "team_online_revenue_after_outreach": "Online zugeordnet ({currency})",
    "team_shown": "Gezeigt",
    "team_accepted": "Angenommen",
    "team_done": "Erledigt",
    "team_converted": "Erfolgreich",
    "team_open_tasks": "Offene Aufgaben",
    "team_drill_down": "Details",
    "team_list": "Liste",
    "team_name": "Name",
    "team_offer": "Angebot",
    "expected_margin_currency": "Erwarteter Zusatzdeckungsbeitrag ({currency})",
    "download_csv": "CSV herunterladen",
    "campaigns": "Kampagnen",
    "campaign_plan_new": "Kampagne planen",
    "campaign_plan_intro": "Geplant aus den Vorschlägen mit Datenstand {date}; gespeichert wird erst mit „Speichern“.",
    "campaign_none_yet": "Noch keine Kampagnen.",
    "campaign_name": "Name",
    "campaign_planned_on": "Geplant",
    "campaign_status": "Status",
    "campaign_status_active": "Aktiv",
    "campaign_status_cancelled": "Abgebrochen",
    "campaign_contacted": "Kontaktiert",
    "campaign_holdout": "Kontrollgruppe",
    "campaign_cost": "Kontaktkosten ({currency})",
    "campaign_expected": "Erwarteter Zusatzdeckungsbeitrag ({currency})",
    "campaign_channels": "Kanäle",
    "campaign_offers": "Angebote",
    "campaign_none_means_all": "keine Auswahl: alle",
    "campaign_channel_budget": "Budget ({currency})",
    "campaign_budget": "Gesamtbudget ({currency})",
    "campaign_holdout_pct": "Kontrollgruppe (% der Zielgruppe)",
    "campaign_min_value": "Mindestwert je Kunde ({currency})",
    "campaign_max_accounts": "Höchstens Kunden",
    "campaign_preview": "Vorschau",
    "campaign_save": "Kampagne speichern",
    "campaign_computing": "Wird berechnet…",
    "campaign_preview_of": "Vorschau: {name} (nicht gespeichert)",
    "campaign_warn_other": "{n} Kunden bleiben außen vor, weil sie in laufenden Kampagnen sind ({names}).",
    "campaign_warn_accepted": "{n} Kunden bleiben außen vor: ihr Außendienst hat in den letzten 14 Tagen eine "
                              "Aktion angenommen.",
    "campaign_warn_name": "Eine Kampagne mit diesem Namen gibt es schon; zum Speichern einen anderen Namen wählen.",
    "campaign_solver_milp": "Optimal bis auf {gap} (gemischt-ganzzahliges Programm, {pairs} Kandidatenpaare, "
                            "{seconds} s).",
    "campaign_solver_greedy": "Gierige Auswahl: {reason}",
    "campaign_per_channel": "Je Kanal",
    "campaign_per_region": "Kontaktiert je Region",
    "campaign_top_audience": "Die {n} wertvollsten kontaktierten Kunden",
    "campaign_empty_no_candidates": "Diese Kampagne würde niemanden erreichen: kein Kunde hat auf diesen Kanälen "
                                    "und Angeboten eine zulässige Aktion über dem Mindestwert.",
    "campaign_empty_all_excluded": "Diese Kampagne würde niemanden erreichen: alle {accounts} Kunden mit "
                                   "zulässiger Aktion bleiben außen vor — {in_other} sind schon in einer laufenden "
                                   "Kampagne ({names}), bei {accepted} hat der Außendienst in den letzten 14 Tagen "
                                   "eine Aktion angenommen. Eine Kampagne abbrechen oder nach ihrem "
                                   "Zuordnungszeitraum planen.",
    "campaign_empty_no_room": "Diese Kampagne würde niemanden erreichen: Budgets und Grenzen lassen keinen Kontakt zu "
                              "(der günstigste Kontakt kostet {cost}, Gesamtbudget {budget}).",
    "campaign_empty_all_held_out": "Diese Kampagne würde niemanden erreichen: ihre {members} Kunden sind alle in "
                                   "der Kontrollgruppe. Kontrollgruppe verkleinern oder Grenzen erweitern.",
    "campaign_bad_field": "Bitte das Feld „{field}“ prüfen.",
    "campaign_field_name": "Name",
    "campaign_field_budget": "Budget",
    "campaign_field_holdout_pct": "Kontrollgruppe",
    "campaign_field_min_value": "Mindestwert",
    "campaign_field_max_accounts": "Höchstens Kunden",
    "campaign_field_seed": "Startwert",
    "campaign_field_channels": "Kanäle",
    "campaign_field_offers": "Angebote",
    "campaign_refused": "Nicht gespeichert: {detail}",
    "campaign_heading": "Kampagne {name}",
    "campaign_export_csv": "CSV exportieren",
    "campaign_export_excel_de": "Export für deutsches Excel (;)",
    "campaign_cancel": "Kampagne abbrechen…",
    "campaign_cancel_explained": "Ihre Aktionen verschwinden aus den Listen des Außendiensts, ihre Kunden sind "
                                 "für andere Kampagnen frei. Bereits verschickte Exporte werden nicht zurückgeholt.",
    "campaign_cancel_confirm": "Ja, diese Kampagne abbrechen",
    "campaign_report": "Wirkungsbericht",
    "campaign_report_no_data": "Der Dienst hat kein Datenverzeichnis; der Bericht ist nicht verfügbar.",
    "campaign_report_pending": "Noch keine Ergebnisse: der Bericht erscheint, sobald Bestellungen nach der "
                               "Kampagne vorliegen (Zuordnungszeitraum {start} bis {end}).",
    "campaign_report_window": "Zuordnungszeitraum {start} bis {end}",
    "campaign_report_incomplete": "unvollständig, Daten bis {date}",
    "campaign_group": "Gruppe",
    "campaign_conv_contacted": "Abschlussquote kontaktiert",
    "campaign_conv_holdout": "Abschlussquote Kontrolle",
    "campaign_lift_pp": "Zuwachs (Pp.) [95 %]",
    "campaign_net": "Zusatzdeckungsbeitrag je Kontakt ({currency}) [95 %]",
    "campaign_planned_per": "Geplant je Kontakt ({currency})",
    "campaign_report_note": "– : nicht messbar (eine Gruppe hat weniger als zwei Kunden).",
    "campaign_chart_title": "Kampagne {name}: kontaktiert gegen Kontrollgruppe",
    "campaign_chart_conversion": "Abschlussquote, kontaktiert − Kontrolle (Pp.)",
    "campaign_chart_margin": "Zusatzdeckungsbeitrag je kontaktiertem Kunden",
    "campaign_planned": "geplant",
    "campaign_all": "Alle",
    "campaign_card": "Kampagne: {name}",
})


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


# Downloads of the pages' lists. An accessible name starts with the visible text ("Download CSV").
MESSAGES["en"].update({
    "export_table": "Table",
    "export_figure": "Figure",
    "export_list_label": "Download CSV: this list, all {count} rows",
    "export_rep_list_label": "CSV: account list of {name}",
    "export_team_label": "Download CSV: team table of region {region}",
    "export_scoreboard_label": "Download CSV: scoreboard of {name}",
})
MESSAGES["de"].update({
    "export_table": "Tabelle",
    "export_figure": "Kennzahl",
    "export_list_label": "CSV herunterladen: diese Liste, alle {count} Zeilen",
    "export_rep_list_label": "CSV: Kundenliste von {name}",
    "export_team_label": "CSV herunterladen: Teamtabelle der Region {region}",
    "export_scoreboard_label": "CSV herunterladen: Kennzahlen von {name}",
})
