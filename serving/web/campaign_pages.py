"""Marketing's campaign pages (``/ui/campaigns``, marketing and admin users): plan a campaign with a
preview of its audience and the solver's summary before saving, list, cancel and export campaigns,
and read the lift report with its chart once outcomes are in. Every action goes through the same
functions as ``/v1/campaigns`` (``serving.api.campaign_views``)."""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Form, Path, Query
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from features.policy import NONE_CHANNEL
from models.campaigns.report import CampaignReport, Comparison
from serving.api import campaign_views
from serving.api.campaign_schemas import CampaignIn, CampaignPreviewOut
from serving.campaigns.export import CSV_DIGITS, export_frame
from serving.campaigns.plot import PlotLabels, report_svg
from serving.campaigns.reports import report_for
from serving.errors import ConflictError, NotFoundError
from serving.snapshot import Snapshot
from serving.store.campaigns import campaign_members, find_campaign
from serving.store.tables import Campaign
from serving.web.context import Page, PageDep
from serving.web.downloads import csv_download, separator
from serving.web.i18n import Texts

router = APIRouter(prefix="/ui/campaigns", include_in_schema=False)
CampaignId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
SEP = Annotated[str, Query(pattern="^[,;]?$")]
REPORT_SECONDS = 60.0
_catalogs: dict[tuple[str, ...], Catalog] = {}
_reports: dict[tuple[str, ...], tuple[float, CampaignReport]] = {}
_reports_lock = threading.Lock()


@dataclass(frozen=True)
class Catalog:
    """What a campaign can use: the served channels and offers (id, name)."""

    channels: list[str]
    offers: list[tuple[str, str]]


def catalog(snap: Snapshot) -> Catalog:
    """The channels and offers of the served suggestions (computed once per snapshot)."""
    found = _catalogs.get(snap.key)
    if found is None:
        cols = snap.suggestions.cols
        channels = sorted({str(c) for c in pd.unique(cols["channel"]) if c != NONE_CHANNEL})
        offers = pd.DataFrame({"id": cols["offer_id"], "name": cols["offer_name"]}).dropna(subset=["id"])
        offers = offers.drop_duplicates("id").sort_values("id")
        found = Catalog(channels, [(str(i), str(n) if isinstance(n, str) and n else str(i))
                                   for i, n in offers.itertuples(index=False)])
        _catalogs.clear()
        _catalogs[snap.key] = found
    return found


def _planner_page(page: Page) -> bool:
    return page.access.may_plan_campaigns


def _not_found(page: Page) -> Response:
    return page.render("not_found.html", status_code=404)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("")
def campaigns_page(page: PageDep) -> Response:
    if not _planner_page(page):
        return _not_found(page)
    with page.runtime.sessions() as session:
        listing = campaign_views.listing(session)
    return page.render("campaigns.html", campaigns=listing.campaigns, currency=page.runtime.snapshot.currency)


@router.get("/new")
def new_campaign_page(page: PageDep) -> Response:
    if not _planner_page(page):
        return _not_found(page)
    return _form_page(page, {"holdout_pct": "10", "min_value": "0", "seed": str(secrets.randbelow(2**31))})


def _form_page(page: Page, values: dict[str, Any], *, preview: CampaignPreviewOut | None = None,
               error: str | None = None, status_code: int = 200) -> Response:
    snap = page.runtime.snapshot
    return page.render("campaigns_new.html", status_code=status_code, values=values, catalog=catalog(snap),
                       preview=preview, error=error, currency=snap.currency, as_of=snap.as_of,
                       empty=empty_text(page.texts, preview.summary, snap.currency) if preview else None)


def _preview_fragment(page: Page, preview: CampaignPreviewOut | None, error: str | None,
                      status_code: int = 200) -> Response:
    currency = page.runtime.snapshot.currency
    return page.render("campaigns_preview.html", status_code=status_code, preview=preview, error=error,
                       currency=currency, empty=empty_text(page.texts, preview.summary, currency) if preview else None)


def empty_text(texts: Texts, summary: dict[str, Any], currency: str) -> str | None:
    """Why the planned campaign would contact nobody, in the page's language (None if it contacts someone)."""
    empty = summary.get("empty")
    if not empty:
        return None
    code = empty["code"]
    if code == "no_room":
        budget = empty.get("total_budget")
        return texts("campaign_empty_no_room", cost=texts.money(empty["cheapest_cost"], currency),
                     budget="–" if budget is None else texts.money(budget, currency))
    if code == "all_excluded":
        names = ", ".join(f"{c['name']} ({texts.number(c['members'])})" for c in summary.get("other_campaigns", []))
        return texts("campaign_empty_all_excluded", accounts=texts.number(empty["accounts"]),
                     in_other=texts.number(empty["in_other_campaign"]), names=names or "–",
                     accepted=texts.number(empty["accepted_rep_action"]))
    if code == "all_held_out":
        return texts("campaign_empty_all_held_out", members=texts.number(empty["members"]))
    return texts("campaign_empty_no_candidates")


