"""The verdict of an evaluation in one line of words: does the policy beat doing nothing and the best
single action on the held-out decisions, beyond the interval?"""

from __future__ import annotations

import math

from models.evaluation.off_policy import Estimate


def _money(value: float, currency: str, digits: int) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(value):,.{digits}f}"


def compare_words(gain: Estimate | None, reference: str, currency: str = "€") -> str:
    """"beats doing nothing by €X [lo, hi] per decision", "is worse than ...", or "is not
    distinguishable from ..." for one paired difference (policy minus reference)."""
    if gain is None or not all(math.isfinite(v) for v in (gain.value, gain.low, gain.high)):
        return f"cannot be compared with {reference} (no logged decision with a propensity matched)"
    digits = 2 if max(abs(gain.low), abs(gain.high)) >= 1 else 4

    def span(v: float, lo: float, hi: float) -> str:
        return f"{_money(v, currency, digits)} [{_money(lo, currency, digits)}, {_money(hi, currency, digits)}] per decision"

    if gain.low > 0:
        return f"beats {reference} by {span(gain.value, gain.low, gain.high)}"
    if gain.high < 0:
        return f"is worse than {reference} by {span(-gain.value, -gain.high, -gain.low)}"
    return f"is not distinguishable from {reference} ({span(gain.value, gain.low, gain.high)})"


def verdict(gain_vs_none: Estimate | None, gain_vs_best_single: Estimate | None, best_single: str = "",
            currency: str = "€", decisions: int = 0) -> str:
    """One line: the policy against doing nothing and against the best single action."""
    single = f"the best single action ({best_single.split(' (')[0]})" if best_single else "the best single action"
    parts = [compare_words(gain_vs_none, "doing nothing", currency)]
    if gain_vs_best_single is not None:
        parts.append(compare_words(gain_vs_best_single, single, currency))
    held = f" on {decisions:,} held-out decisions" if decisions else ""
    return f"Verdict{held}: the policy " + "; it ".join(parts) + "."


def beats(gain: Estimate | None) -> bool:
    """True when the difference is positive beyond its interval."""
    return gain is not None and math.isfinite(gain.low) and gain.low > 0
