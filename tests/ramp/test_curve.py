"""Cumulative curves by day: interpolation, crossings and the smoothed daily rate."""

from __future__ import annotations

from datetime import date

import pytest

from linespeed.ramp.curve import crossing, crossing_date, daily_curve, daily_rate

QUARTERS = [(date(2024, 3, 31), 0.0), (date(2024, 4, 10), 100.0), (date(2024, 4, 20), 100.0)]


def test_the_daily_curve_is_linear_between_points() -> None:
    curve = daily_curve(QUARTERS)
    assert len(curve) == 21
    assert curve[0] == (date(2024, 3, 31), 0.0)
    assert curve[5] == (date(2024, 4, 5), 50.0)
    assert curve[-1] == (date(2024, 4, 20), 100.0)
    assert daily_curve([]) == []


def test_a_crossing_is_the_first_whole_day_at_or_above_the_target() -> None:
    assert crossing(QUARTERS, 45) == (date(2024, 4, 5), date(2024, 3, 31), date(2024, 4, 10))
    assert crossing_date(QUARTERS, 41) == date(2024, 4, 5)  # 40 at the end of day 4
    assert crossing_date(QUARTERS, 100) == date(2024, 4, 10)
    assert crossing(QUARTERS, 100) == (date(2024, 4, 10),) * 3
    assert crossing_date(QUARTERS, 0) == date(2024, 3, 31)
    assert crossing_date(QUARTERS, 101) is None


def test_the_daily_rate_is_a_trailing_mean() -> None:
    rates = daily_rate(QUARTERS, window_days=5)
    assert rates[0] == (date(2024, 4, 1), 10.0)
    assert dict(rates)[date(2024, 4, 12)] == pytest.approx(30 / 5)  # days 8-12: 3 x 10 + 2 x 0
    assert rates[-1] == (date(2024, 4, 20), 0.0)
    with pytest.raises(ValueError, match=r"window_days\(=0\) must be >= 1"):
        daily_rate(QUARTERS, window_days=0)
