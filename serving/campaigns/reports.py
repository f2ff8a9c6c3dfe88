"""Measuring a stored campaign on a data directory (shared by the CLI and the HTTP service)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from features.dataset import Dataset
from models.campaigns.report import CampaignReport, campaign_report
from serving.store.campaigns import campaign_members, find_campaign
from serving.store.tables import Campaign


def report_for(session: Session, key: str, dataset: Dataset) -> tuple[Campaign | None, CampaignReport | None]:
    """(campaign, report) for the campaign with id or name ``key``; (None, None) when unknown."""
    campaign = find_campaign(session, key)
    if campaign is None:
        return None, None
    members = campaign_members(session, campaign.id)
    return campaign, campaign_report(dataset, members, pd.Timestamp(campaign.as_of))


def report_rows(report: CampaignReport) -> pd.DataFrame:
    """One flat row per comparison (overall, channels, offers) for export."""
    rows = []
    for c in [report.overall, *report.by_channel, *report.by_offer]:
        flat = {}
        for key, value in c.to_dict().items():
            if isinstance(value, dict):
                flat.update({f"{key}_{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        rows.append(flat)
    return pd.DataFrame(rows)
