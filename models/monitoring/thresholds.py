"""When a monitored value means the model is going stale: the thresholds as code, and verdicts.

Each check ends in one verdict: ``ok``, ``watch`` (worth a look, no action yet), ``drift`` (the
threshold is crossed: retrain or investigate) or ``not enough data`` (too few rows or decisions to
tell). The command line exits with code 3 when any check says ``drift``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Literal

Verdict = Literal["ok", "watch", "drift", "not enough data"]
VERDICTS: tuple[Verdict, ...] = ("ok", "watch", "drift", "not enough data")
#: How serious each verdict is (the worst one sums up a list of checks).
_SEVERITY = {"not enough data": 0, "ok": 1, "watch": 2, "drift": 3}


@dataclass(frozen=True)
class MonitorThresholds:
    """What counts as drift. Defaults follow the usual PSI reading (below 0.1 stable, 0.1 to 0.2
    a moderate shift, above 0.2 a significant one)."""

    #: PSI above this is worth watching ...
    psi_watch: float = 0.1
    #: ... and above this is drift.
    psi_drift: float = 0.2
    #: Rows a side needs before its PSI is judged.
    min_rows: int = 100
    #: Decisions with a closed attribution window a group needs before its calibration is judged.
    min_decisions: int = 50
    #: Level of the realized conversion rate's interval (Wilson). Across the groups judged at once
    #: the level is raised (Bonferroni) so that the chance of any false alarm stays at 1 - level.
    calibration_level: float = 0.95
    #: A logged suggestion counts as carried out when the data holds a touch with the same account
    #: and action within this many days after the suggestion's as-of time.
    acted_within_days: int = 14
    #: Whether features without a window (tenure, lifetime counts and rates, days since the last
    #: event) can say ``drift``. They shift as history accumulates even in a stable world, so by
    #: default their PSI is judged ``watch`` at most.
    lifetime_features_drift: bool = False

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool):
                continue
            if not (isinstance(value, numbers.Real) and math.isfinite(value) and float(value) >= 0):
                raise ValueError(f"MonitorThresholds.{item.name}: expected a finite number >= 0, "
                                 f"got {value!r}")
        if self.psi_watch > self.psi_drift:
            raise ValueError(f"MonitorThresholds: psi_watch ({self.psi_watch}) must not exceed "
                             f"psi_drift ({self.psi_drift})")
        if not 0 < self.calibration_level < 1:
            raise ValueError(f"MonitorThresholds.calibration_level: expected a number in (0, 1), got "
                             f"{self.calibration_level!r}")

    def psi_verdict(self, value: float, rows: int, *, lifetime: bool = False) -> Verdict:
        """The verdict of one PSI computed on ``rows`` rows (the smaller side); ``lifetime``: of a
        feature without a window (see ``lifetime_features_drift``)."""
        if rows < self.min_rows or not math.isfinite(value):
            return "not enough data"
        if value > self.psi_drift:
            return "watch" if lifetime and not self.lifetime_features_drift else "drift"
        return "watch" if value > self.psi_watch else "ok"


@dataclass(frozen=True)
class MonitorCheck:
    """One monitored quantity with its threshold and verdict, and what was measured in words."""

    name: str
    value: float
    threshold: float
    verdict: Verdict
    detail: str


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most serious verdict (``not enough data`` when there is none)."""
    found = list(verdicts)
    return max(found, key=_SEVERITY.__getitem__) if found else "not enough data"
