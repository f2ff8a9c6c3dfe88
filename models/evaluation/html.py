"""Self-contained HTML reports (plots embedded as base64 PNG): the evaluation's, and the page
machinery other reports (monitoring) share: :func:`render_template` and :func:`write_page`."""

from __future__ import annotations

import base64
import math
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from models.evaluation.report import EvaluationReport

TEMPLATE = "report.html.j2"


def render_template(template: str, images: dict[str, Path], **context: object) -> str:
    """The template ``template`` of this folder rendered with ``context``; ``images`` ({kind: PNG
    path}) are embedded as data URIs (``images.<kind>`` in the template)."""
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["j2", "html"]))
    embedded = {kind: "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
                for kind, path in images.items()}
    return env.get_template(template).render(images=embedded, fmt=_fmt, nan=float("nan"), **context)


def write_page(html: str, path: Path) -> Path:
    """Write ``html`` to ``path`` atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path


def render_html(report: EvaluationReport, images: dict[str, Path], level: float = 0.95) -> str:
    """The report as one HTML page; ``images`` ({kind: PNG path}) are embedded."""
    return render_template(TEMPLATE, images, r=report, level=round(level * 100),
                           policies=report.policy_table().to_dict("records"),
                           reliability=report.reliability.to_dict("records"),
                           qini=report.qini_table().to_dict("records"))


def write_report(report: EvaluationReport, directory: Path) -> Path:
    """Write the PNG plots and ``report.html`` into ``directory``; returns the HTML path."""
    from models.evaluation.plots import write_plots

    write_plots(report, directory)
    return write_html(report, directory)


def write_html(report: EvaluationReport, directory: Path) -> Path:
    """(Re)write ``report.html`` in ``directory``, embedding the plots already written there."""
    from models.evaluation.plots import PLOT_FILES

    directory.mkdir(parents=True, exist_ok=True)
    images = {kind: directory / name for kind, name in PLOT_FILES.items() if (directory / name).exists()}
    return write_page(render_html(report, images), directory / "report.html")


def _fmt(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.2f}"