class FormProblem(ValueError):
    """A form field that cannot be read (``field`` names it for the message)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _number(form: FormData, field: str) -> float | None:
    """A decimal field (``1234.5`` or ``1234,5``); None when empty."""
    raw = str(form.get(field) or "").strip().replace(" ", "")
    if not raw:
        return None
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        raise FormProblem(field) from None
    if not math.isfinite(value) or value < 0:
        raise FormProblem(field)
    return value


def form_values(form: FormData) -> dict[str, Any]:
    """The submitted fields as the form shows them again (text, chosen lists)."""
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if isinstance(v, str) and len(v) <= 200}
    values["channels"] = [str(v) for v in form.getlist("channels")]
    values["offers"] = [str(v) for v in form.getlist("offers")]
    return values


def campaign_body(form: FormData, known: Catalog) -> CampaignIn:
    """The plan the form asks for; :class:`FormProblem` or pydantic's ValidationError otherwise."""
    holdout = _number(form, "holdout_pct")
    budgets = {}
    for channel in known.channels:
        amount = _number(form, f"budget_{channel}")
        if amount is not None:
            budgets[channel] = amount
    max_accounts = _number(form, "max_accounts")
    seed = str(form.get("seed") or "").strip()
    if max_accounts is not None and not max_accounts.is_integer():
        raise FormProblem("max_accounts")
    if seed and not seed.isdigit():
        raise FormProblem("seed")
    return CampaignIn.model_validate({
        "name": str(form.get("name") or "").strip(),
        "channels": [str(c) for c in form.getlist("channels")] or None,
        "offers": [str(o) for o in form.getlist("offers")] or None,
        "budget": _number(form, "budget"), "channel_budgets": budgets,
        "max_accounts": None if max_accounts is None else int(max_accounts),
        "min_incremental_margin": _number(form, "min_value") or 0.0,
        "holdout": 0.1 if holdout is None else holdout / 100.0,
        "seed": int(seed) if seed else None})


def _form_error(texts: Texts, exc: Exception) -> str:
    if isinstance(exc, FormProblem):
        if exc.field.startswith("budget_"):
            return texts("campaign_bad_field", field=f"{texts.channel(exc.field[7:])}: {texts('campaign_field_budget')}")
        return texts("campaign_bad_field", field=texts(f"campaign_field_{exc.field}"))
    assert isinstance(exc, ValidationError)
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first.get("loc") else "name"
    names = {"holdout": "holdout_pct", "min_incremental_margin": "min_value", "channel_budgets": "budget"}
    return texts("campaign_bad_field", field=texts(f"campaign_field_{names.get(field, field)}"))


async def _submitted(page: Page) -> tuple[FormData, dict[str, Any], CampaignIn | str]:
    """(form, its values, the asked plan or the message saying what is wrong); checks CSRF."""
    form = await page.request.form()
    page.check_csrf(str(form.get("csrf_token") or ""))
    values = form_values(form)
    try:
        return form, values, campaign_body(form, catalog(page.runtime.snapshot))
    except (FormProblem, ValidationError) as exc:
        return form, values, _form_error(page.texts, exc)


@router.post("/preview")
async def preview_campaign(page: PageDep) -> Response:
    if not _planner_page(page):
        return _not_found(page)
    _form, values, body = await _submitted(page)
    fragment = bool(page.request.headers.get("hx-request"))
    if isinstance(body, str):
        if fragment:
            return _preview_fragment(page, None, body)  # htmx swaps 2xx answers only
        return _form_page(page, values, error=body, status_code=422)
    try:
        preview = await run_in_threadpool(_preview, page, body)
    except ConflictError as exc:
        message = page.texts("campaign_refused", detail=str(exc))
        if fragment:
            return _preview_fragment(page, None, message)
        return _form_page(page, values, error=message, status_code=409)
    if fragment:
        return _preview_fragment(page, preview, None)
    return _form_page(page, values, preview=preview)


def _preview(page: Page, body: CampaignIn) -> CampaignPreviewOut:
    with page.runtime.sessions() as session:
        return campaign_views.preview(page.runtime, session, body)


@router.post("")
async def save_campaign(page: PageDep) -> Response:
    if not _planner_page(page):
        return _not_found(page)
    _form, values, body = await _submitted(page)
    if isinstance(body, str):
        return _form_page(page, values, error=body, status_code=422)
    try:
        created = await run_in_threadpool(_create, page, body)
    except campaign_views.NobodyToContact as exc:
        reason = empty_text(page.texts, exc.summary, page.runtime.snapshot.currency)
        return _form_page(page, values, error=page.texts("campaign_refused", detail=reason), status_code=409)
    except ConflictError as exc:
        return _form_page(page, values, error=page.texts("campaign_refused", detail=str(exc)), status_code=409)
    return _see_other(f"/ui/campaigns/{created}")


def _create(page: Page, body: CampaignIn) -> str:
    with page.runtime.sessions() as session:
        return campaign_views.create(page.runtime, session, page.access, body).campaign_id


