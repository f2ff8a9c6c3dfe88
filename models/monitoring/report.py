"""One monitoring pass: every check of a model against the latest data and its decision log.

:func:`build_report` compares the current :class:`~models.monitoring.reference.Profile` with the
training reference (PSI per feature and per predicted value), the carried-out suggestions'
realized conversion with their predictions (per channel, and per channel and offer) and sums up
the feedback per model version; :class:`MonitorReport` holds the tables and one
:class:`~models.monitoring.thresholds.MonitorCheck` per judged quantity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from models.monitoring.calibration import ALL, calibration_table
from models.monitoring.feedback import FEEDBACK_COLUMNS
from models.monitoring.psi import stability
from models.monitoring.reference import PREDICTIONS, Profile, ReferenceDistribution
from models.monitoring.thresholds import MonitorCheck, MonitorThresholds, Verdict, worst

#: Readable names of the predicted values.
PREDICTION_NAMES = {"rank1_expected_incremental_margin": "expected incremental margin of the first suggestion",
                    "rank1_p_convert": "p_convert of the first suggestion",
                    "rank1_channel": "channel of the first suggestion"}


@dataclass
class MonitorReport:
    """Everything one monitoring pass measured; :meth:`metrics` flattens it for MLflow."""

    model_version: str
    model_as_of: pd.Timestamp
    data_as_of: pd.Timestamp
    reference_source: str
    thresholds: MonitorThresholds
    stability: pd.DataFrame
    calibration: pd.DataFrame
    calibration_by_offer: pd.DataFrame
    feedback: pd.DataFrame
    checks: list[MonitorCheck] = field(default_factory=list)
    decisions_logged: int = 0
    decisions_closed: int = 0
    computed_at: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC").tz_localize(None))
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        """The most serious verdict of all checks."""
        return worst(c.verdict for c in self.checks)

    @property
    def drift(self) -> bool:
        """Whether any threshold is crossed (a check says ``drift``)."""
        return any(c.verdict == "drift" for c in self.checks)

    def metrics(self) -> dict[str, float]:
        """Flat metrics, prefixed ``monitor/`` (NaN when not measured)."""
        features = self.stability[self.stability["group"] == "feature"]["psi"].dropna()
        out: dict[str, float] = {
            "monitor/psi_max": float(features.max()) if len(features) else math.nan,
            "monitor/features_drift": float((features > self.thresholds.psi_drift).sum()),
            "monitor/features_watch": float(((features > self.thresholds.psi_watch)
                                             & (features <= self.thresholds.psi_drift)).sum()),
        }
        predictions = self.stability[self.stability["group"] == "prediction"].set_index("column")["psi"]
        for name in PREDICTIONS:
            out[f"monitor/psi_{name}"] = float(predictions.get(name, math.nan))
        judged = self.calibration[self.calibration["verdict"] != "not enough data"]
        out["monitor/calibration_gap_max"] = float(judged["gap"].abs().max()) if len(judged) else math.nan
        overall = self.calibration[self.calibration["channel"] == ALL]
        out["monitor/calibration_gap"] = float(overall["gap"].iloc[0]) if len(overall) else math.nan
        out["monitor/decisions_logged"] = float(self.decisions_logged)
        out["monitor/decisions_closed"] = float(self.decisions_closed)
        out["monitor/checks_drift"] = float(sum(c.verdict == "drift" for c in self.checks))
        out["monitor/checks_watch"] = float(sum(c.verdict == "watch" for c in self.checks))
        return out


def stability_table(reference: ReferenceDistribution, current: Profile, thresholds: MonitorThresholds,
                    lifetime: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """PSI of every feature and predicted value with its verdict, most shifted first per group
    (``lifetime``: the features without a window, ``models.monitoring.reference.lifetime_features``)."""
    table = pd.concat([stability(reference.features, current.features, group="feature"),
                       stability(reference.predictions, current.predictions, group="prediction")],
                      ignore_index=True)
    rows = table[["reference_n", "current_n"]].min(axis=1)
    table["lifetime"] = table["column"].isin(lifetime) & (table["group"] == "feature")
    table["verdict"] = [thresholds.psi_verdict(float(v), int(n), lifetime=bool(life))
                        for v, n, life in zip(table["psi"], rows, table["lifetime"], strict=True)]
    return table.sort_values(["group", "psi"], ascending=[True, False], kind="mergesort",
                             na_position="last").reset_index(drop=True)


def stability_checks(table: pd.DataFrame, thresholds: MonitorThresholds) -> list[MonitorCheck]:
    """One check over all features (the largest PSI) and one per predicted value."""
    t = thresholds
    checks = []
    features = table[table["group"] == "feature"]
    judged = features[features["verdict"] != "not enough data"]
    if judged.empty:
        checks.append(MonitorCheck("feature stability", math.nan, t.psi_drift, "not enough data",
                                   f"fewer than {t.min_rows} rows on a side (or no feature in common)"))
    else:
        top = judged.iloc[int(judged["psi"].to_numpy().argmax())]
        drifting = judged[judged["verdict"] == "drift"]["column"].tolist()
        watched = judged[judged["verdict"] == "watch"]["column"].tolist()
        words = [f"largest PSI {top['psi']:.3f} ({top['column']}) over {len(judged)} features"]
        if drifting:
            words.append(f"{len(drifting)} above {t.psi_drift:g}: {', '.join(drifting[:5])}"
                         + (" ..." if len(drifting) > 5 else ""))
        if watched:
            words.append(f"{len(watched)} to watch: {', '.join(watched[:5])}" + (" ..." if len(watched) > 5 else ""))
        checks.append(MonitorCheck("feature stability", float(top["psi"]), t.psi_drift,
                                   worst(judged["verdict"]), "; ".join(words)))
    for row in table[table["group"] == "prediction"].itertuples():
        name = str(row.column)
        value = float(row.psi)
        detail = (f"PSI {value:.3f} of the {PREDICTION_NAMES.get(name, name)}" if math.isfinite(value)
                  else f"no PSI: fewer than {t.min_rows} rows on a side")
        checks.append(MonitorCheck(f"prediction stability: {name}", value, t.psi_drift, row.verdict, detail))
    return checks


def calibration_checks(table: pd.DataFrame, thresholds: MonitorThresholds) -> list[MonitorCheck]:
    """One check per row of the per-channel calibration table: the predicted conversion must lie
    inside the realized rate's interval. ``value`` is predicted minus realized, ``threshold`` the
    largest gap on that side the interval allows."""
    if table.empty:
        return [MonitorCheck("calibration", math.nan, math.nan, "not enough data",
                             "no carried-out suggestion with a closed attribution window")]
    checks = []
    for row in table.itertuples():
        gap = float(row.gap)
        allowed = float(row.high - row.realized) if gap >= 0 else float(row.realized - row.low)
        where = "all channels" if row.channel == ALL else f"channel {row.channel}"
        detail = (f"{where}: predicted {row.predicted:.3f} vs realized {row.realized:.3f} "
                  f"[{row.low:.3f}, {row.high:.3f}] on {int(row.decisions):,} decisions")
        if row.verdict == "not enough data":
            detail += f" (at least {thresholds.min_decisions} needed)"
        checks.append(MonitorCheck(f"calibration: {row.channel}", gap, allowed, row.verdict, detail))
    return checks


def build_report(*, model_version: str, model_as_of: pd.Timestamp, reference: ReferenceDistribution,
                 reference_source: str, current: Profile, outcomes: pd.DataFrame, feedback: pd.DataFrame,
                 decisions_logged: int, thresholds: MonitorThresholds | None = None,
                 lifetime: set[str] | frozenset[str] = frozenset()) -> MonitorReport:
    """The report of one monitoring pass (``outcomes``: ``models.monitoring.calibration.closed_outcomes``,
    ``feedback``: ``models.monitoring.feedback.feedback_shares``)."""
    t = thresholds or MonitorThresholds()
    table = stability_table(reference, current, t, lifetime)
    by_channel = calibration_table(outcomes, t, by=("channel",))
    by_offer = calibration_table(outcomes, t, by=("channel", "offer_id"))
    report = MonitorReport(model_version=model_version, model_as_of=pd.Timestamp(model_as_of),
                           data_as_of=pd.Timestamp(current.as_of), reference_source=reference_source,
                           thresholds=t, stability=table, calibration=by_channel,
                           calibration_by_offer=by_offer.iloc[1:].reset_index(drop=True),
                           feedback=feedback if len(feedback.columns) else pd.DataFrame(columns=FEEDBACK_COLUMNS),
                           decisions_logged=decisions_logged, decisions_closed=len(outcomes))
    report.checks = stability_checks(table, t) + calibration_checks(by_channel, t)
    return report
