"""Population stability index (PSI) of one column between a reference and a current sample.

``PSI = sum_i (c_i - r_i) * ln(c_i / r_i)`` over bins ``i``, with ``r_i`` and ``c_i`` the
reference and current shares of the bin. Numeric columns are cut at quantiles of the reference
(so each reference bin holds about the same share); missing values form a bin of their own.
Categorical columns are compared level by level; levels the reference never saw share one bin.
Empty bins get a share of ``epsilon`` so the logarithm stays finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

#: Share given to an empty bin (on either side) so that ln(c / r) stays finite.
EPSILON = 1e-4
#: Quantile bins of a numeric column (fewer when the reference has fewer distinct values).
DEFAULT_BINS = 10
#: Levels of a categorical column kept by name; rarer ones share the "other" bin.
MAX_LEVELS = 50
MISSING = "(missing)"
OTHER = "(other)"

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class ColumnReference:
    """The reference distribution of one column: its bins and the share of each.

    Numeric: ``edges`` are the interior cut points (bin ``i`` holds ``edges[i-1] < x <= edges[i]``),
    ``shares`` has ``len(edges) + 2`` entries (the bins, then missing). Categorical: ``levels``
    are the named levels, ``shares`` has ``len(levels) + 2`` entries (the levels, other, missing).
    """

    name: str
    kind: Kind
    shares: tuple[float, ...]
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()
    n: int = 0

    def labels(self) -> list[str]:
        """A readable name of each bin, in the order of ``shares``."""
        if self.kind == "categorical":
            return [*self.levels, OTHER, MISSING]
        cuts = ["-inf", *(f"{e:.4g}" for e in self.edges), "inf"]
        return [f"({lo}, {hi}]" for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)] + [MISSING]

    def counts(self, values: pd.Series) -> np.ndarray:
        """How many of ``values`` fall in each bin (same order as ``shares``)."""
        if self.kind == "categorical":
            missing = values.isna().to_numpy()
            text = values.astype(object).where(~missing, None).astype(str).to_numpy()
            codes = pd.Index(self.levels).get_indexer(text)
            codes = np.where(codes < 0, len(self.levels), codes)
            codes = np.where(missing, len(self.levels) + 1, codes)
            return np.bincount(codes, minlength=len(self.levels) + 2).astype(float)
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(x)
        codes = np.searchsorted(np.asarray(self.edges, dtype=np.float64), x[~missing], side="left")
        counts = np.bincount(codes, minlength=len(self.edges) + 1).astype(float)
        return np.append(counts, float(missing.sum()))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "shares": list(self.shares),
                "edges": list(self.edges), "levels": list(self.levels), "n": self.n}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnReference:
        kind = data.get("kind")
        if kind not in ("numeric", "categorical"):
            raise ValueError(f"reference column {data.get('name')!r}: kind must be numeric or categorical, "
                             f"got {kind!r}")
        return cls(name=str(data["name"]), kind=kind, shares=tuple(float(s) for s in data["shares"]),
                   edges=tuple(float(e) for e in data.get("edges", ())),
                   levels=tuple(str(v) for v in data.get("levels", ())), n=int(data.get("n", 0)))


def column_reference(name: str, values: pd.Series, kind: Kind, bins: int = DEFAULT_BINS) -> ColumnReference:
    """The reference distribution of ``values``: quantile bins (numeric) or levels (categorical)."""
    if bins < 2:
        raise ValueError(f"bins: expected at least 2, got {bins}")
    if kind == "categorical":
        counts = values.dropna().astype(str).value_counts()
        levels = tuple(str(v) for v in counts.index[:MAX_LEVELS])
        ref = ColumnReference(name, kind, (), levels=levels, n=len(values))
    else:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        finite = x[np.isfinite(x)]
        edges: tuple[float, ...] = ()
        if len(finite):
            cuts = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1], method="lower")
            # Right-closed bins: a cut at the maximum would leave its bin above always empty.
            edges = tuple(float(c) for c in np.unique(cuts) if c < finite.max())
        ref = ColumnReference(name, kind, (), edges=edges, n=len(values))
    counts = ref.counts(values)
    total = counts.sum()
    shares = tuple(float(c / total) for c in counts) if total else tuple(0.0 for _ in counts)
    return ColumnReference(ref.name, ref.kind, shares, ref.edges, ref.levels, ref.n)


def psi(reference: ColumnReference, values: pd.Series, epsilon: float = EPSILON) -> float:
    """PSI of ``values`` against ``reference`` (NaN when either side has no values)."""
    counts = reference.counts(values)
    if not counts.sum() or not sum(reference.shares):
        return math.nan
    return psi_from_shares(np.asarray(reference.shares), counts / counts.sum(), epsilon)


def psi_from_shares(reference: np.ndarray, current: np.ndarray, epsilon: float = EPSILON) -> float:
    """PSI of two share vectors over the same bins; empty bins count as ``epsilon``."""
    r = np.maximum(np.asarray(reference, dtype=np.float64), epsilon)
    c = np.maximum(np.asarray(current, dtype=np.float64), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def stability(references: dict[str, ColumnReference], current: pd.DataFrame, *, group: str,
              epsilon: float = EPSILON) -> pd.DataFrame:
    """One row per reference column present in ``current``: column, group, kind, psi, sizes."""
    rows = [{"column": name, "group": group, "kind": ref.kind, "psi": psi(ref, current[name], epsilon),
             "reference_n": ref.n, "current_n": int(len(current))}
            for name, ref in references.items() if name in current.columns]
    return pd.DataFrame(rows, columns=["column", "group", "kind", "psi", "reference_n", "current_n"])
