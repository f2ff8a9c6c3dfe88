"""The campaign report's picture: conversion and margin per account, contacted vs holdout, with
95 % intervals of the differences, overall and per channel — as a PNG file (command line) or SVG
text (the campaign page, in its language)."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from models.campaigns.report import CampaignReport, Comparison

_lock = threading.Lock()  # matplotlib's font cache is not thread-safe: one figure at a time


@dataclass(frozen=True)
class PlotLabels:
    """The words of the picture (English by default)."""

    conversion: str = "conversion rate, contacted − holdout (pp)"
    margin: str = "incremental margin per contacted account"
    planned: str = "planned"
    overall: str = "all"


def report_figure(report: CampaignReport, title: str, labels: PlotLabels | None = None) -> Figure:
    """Two panels (conversion lift, incremental margin per contacted account) with 95 % intervals;
    groups without an estimate are listed without a point."""
    labels = labels or PlotLabels()
    rows: list[Comparison] = [report.overall, *report.by_channel]
    names = [labels.overall if c is report.overall else c.group for c in rows]
    fig = Figure(figsize=(11, 0.6 * len(rows) + 2.2))
    axes = fig.subplots(1, 2, sharey=True)
    panels = ((axes[0], [c.conversion_lift for c in rows], labels.conversion, 100.0),
              (axes[1], [c.incremental_margin for c in rows], labels.margin, 1.0))
    for ax, intervals, name, scale in panels:
        y = list(range(len(rows)))
        est = [i.estimate * scale for i in intervals]
        err_low = [max((i.estimate - i.low) * scale, 0.0) if i.low == i.low else 0.0 for i in intervals]
        err_high = [max((i.high - i.estimate) * scale, 0.0) if i.high == i.high else 0.0 for i in intervals]
        ax.errorbar(est, y, xerr=[err_low, err_high], fmt="o", capsize=4, color="#1f5f8b")
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.set_title(name, fontsize=11)
        ax.set_yticks(y, names)
        ax.tick_params(labelsize=11)
    planned = [c.planned_incremental_margin for c in rows]
    axes[1].scatter(planned, list(range(len(rows))), marker="x", color="#c0392b", label=labels.planned)
    axes[1].legend(loc="lower right", fontsize=11)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


def plot_report(report: CampaignReport, path: str | Path, title: str) -> Path:
    """Write the picture as a PNG to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, matplotlib.rc_context({"text.parse_math": False}):
        report_figure(report, title).savefig(path, dpi=110)
    return path


def report_svg(report: CampaignReport, title: str, labels: PlotLabels) -> str:
    """The picture as SVG text, its text drawn as paths (names cannot inject markup)."""
    buffer = io.StringIO()
    with _lock, matplotlib.rc_context({"svg.fonttype": "path", "text.parse_math": False}):
        report_figure(report, title, labels).savefig(buffer, format="svg")
    return buffer.getvalue()