def _campaign(page: Page, campaign_id: str) -> Campaign | None:
    """The campaign with exactly this id, for a caller who may plan campaigns; None otherwise."""
    if not _planner_page(page):
        return None
    with page.runtime.sessions() as session:
        found = find_campaign(session, campaign_id)
    return found if found is not None and found.id == campaign_id else None


def measured(page: Page, campaign: Campaign) -> CampaignReport:
    """The campaign's report on the data directory as it is now (kept ``REPORT_SECONDS``)."""
    key = (campaign.id, str(page.runtime.snapshot.data_dir))
    now = time.monotonic()
    with _reports_lock:
        found = _reports.get(key)
    if found is not None and now - found[0] < REPORT_SECONDS:
        return found[1]
    dataset = campaign_views.current_dataset(page.runtime)
    with page.runtime.sessions() as session:
        _found, result = report_for(session, campaign.id, dataset)
    if result is None:
        raise NotFoundError(f"campaign {campaign.id!r} not found")
    with _reports_lock:
        if len(_reports) > 64:
            _reports.clear()
        _reports[key] = (now, result)
    return result


def outcomes_in(campaign: Campaign, report: CampaignReport) -> bool:
    """Whether any data after the campaign's as-of has arrived (its report means something)."""
    return report.observed_until is not None and report.observed_until > pd.Timestamp(campaign.as_of)


def report_rows(report: CampaignReport, texts: Texts, offer_names: dict[str, str]) -> list[dict[str, Any]]:
    """The report's comparisons labelled in the page's language, NaN as None."""
    rows = []
    for c in [report.overall, *report.by_channel, *report.by_offer]:
        rows.append({"label": group_label(c, report, texts, offer_names), "c": c,
                     "lift": _finite(c.conversion_lift.estimate, c.conversion_lift.low, c.conversion_lift.high),
                     "net": _finite(c.incremental_margin.estimate, c.incremental_margin.low,
                                    c.incremental_margin.high),
                     "conv_c": _one(c.conversion_contacted), "conv_h": _one(c.conversion_holdout),
                     "planned": _one(c.planned_incremental_margin)})
    return rows


def group_label(c: Comparison, report: CampaignReport, texts: Texts, offer_names: dict[str, str]) -> str:
    if c is report.overall:
        return texts("campaign_all")
    kind, _, name = c.group.partition(" ")
    return texts.channel(name) if kind == "channel" else offer_names.get(name, name)


def _one(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _finite(estimate: float, low: float, high: float) -> tuple[float | None, float | None, float | None]:
    return _one(estimate), _one(low), _one(high)


@router.get("/{campaign_id}")
def campaign_page(page: PageDep, campaign_id: CampaignId) -> Response:
    campaign = _campaign(page, campaign_id)
    if campaign is None:
        return _not_found(page)
    with page.runtime.sessions() as session:
        described = campaign_views.describe(session, campaign.id)
    snap = page.runtime.snapshot
    try:
        report = measured(page, campaign)
    except ConflictError:
        report = None
    offers = dict(catalog(snap).offers)
    return page.render("campaigns_detail.html", campaign=described, report=report,
                       outcomes=report is not None and outcomes_in(campaign, report),
                       rows=report_rows(report, page.texts, offers) if report is not None else [],
                       offers=offers, currency=snap.currency)


@router.post("/{campaign_id}/cancel")
def cancel_campaign(page: PageDep, campaign_id: CampaignId,
                    csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    page.check_csrf(csrf_token)
    if _campaign(page, campaign_id) is None:
        return _not_found(page)
    with page.runtime.sessions() as session:
        campaign_views.cancel(page.runtime, session, campaign_id)
    return _see_other(f"/ui/campaigns/{campaign_id}")


@router.get("/{campaign_id}/export.csv")
def export_csv(page: PageDep, campaign_id: CampaignId, sep: SEP = "") -> Response:
    campaign = _campaign(page, campaign_id)
    if campaign is None:
        return _not_found(page)
    snap = page.runtime.snapshot
    with page.runtime.sessions() as session:
        members = campaign_members(session, campaign.id)
    frame = export_frame(members, campaign_views.account_names(snap, members["account_id"].astype(str).tolist()))
    return csv_download(frame, f"campaign-{campaign.name}.csv", separator(page.texts, sep), digits=CSV_DIGITS)


@router.get("/{campaign_id}/report.svg")
def report_chart(page: PageDep, campaign_id: CampaignId) -> Response:
    campaign = _campaign(page, campaign_id)
    if campaign is None:
        return _not_found(page)
    report = measured(page, campaign)
    t = page.texts
    labels = PlotLabels(conversion=t("campaign_chart_conversion"), margin=t("campaign_chart_margin"),
                        planned=t("campaign_planned"), overall=t("campaign_all"))
    svg = report_svg(_localized(report, t), t("campaign_chart_title", name=campaign.name), labels)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=60"})


def _localized(report: CampaignReport, texts: Texts) -> CampaignReport:
    """The report with its channel rows named in the page's language (for the chart)."""
    channels = [replace(c, group=texts.channel(c.group.partition(" ")[2])) for c in report.by_channel]
    return replace(report, by_channel=channels)

