"""PNG plots of an evaluation report (reliability curve, Qini curves, policy values with intervals)
and of a monitoring report (PSI bars, predicted against realized conversion per channel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.evaluation.report import EvaluationReport

#: File names of the plots, by what they show.
PLOT_FILES = {"reliability": "reliability.png", "qini": "qini.png", "policy_values": "policy_values.png"}


def write_plots(report: EvaluationReport, directory: Path) -> dict[str, Path]:
    """Write the report's plots into ``directory``; returns {kind: path} of the files written
    (the Qini and policy plots are skipped when the holdout has no logged propensities)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {"reliability": _reliability(report, directory / PLOT_FILES["reliability"])}
    if report.qini:
        written["qini"] = _qini(report, directory / PLOT_FILES["qini"])
    if report.policies:
        written["policy_values"] = _policy_values(report, directory / PLOT_FILES["policy_values"])
    return written


def _reliability(report: EvaluationReport, path: Path) -> Path:
    curve = report.reliability
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    top = max(float(curve["mean_predicted"].max()), float(curve["observed_rate"].max()), 0.05) * 1.05 \
        if len(curve) else 1.0
    ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    ax.plot(curve["mean_predicted"], curve["observed_rate"], marker="o", label="holdout")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted conversion probability")
    ax.set_ylabel("observed conversion rate")
    ece = report.classification.get("calibration_error", float("nan"))
    ax.set_title(f"Reliability (ECE {ece:.4f}, equal-count bins)")
    ax.legend(loc="upper left")
    return _save(fig, path)


def _qini(report: EvaluationReport, path: Path) -> Path:
    channels = sorted({q.channel for q in report.qini})
    cols = min(len(channels), 4)
    rows = -(-len(channels) // cols)
    fig = Figure(figsize=(4.5 * cols, 4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for ax in axes.ravel()[len(channels):]:
        ax.set_visible(False)
    for ax, channel in zip(axes.ravel(), channels, strict=False):
        for q in (q for q in report.qini if q.channel == channel):
            line = ax.plot(q.fraction, q.gain, label=f"{q.offer_id} ({q.coefficient:+.3f})")[0]
            ax.plot([0, 1], [0, q.gain[-1]], color=line.get_color(), linestyle=":", linewidth=0.8)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(channel)
        ax.set_xlabel("share of accounts targeted (by predicted lift)")
        ax.legend(fontsize=7, title="offer (Qini)", title_fontsize=7)
    for row in axes:
        row[0].set_ylabel("extra conversions per account")
    fig.suptitle("Qini curves against `none` (dotted: random targeting)")
    return _save(fig, path)


def _policy_values(report: EvaluationReport, path: Path) -> Path:
    table = report.policy_table()
    policies = list(dict.fromkeys(table["policy"]))
    estimators = list(dict.fromkeys(table["estimator"]))
    fig = Figure(figsize=(7, 0.6 * len(policies) * len(estimators) + 1.5))
    ax = fig.subplots()
    y = 0.0
    ticks, labels = [], []
    colors = {name: f"C{i}" for i, name in enumerate(estimators)}
    for policy in policies:
        for est in estimators:
            row = table[(table["policy"] == policy) & (table["estimator"] == est)]
            if row.empty:
                continue
            r = row.iloc[0]
            err = np.array([[max(r["value"] - r["low"], 0.0)], [max(r["high"] - r["value"], 0.0)]])
            err = np.nan_to_num(err)
            ax.errorbar(r["value"], y, xerr=err, fmt="o", color=colors[est], capsize=3,
                        label=est if policy == policies[0] else None)
            ticks.append(y)
            labels.append(f"{policy} ({est})")
            y -= 1
        y -= 0.5
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("policy value per decision (margin in the window − contact cost)")
    ax.set_title(f"Policy values on {report.decisions:,} holdout decisions\n"
                 f"({report.n_boot} bootstrap resamples, 95 % intervals)")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


VERDICT_COLOURS = {"drift": "#c0392b", "watch": "#e6a23c", "ok": "#4c8c4a"}


def psi_bars(table: pd.DataFrame, path: Path, *, watch: float, drift: float, top: int = 25) -> Path:
    """Horizontal bars of the ``top`` largest PSIs of ``table`` (columns: column, group, psi and
    optionally verdict), coloured by verdict (else by the band they fall in), with the watch and
    drift thresholds as lines."""
    shown = table.dropna(subset=["psi"]).sort_values("psi", ascending=False).head(top).iloc[::-1]
    fig = Figure(figsize=(8, 0.28 * max(len(shown), 4) + 1.5))
    ax = fig.subplots()
    if "verdict" in shown:  # the verdict may differ from the band (features without a window)
        colours = shown["verdict"].map(VERDICT_COLOURS).fillna("#999999").to_numpy()
    else:
        colours = np.where(shown["psi"] > drift, "#c0392b", np.where(shown["psi"] > watch, "#e6a23c", "#4c8c4a"))
    labels = [f"{c} ({g})" if g != "feature" else str(c) for c, g in zip(shown["column"], shown["group"], strict=True)]
    ax.barh(np.arange(len(shown)), shown["psi"], color=colours)
    ax.set_yticks(np.arange(len(shown)), labels, fontsize=8)
    ax.axvline(watch, color="#e6a23c", linestyle="--", linewidth=1, label=f"watch ({watch:g})")
    ax.axvline(drift, color="#c0392b", linestyle="--", linewidth=1, label=f"drift ({drift:g})")
    ax.set_xlabel("population stability index (training snapshot vs latest data)")
    ax.set_title(f"Largest PSIs ({len(shown)} of {len(table)} columns)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def calibration_bars(table: pd.DataFrame, path: Path) -> Path:
    """Predicted (mean ``p_convert``) against realized conversion with its interval, one row per
    group of ``table`` (columns: channel, predicted, realized, low, high, decisions)."""
    shown = table.iloc[::-1].reset_index(drop=True)
    fig = Figure(figsize=(7, 0.5 * max(len(shown), 2) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(shown))
    err = np.nan_to_num(np.vstack([np.maximum(shown["realized"] - shown["low"], 0),
                                   np.maximum(shown["high"] - shown["realized"], 0)]).astype(float))
    ax.errorbar(shown["realized"], y, xerr=err, fmt="o", color="C0", capsize=3, label="realized (interval)")
    ax.scatter(shown["predicted"], y, marker="x", color="C3", zorder=3, label="predicted")
    ax.set_yticks(y, [f"{c} ({int(n):,})" for c, n in zip(shown["channel"], shown["decisions"], strict=True)])
    ax.set_xlabel("conversion rate of carried-out suggestions")
    ax.set_title("Predicted against realized conversion (decisions in brackets)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
