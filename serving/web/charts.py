"""Charts of the rep pages as SVG, drawn server-side with matplotlib (Agg, no display).

Monthly revenue offline vs online (stacked bars) and the suggestion funnel (shown → accepted →
done → converted). Text is drawn as paths, never parsed as math, so names cannot inject markup.

Figures are :data:`WIDTH_IN` inches wide with :data:`FONT_PT` text: shown no narrower than a
phone's column (about 320 CSS px), the smallest text stays at least 11 CSS px.
"""

from __future__ import annotations

import io
import threading
from contextlib import AbstractContextManager

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from serving.web.i18n import Texts

OFFLINE_COLOR = "#5b6b7f"
ONLINE_COLOR = "#1f7a70"
FUNNEL_COLOR = "#b97612"
FONT_PT = 12
WIDTH_IN = 4.6
_lock = threading.Lock()  # pyplot's font cache is not thread-safe; figures are drawn one at a time


def _style() -> AbstractContextManager[None]:
    """Text as paths, every text at :data:`FONT_PT`."""
    return matplotlib.rc_context({"svg.fonttype": "path", "font.size": FONT_PT, "legend.fontsize": FONT_PT,
                                  "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT,
                                  "axes.labelsize": FONT_PT})


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")  # exactly WIDTH_IN wide: long labels shrink the plot, not the text
    return buffer.getvalue()


def revenue_svg(months: pd.DataFrame, texts: Texts, currency: str) -> str:
    """Stacked monthly bars: ``months`` has a month index and ``offline``/``online`` columns. The
    title is the page's (a heading above the image, in the page's text size)."""
    with _lock, _style():
        fig = Figure(figsize=(WIDTH_IN, 3.4), layout="constrained")
        ax = fig.subplots()
        labels = [texts.month(m) for m in months.index]
        offline = months["offline"].to_numpy()
        online = months["online"].to_numpy()
        ax.bar(labels, offline, color=OFFLINE_COLOR, label=texts("offline"))
        ax.bar(labels, online, bottom=offline, color=ONLINE_COLOR, label=texts("online"))
        ax.set_ylabel(texts("revenue", currency=currency), parse_math=False)
        ax.yaxis.set_major_formatter(lambda v, _pos: texts.number(v))
        ax.tick_params(axis="x", labelrotation=90)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.02), ncols=2, borderaxespad=0)
        return _svg(fig)


def funnel_svg(counts: dict[str, int], texts: Texts) -> str:
    """Horizontal bars shown → accepted → done → converted."""
    stages = ["shown", "accepted", "done", "converted"]
    with _lock, _style():
        fig = Figure(figsize=(WIDTH_IN, 2.8), layout="constrained")
        ax = fig.subplots()
        labels = [texts(f"stage_{s}") for s in stages]
        values = [counts.get(s, 0) for s in stages]
        bars = ax.barh(labels[::-1], values[::-1], color=FUNNEL_COLOR)
        ax.bar_label(bars, labels=[texts.number(v) for v in values[::-1]], padding=3)
        ax.set_xlabel(texts("count"), parse_math=False)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig)
