"""Plain-language reasons for suggestions, from the model's own feature contributions.

For each suggested action, LightGBM's ``pred_contrib`` gives how much every feature moved the
predicted conversion for that account; the strongest positive contributions whose feature
declaration has a reason template are rendered as sentences about the account's own history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.definitions import FeatureSpec, format_money, render_reason


def history_reasons(contrib: np.ndarray, raw: pd.DataFrame, categories: np.ndarray,
                    specs: list[FeatureSpec], columns: list[str], max_reasons: int = 3,
                    currency: str = "EUR") -> list[list[str]]:
    """Up to ``max_reasons`` sentences per row, strongest contribution first.

    ``contrib``: (n, len(columns) + 1) contributions in model column order (last = bias);
    ``raw``: the unencoded feature values of the same rows; ``categories``: the category each row
    is about (used in sentences like "ordered {category} 4 times in the last 90 days").
    """
    by_name = {s.name: s for s in specs}
    explainable = [i for i, c in enumerate(columns) if c in by_name and by_name[c].reason]
    out: list[list[str]] = [[] for _ in range(len(raw))]
    if not explainable or len(raw) == 0:
        return out
    sub = contrib[:, explainable]
    order = np.argsort(-sub, axis=1)
    values = raw[[columns[i] for i in explainable]].to_numpy(dtype=object)
    for r in range(len(raw)):
        sentences: list[str] = []
        for j in order[r]:
            if sub[r, j] <= 0 or len(sentences) >= max_reasons:
                break
            spec = by_name[columns[explainable[j]]]
            text = render_reason(spec, values[r, j], categories[r], currency)
            if text and text not in sentences:
                sentences.append(text)
        out[r] = sentences
    return out


#: Said when an action was seen rarely in the history, so its estimate leans on its average effect.
THIN_EVIDENCE_REASON = "few past examples of this offer on this channel: the estimate leans on its average effect"


def money(x: float, currency: str = "EUR") -> str:
    """An amount the way a rep reads it (see ``features.definitions.format_money``)."""
    return format_money(x, currency)


def value_reason(value: float, discount_pct: float, currency: str = "EUR") -> str:
    """Why this action: its expected extra margin, and that the discount is already paid for."""
    text = f"expected {money(value, currency)} extra margin over no outreach, after costs"
    if discount_pct > 0:
        text += f" and the {discount_pct:g}% discount"
    return text
