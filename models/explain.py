"""Plain-language reasons for suggestions, from the model's own feature contributions.

For each suggested action, LightGBM's ``pred_contrib`` gives how much every feature moved the
predicted conversion for that account; the strongest positive contributions whose feature
declaration has a reason template become reasons about the account's own history. Reasons are
kept as data (``features.reason_texts.Reason``) so each reader gets them in their own language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.definitions import FeatureSpec, spec_reason
from features.reason_texts import Reason


def history_reasons(contrib: np.ndarray, raw: pd.DataFrame, categories: np.ndarray,
                    specs: list[FeatureSpec], columns: list[str], max_reasons: int = 3,
                    currency: str = "EUR") -> list[list[Reason]]:
    """Up to ``max_reasons`` reasons per row, strongest contribution first (each sentence once).

    ``contrib``: (n, len(columns) + 1) contributions in model column order (last = bias);
    ``raw``: the unencoded feature values of the same rows; ``categories``: the category each row
    is about (used in sentences like "ordered {category} 4 times in the last 90 days").
    """
    by_name = {s.name: s for s in specs}
    explainable = [i for i, c in enumerate(columns) if c in by_name and by_name[c].reason]
    out: list[list[Reason]] = [[] for _ in range(len(raw))]
    if not explainable or len(raw) == 0:
        return out
    sub = contrib[:, explainable]
    order = np.argsort(-sub, axis=1)
    values = raw[[columns[i] for i in explainable]].to_numpy(dtype=object)
    for r in range(len(raw)):
        sentences: list[str] = []
        reasons: list[Reason] = []
        for j in order[r]:
            if sub[r, j] <= 0 or len(sentences) >= max_reasons:
                break
            spec = by_name[columns[explainable[j]]]
            reason = spec_reason(spec, values[r, j], categories[r], currency)
            text = reason.text("en", currency) if reason is not None else None
            if text and text not in sentences:
                sentences.append(text)
                reasons.append(reason)  # type: ignore[arg-type]
        out[r] = reasons
    return out


#: Said when an action was seen rarely in the history, so its estimate leans on its average effect.
THIN_EVIDENCE = Reason("thin_evidence")


def value_reason(value: float, discount_pct: float) -> Reason:
    """Why this action: its expected extra margin, and that the discount is already paid for."""
    if discount_pct > 0:
        return Reason("expected_value_discount", {"amount": float(value), "discount_pct": float(discount_pct)})
    return Reason("expected_value", {"amount": float(value)})
