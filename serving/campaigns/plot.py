"""The campaign report's picture: conversion and margin per account, contacted vs holdout, with
95 % intervals of the differences, overall and per channel."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from models.campaigns.report import CampaignReport, Comparison


def plot_report(report: CampaignReport, path: str | Path, title: str) -> Path:
    """Write a PNG with two panels (conversion lift, incremental margin per contacted account)."""
    path = Path(path)
    rows: list[Comparison] = [report.overall, *report.by_channel]
    labels = [c.group for c in rows]
    fig = Figure(figsize=(11, 0.6 * len(rows) + 2.2))
    axes = fig.subplots(1, 2, sharey=True)
    panels = ((axes[0], [c.conversion_lift for c in rows], "conversion rate, contacted − holdout", 100.0, "pp"),
              (axes[1], [c.incremental_margin for c in rows], "incremental margin per contacted account", 1.0, ""))
    for ax, intervals, name, scale, unit in panels:
        y = list(range(len(rows)))
        est = [i.estimate * scale for i in intervals]
        err_low = [max((i.estimate - i.low) * scale, 0.0) if i.low == i.low else 0.0 for i in intervals]
        err_high = [max((i.high - i.estimate) * scale, 0.0) if i.high == i.high else 0.0 for i in intervals]
        ax.errorbar(est, y, xerr=[err_low, err_high], fmt="o", capsize=4, color="#1f5f8b")
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.set_title(name + (f" ({unit})" if unit else ""), fontsize=10)
        ax.set_yticks(y, labels)
    planned = [c.planned_incremental_margin for c in rows]
    axes[1].scatter(planned, list(range(len(rows))), marker="x", color="#c0392b", label="planned")
    axes[1].legend(loc="lower right", fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
