"""Due dates of a rep's day: working days only, a week of capacity spread over five of them."""

from __future__ import annotations

from datetime import date

from serving.web.listing import _working_day


def test_working_days_skip_weekends() -> None:
    friday = date(2026, 12, 4)
    assert [_working_day(friday, n) for n in range(4)] == [
        friday, date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)]
    monday = date(2026, 11, 30)
    assert _working_day(monday, 5) == date(2026, 12, 7) and _working_day(monday, 9) == date(2026, 12, 11)
    assert all(_working_day(monday, n).weekday() < 5 for n in range(30))
