"""Cumulative curves by day: piecewise-linear between points, crossings, smoothed daily rates."""

from __future__ import annotations

import math
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from linespeed.ramp.series import Pairs

Floats = NDArray[np.float64]


def day_numbers(pairs: Pairs, origin: date) -> tuple[Floats, Floats]:
    """The days since `origin` and the cumulative counts of `pairs`, as float arrays."""
    days = np.array([(day - origin).days for day, _ in pairs], dtype=np.float64)
    counts = np.array([cumulative for _, cumulative in pairs], dtype=np.float64)
    return days, counts


def crossing(pairs: Pairs, target: float) -> tuple[date, date, date] | None:
    """The first day the curve reaches `target`, and the two points it lies between.

    The cumulative count is interpolated linearly between points; the day returned is the
    first whole day on which the interpolated count is >= `target` (a point at exactly the
    target gives its own day, and both bracketing points are that day). None if the curve
    never reaches `target`.
    """
    for (day_0, count_0), (day_1, count_1) in pairwise(pairs):
        if count_0 >= target:
            return day_0, day_0, day_0
        if count_1 == target:
            return day_1, day_1, day_1
        if count_1 > target:
            fraction = (target - count_0) / (count_1 - count_0)
            offset = math.ceil(fraction * (day_1 - day_0).days - 1e-9)
            return day_0 + timedelta(days=offset), day_0, day_1
    if pairs and pairs[-1][1] >= target:
        return pairs[-1][0], pairs[-1][0], pairs[-1][0]
    return None


def crossing_date(pairs: Pairs, target: float) -> date | None:
    """The first day the linearly interpolated curve reaches `target`, or None if it never does."""
    found = crossing(pairs, target)
    return None if found is None else found[0]


def daily_curve(pairs: Pairs) -> list[tuple[date, float]]:
    """The cumulative count on every day from the first point to the last.

    Between points the count is interpolated linearly (quarterly figures become a straight
    line within each quarter): a curve for display, not data.
    """
    if not pairs:
        return []
    origin = pairs[0][0]
    days, counts = day_numbers(pairs, origin)
    every_day = np.arange(days[-1] + 1, dtype=np.float64)
    values = np.interp(every_day, days, counts)
    return [
        (origin + timedelta(days=int(n)), float(v)) for n, v in zip(every_day, values, strict=True)
    ]


def daily_rate(pairs: Pairs, window_days: int = 7) -> list[tuple[date, float]]:
    """The daily rate (count per day) smoothed by a trailing mean over `window_days` days.

    The first days use the days available. Raises ValueError if `window_days` < 1.
    """
    if window_days < 1:
        raise ValueError(f"window_days(={window_days}) must be >= 1")
    curve = daily_curve(pairs)
    if len(curve) < 2:
        return []
    counts = np.array([count for _, count in curve], dtype=np.float64)
    rates: list[tuple[date, float]] = []
    for index in range(1, len(curve)):
        back = max(0, index - window_days)
        rates.append((curve[index][0], float((counts[index] - counts[back]) / (index - back))))
    return rates
