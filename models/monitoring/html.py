"""The monitoring report as files: PNG plots and one self-contained ``monitor.html``, made with the
evaluation report's page and plot machinery (``models.evaluation.html`` and ``.plots``)."""

from __future__ import annotations

from pathlib import Path

from models.evaluation.html import render_template, write_page
from models.evaluation.plots import calibration_bars, psi_bars
from models.monitoring.psi import EPSILON
from models.monitoring.report import MonitorReport

TEMPLATE = "monitor.html.j2"
PLOT_FILES = {"psi": "psi.png", "calibration": "calibration.png"}
HTML_FILE = "monitor.html"


def write_monitor_report(report: MonitorReport, directory: Path) -> Path:
    """Write the plots and ``monitor.html`` into ``directory``; returns the HTML path."""
    directory.mkdir(parents=True, exist_ok=True)
    images: dict[str, Path] = {}
    t = report.thresholds
    if report.stability["psi"].notna().any():
        images["psi"] = psi_bars(report.stability, directory / PLOT_FILES["psi"], watch=t.psi_watch, drift=t.psi_drift)
    if len(report.calibration):
        images["calibration"] = calibration_bars(report.calibration, directory / PLOT_FILES["calibration"])
    html = render_template(TEMPLATE, images, r=report, t=t, epsilon=EPSILON,
                           stability=report.stability.to_dict("records"),
                           calibration=report.calibration.to_dict("records"),
                           calibration_by_offer=report.calibration_by_offer.to_dict("records"),
                           feedback=report.feedback.to_dict("records"))
    return write_page(html, directory / HTML_FILE)
