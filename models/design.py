"""Design matrix: account/category features plus action features, as LightGBM sees them.

The same object encodes training rows (logged touches) and scoring rows (account × action),
so categorical levels learned at fit time are applied identically at scoring time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.definitions import FeatureSpec
from features.policy import NONE_CHANNEL

#: Action features: what the model knows about the action being scored.
ACTION_SPECS: list[FeatureSpec] = [
    FeatureSpec("action_channel", "categorical", "action",
                "channel of the action (`none` = no outreach)", reason_when="never"),
    FeatureSpec("action_offer_id", "categorical", "action",
                "offer of the action (missing for `none`)", reason_when="never"),
    FeatureSpec("action_discount_pct", "numeric", "action",
                "discount granted by the action, in percent", reason_when="never"),
    FeatureSpec("action_is_contact", "numeric", "action",
                "1 when the action contacts the account, 0 for `none`", reason_when="never"),
    FeatureSpec("action_executed_by_rep", "numeric", "action",
                "1 when a field rep executes the action (phone, visit)", reason_when="never"),
]
#: The account's own history with the channel of the action being scored: lets one pooled model
#: learn that an account's response differs by channel without one model per channel.
CONTEXT_KINDS = {
    "touch_count": "touches of this channel in the last {w} days",
    "days_since_touch": "days since the last touch on this channel",
    "touches_judged": "earlier touches on this channel whose outcome is known",
    "responses": "earlier touches on this channel followed by an order",
    "response_rate": "share of earlier touches on this channel followed by an order",
}
ACTION_COLUMNS = [s.name for s in ACTION_SPECS]
#: The action column that holds the discount.
DISCOUNT_COLUMN = "action_discount_pct"
#: Conversion never falls as the discount rises (LightGBM monotone constraint).
MONOTONE_INCREASING = (DISCOUNT_COLUMN,)


def action_frame(channel: pd.Series | np.ndarray, offer_id: pd.Series | np.ndarray,
                 discount_pct: pd.Series | np.ndarray, executed_by: pd.Series | np.ndarray) -> pd.DataFrame:
    """The action feature columns for aligned arrays of action attributes."""
    channel = np.asarray(channel, dtype=object)
    is_contact = (channel != NONE_CHANNEL).astype(np.float32)
    return pd.DataFrame({
        "action_channel": channel,
        "action_offer_id": np.asarray(offer_id, dtype=object),
        "action_discount_pct": np.asarray(discount_pct, dtype=np.float32),
        "action_is_contact": is_contact,
        "action_executed_by_rep": (np.asarray(executed_by, dtype=object) == "rep").astype(np.float32),
    })


def context_specs(specs: list[FeatureSpec]) -> list[tuple[FeatureSpec, dict[str, str]]]:
    """Action-context features derived from per-channel account features: (spec, channel -> source column)."""
    groups: dict[tuple[str, int | None], dict[str, str]] = {}
    for spec in specs:
        if spec.kind in CONTEXT_KINDS and spec.key and spec.scope == "account" and spec.dtype == "numeric":
            groups.setdefault((spec.kind, spec.window_days), {})[spec.key] = spec.name
    out = []
    for (kind, window), sources in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        name = f"action_channel_{kind}" + (f"_{window}d" if window else "")
        desc = CONTEXT_KINDS[kind].format(w=window)
        out.append((FeatureSpec(name, "numeric", "action", desc, window_days=window,
                                reason_when="never"), sources))
    return out


@dataclass
class DesignMatrix:
    """Encodes feature frames for LightGBM: numerics as float32, strings as pandas categoricals
    with the levels seen at fit time (unseen levels become missing)."""

    specs: list[FeatureSpec]
    levels_: dict[str, list[str]] = field(default_factory=dict)

    @property
    def context(self) -> list[tuple[FeatureSpec, dict[str, str]]]:
        return context_specs(self.specs)

    @property
    def all_specs(self) -> list[FeatureSpec]:
        return [*self.specs, *ACTION_SPECS, *(spec for spec, _ in self.context)]

    @property
    def columns(self) -> list[str]:
        return [s.name for s in self.all_specs]

    @property
    def account_columns(self) -> list[str]:
        """Columns that describe the account and category only (no action)."""
        return [s.name for s in self.specs]

    @property
    def categorical_columns(self) -> list[str]:
        return [s.name for s in self.all_specs if s.dtype == "categorical"]

    def fit(self, frame: pd.DataFrame) -> DesignMatrix:
        """Learn categorical levels from a frame holding all feature and action columns."""
        context_names = {spec.name for spec, _ in self.context}
        missing = [c for c in self.columns if c not in frame.columns and c not in context_names]
        if missing:
            raise KeyError(f"design matrix: frame lacks columns {missing[:5]}; has {list(frame.columns)[:10]}...")
        self.levels_ = {
            c: sorted(frame[c].dropna().astype(str).unique().tolist()) for c in self.categorical_columns
        }
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Columns in model order with model dtypes (float32, categoricals with the fitted levels);
        missing columns become NaN. The same values as :meth:`encode`, as a DataFrame for fitting."""
        X = self.encode(frame)
        out: dict[str, object] = {}
        for j, spec in enumerate(self.all_specs):
            if spec.dtype == "categorical":
                codes = np.nan_to_num(X[:, j], nan=-1).astype(np.int64)
                out[spec.name] = pd.Categorical.from_codes(codes, categories=self.levels_.get(spec.name, []))
            else:
                out[spec.name] = X[:, j]
        return pd.DataFrame(out, index=frame.index)

    def _encode_column(self, spec: FeatureSpec, frame: pd.DataFrame) -> np.ndarray:
        n = len(frame)
        if spec.name not in frame.columns:
            return np.full(n, np.nan, dtype=np.float32)
        col = frame[spec.name]
        if spec.dtype == "categorical":
            codes = pd.Index(self.levels_.get(spec.name, []), dtype=object).get_indexer(
                col.astype(object).where(col.notna(), None)).astype(np.float32)
            codes[codes < 0] = np.nan  # missing or a level not seen in training
            return codes
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """The encoding of :meth:`transform` as one float32 matrix (categoricals as level codes,
        unknown levels NaN): what LightGBM predicts from without pandas overhead. Action and
        action-context columns are NaN unless ``frame`` has ``action_channel``."""
        # Column by column into a column-major matrix, then one copy into rows (LightGBM's order).
        by_column = np.full((len(self.columns), len(frame)), np.nan, dtype=np.float32)
        context_names = {spec.name for spec, _ in self.context}
        for j, spec in enumerate(self.all_specs):
            if spec.name not in context_names:
                by_column[j] = self._encode_column(spec, frame)
        out = np.ascontiguousarray(by_column.T)
        if "action_channel" in frame.columns:
            self._fill_context(out, frame["action_channel"].to_numpy(dtype=object))
        return out

    def encoded(self, X: pd.DataFrame) -> np.ndarray:
        """The float matrix of :meth:`encode` for a frame :meth:`transform` made (categoricals as
        level codes, missing as NaN), without going back to the raw values."""
        out = np.empty((len(X), len(self.columns)), dtype=np.float32)
        for j, name in enumerate(self.columns):
            col = X[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                codes = col.cat.codes.to_numpy()
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = col.to_numpy(dtype=np.float32, na_value=np.nan)
        return out

    def with_actions(self, X: np.ndarray, act: pd.DataFrame) -> np.ndarray:
        """Rows of an encoded matrix ``X`` with the action columns of ``act`` (raw values, aligned)
        and the action-context columns filled in; ``X`` itself is not modified."""
        X = np.array(X, dtype=np.float32, copy=True)
        act = act.reset_index(drop=True)
        columns = self.columns
        for spec in ACTION_SPECS:
            if spec.name in act.columns:
                X[:, columns.index(spec.name)] = self._encode_column(spec, act)
        self._fill_context(X, act["action_channel"].to_numpy(dtype=object))
        return X

    def action_codes(self, act: pd.DataFrame) -> np.ndarray:
        """(len(act), len(ACTION_SPECS)) float32: the encoded action columns of :func:`action_frame`
        rows, as :meth:`with_actions` writes them (encode each distinct action once, then index)."""
        act = act.reset_index(drop=True)
        return np.column_stack([self._encode_column(spec, act) for spec in ACTION_SPECS]).astype(np.float32)

    def context_sources(self, channels: np.ndarray) -> np.ndarray:
        """(len(channels), len(context)) int64: for each channel and action-context column, the
        position of the account column it copies (-1 = missing for that channel)."""
        columns = self.columns
        channels = np.asarray(channels, dtype=object)
        out = np.full((len(channels), len(self.context)), -1, dtype=np.int64)
        for j, (_spec, sources) in enumerate(self.context):
            for channel, source in sources.items():
                if source in columns:
                    out[channels == channel, j] = columns.index(source)
        return out

    def fill_actions(self, out: np.ndarray, encoded: np.ndarray, rows: np.ndarray, codes: np.ndarray,
                     sources: np.ndarray) -> np.ndarray:
        """Write into ``out`` (float32, C-contiguous, ``len(rows)`` rows) the rows ``encoded[rows]``
        with action columns ``codes`` (one row of :meth:`action_codes` per row) and action-context
        columns copied from ``sources`` (:meth:`context_sources` per row): the matrix
        :meth:`with_actions` makes, built without a frame per row. Each block of columns is written
        in one pass over the rows."""
        np.take(encoded, rows, axis=0, out=out, mode="clip")  # "raise" would buffer a copy
        action, context = self._action_positions
        out[:, action] = codes
        if len(self.context):
            values = np.take_along_axis(out, np.maximum(sources, 0), axis=1)
            values[sources < 0] = np.nan
            out[:, context] = values
        return out

    @property
    def _action_positions(self) -> tuple[slice | list[int], slice | list[int]]:
        """Positions of the action columns and of the action-context columns (slices when adjacent)."""
        columns = self.columns

        def positions(names: list[str]) -> slice | list[int]:
            at = [columns.index(name) for name in names]
            return slice(at[0], at[-1] + 1) if at and at == list(range(at[0], at[-1] + 1)) else at

        return positions(ACTION_COLUMNS), positions([spec.name for spec, _ in self.context])

    def _fill_context(self, X: np.ndarray, channels: np.ndarray) -> None:
        columns = self.columns
        for spec, sources in self.context:
            values = np.full(len(X), np.nan, dtype=np.float32)
            for channel, source in sources.items():
                if source in columns:
                    mask = channels == channel
                    values[mask] = X[mask, columns.index(source)]
            X[:, columns.index(spec.name)] = values

    def monotone_constraints(self) -> list[int]:
        return [1 if name in MONOTONE_INCREASING else 0 for name in self.columns]
