"""Charts of the rep pages as SVG, drawn server-side with matplotlib (Agg, no display).

Monthly revenue offline vs online (stacked bars) and the suggestion funnel (shown → accepted →
done → converted). Text is drawn as paths, never parsed as math, so names cannot inject markup.
"""

from __future__ import annotations

import io
import threading

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from serving.web.i18n import Texts

OFFLINE_COLOR = "#5b6b7f"
ONLINE_COLOR = "#2a9d8f"
FUNNEL_COLOR = "#e9a03b"
_lock = threading.Lock()  # pyplot's font cache is not thread-safe; figures are drawn one at a time


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()


def revenue_svg(months: pd.DataFrame, title: str, texts: Texts, currency: str) -> str:
    """Stacked monthly bars: ``months`` has a month index and ``offline``/``online`` columns."""
    with _lock, matplotlib.rc_context({"svg.fonttype": "path", "font.size": 9}):
        fig = Figure(figsize=(6.4, 2.8))
        ax = fig.subplots()
        labels = [texts.month(m) for m in months.index]
        offline = months["offline"].to_numpy()
        online = months["online"].to_numpy()
        ax.bar(labels, offline, color=OFFLINE_COLOR, label=texts("offline"))
        ax.bar(labels, online, bottom=offline, color=ONLINE_COLOR, label=texts("online"))
        ax.set_title(title, parse_math=False, loc="left")
        ax.set_ylabel(texts("revenue", currency=currency), parse_math=False)
        ax.yaxis.set_major_formatter(lambda v, _pos: texts.number(v))
        ax.tick_params(axis="x", labelrotation=45)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        return _svg(fig)


def funnel_svg(counts: dict[str, int], title: str, texts: Texts) -> str:
    """Horizontal bars shown → accepted → done → converted."""
    stages = ["shown", "accepted", "done", "converted"]
    with _lock, matplotlib.rc_context({"svg.fonttype": "path", "font.size": 9}):
        fig = Figure(figsize=(6.4, 2.2))
        ax = fig.subplots()
        labels = [texts(f"stage_{s}") for s in stages]
        values = [counts.get(s, 0) for s in stages]
        bars = ax.barh(labels[::-1], values[::-1], color=FUNNEL_COLOR)
        ax.bar_label(bars, labels=[texts.number(v) for v in values[::-1]], padding=3)
        ax.set_title(title, parse_math=False, loc="left")
        ax.set_xlabel(texts("count"), parse_math=False)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig)
