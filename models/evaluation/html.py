"""The self-contained HTML report of an evaluation (plots embedded as base64 PNG)."""

from __future__ import annotations

import base64
import math
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from models.evaluation.report import EvaluationReport

TEMPLATE = "report.html.j2"


def render_html(report: EvaluationReport, images: dict[str, Path], level: float = 0.95) -> str:
    """The report as one HTML page; ``images`` ({kind: PNG path}) are embedded."""
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["j2", "html"]))
    embedded = {kind: "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
                for kind, path in images.items()}
    return env.get_template(TEMPLATE).render(
        r=report, images=embedded, level=round(level * 100),
        policies=report.policy_table().to_dict("records"),
        reliability=report.reliability.to_dict("records"),
        qini=report.qini_table().to_dict("records"), fmt=_fmt, nan=float("nan"))


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
    path = directory / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(report, images), encoding="utf-8")
    tmp.replace(path)
    return path


def _fmt(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.2f}"
