"""Plain-language reasons for suggestions, from the model's own feature contributions.

For each suggested action, LightGBM's ``pred_contrib`` gives how much every feature moved the
predicted conversion for that account; the strongest positive contributions whose feature
declaration has a reason template become reasons about the account's own history. Reasons are
kept as data (``features.reason_texts.Reason``) so each reader gets them in their own language.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from features.definitions import FeatureSpec, SpecReasons
from features.reason_texts import AmountReasons, Reason


def history_reasons(contrib: np.ndarray, raw: pd.DataFrame, categories: np.ndarray,
                    specs: list[FeatureSpec], columns: list[str], max_reasons: int = 3,
                    currency: str = "EUR") -> list[list[Reason]]:
    """Up to ``max_reasons`` reasons per row, strongest contribution first (each sentence once).

    ``contrib``: (n, len(columns) + 1) contributions in model column order (last = bias);
    ``raw``: the unencoded feature values of the same rows; ``categories``: the category each row
    is about (used in sentences like "ordered {category} 4 times in the last 90 days").
    """
    return [found.reasons for found in
            HistoryExplainer(specs, columns, max_reasons, currency).explain(contrib, raw, categories)]


class Explained(NamedTuple):
    """The history reasons of one row, their English sentences joined by "; " and their JSON data
    joined by "," (items of ``features.reason_texts.json_list``; "" when there is none)."""

    reasons: list[Reason]
    text: str
    data: str


_NOTHING = Explained([], "", "")


class HistoryExplainer:
    """:func:`history_reasons` for many rows: each distinct (feature, value, category) is turned into a
    reason, its English sentence and its JSON data once, and they come back joined per row."""

    def __init__(self, specs: list[FeatureSpec], columns: list[str], max_reasons: int = 3,
                 currency: str = "EUR"):
        self.by_name = {s.name: s for s in specs}
        self.columns = columns
        self.explainable = [i for i, c in enumerate(columns) if c in self.by_name and self.by_name[c].reason]
        # Whether each explainable feature's sentence names the category (else the reason is the
        # same for every category, and made once per value).
        self._by_category = [_names_category(self.by_name[columns[i]]) for i in self.explainable]
        self.max_reasons = max_reasons
        self.currency = currency
        self._said: dict[tuple[int, Any, Any], tuple[Reason, str, str] | None] = {}
        self._reasons = [SpecReasons(self.by_name[columns[i]], currency) for i in self.explainable]

    def _reason(self, j: int, value: Any, category: Any) -> tuple[Reason, str, str] | None:
        key = (j, value, category if self._by_category[j] else None)
        try:
            return self._said[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: no caching
            key = None  # type: ignore[assignment]
        said = self._reasons[j].said(value, category)
        if key is not None:
            self._said[key] = said
        return said

    def explain(self, contrib: np.ndarray, raw: pd.DataFrame, categories: np.ndarray,
                rows: np.ndarray | None = None) -> list[Explained]:
        """The :class:`Explained` reasons of each row of ``contrib``; row r's feature values are
        ``raw.iloc[rows[r]]`` (``rows`` None: ``raw.iloc[r]``), its category ``categories[r]``."""
        n = len(contrib)
        out: list[Explained] = [_NOTHING] * n
        if not self.explainable or n == 0:
            return out
        sub = contrib[:, self.explainable]
        order = np.argsort(-sub, axis=1)
        positive = np.take_along_axis(sub, order, axis=1) > 0
        where = np.arange(n) if rows is None else np.asarray(rows)
        values = [raw[self.columns[i]].to_numpy() for i in self.explainable]
        for r in range(n):
            sentences: list[str] = []
            reasons: list[Reason] = []
            data: list[str] = []
            at, category = where[r], categories[r]
            for k, j in enumerate(order[r]):
                if not positive[r, k] or len(sentences) >= self.max_reasons:
                    break
                said = self._reason(int(j), values[j][at], category)
                if said is not None and said[1] not in sentences:
                    sentences.append(said[1])
                    reasons.append(said[0])
                    data.append(said[2])
            out[r] = Explained(reasons, "; ".join(sentences), ",".join(data))
        return out


def _names_category(spec: FeatureSpec) -> bool:
    """Whether the spec's reason depends on the category (``features.definitions.spec_reason``)."""
    return "{category" in (spec.reason or "")


#: Said when an action was seen rarely in the history, so its estimate leans on its average effect.
THIN_EVIDENCE = Reason("thin_evidence")


def value_reason(value: float, discount_pct: float) -> Reason:
    """Why this action: its expected extra margin, and that the discount is already paid for."""
    if discount_pct > 0:
        return Reason("expected_value_discount", {"amount": float(value), "discount_pct": float(discount_pct)})
    return Reason("expected_value", {"amount": float(value)})


def value_reasons(values: np.ndarray, discount_pct: np.ndarray, currency: str = "EUR") -> tuple[list[str], list[str]]:
    """The English sentence and JSON data (``features.reason_texts.reason_json``) of
    :func:`value_reason` for many rows, made per discount in bulk."""
    values = np.asarray(values, dtype=float)
    discount_pct = np.asarray(discount_pct, dtype=float)
    texts: list[str] = [""] * len(values)
    data: list[str] = [""] * len(values)
    distinct, which = np.unique(discount_pct, return_inverse=True)
    for k, d in enumerate(distinct):
        rows = np.flatnonzero(which.ravel() == k)
        probe = value_reason(0.0, float(d))
        fixed = {name: v for name, v in probe.values.items() if name != "amount"}
        bulk = AmountReasons(probe.key, fixed, "en", currency)
        amounts = values[rows].tolist()
        for r, text, item in zip(rows.tolist(), bulk.texts(amounts), bulk.data(amounts), strict=True):
            texts[r], data[r] = text, item
    return texts, data
