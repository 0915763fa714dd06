"""Forecast the day a cumulative curve reaches a target, with an uncertainty interval.

The method, for any series of 3 points or more (docs/ramp.md has the reasons and the backtest):

1. Rates. The recent history is cut into regular periods ending on the last point, each as
   long as the median gap between points (a quarter for quarterly figures); the rate of a
   period is its increase (the count interpolated linearly between points) per day. The last
   RATE_PERIODS periods are used (fewer if the series is shorter).
2. Rate forecast: the mean of two damped trends of those rates. An additive one (a straight
   line through the rates, its slope fading with time constant ADDITIVE_DAMPING periods) and
   a multiplicative one (the mean growth factor per period, fading by GROWTH_DAMPING each
   period). Early ramps grow by factors, later ones by steps; both fade, so a plateau or a dip
   is not extrapolated for ever. Rates never go below zero.
3. Point forecast: the first day on which the last known count plus the integrated rate
   forecast reaches the target.
4. Interval: the same method is rerun on each earlier prefix of the series (at least 3
   points; the MAX_ORIGINS most recent) and scored on the later points within a year as the
   log ratio of the actual to the predicted increase. Those errors are pooled with
   PRIOR_WEIGHT pseudo-errors of size PRIOR_LOG_ERROR (set on the reference ramps' backtest,
   bench/forecast.py), and z is Student's t with PRIOR_DF + (scored
   prefixes) degrees of freedom: few points, a wider band. The interval runs from the day the
   increase scaled by exp(+z s) reaches the target to the day the increase scaled by
   exp(-z s) does: a nominal 90% interval.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import numpy as np
from scipy.special import stdtrit  # type: ignore[import-untyped]

from linespeed.ramp.curve import Floats, crossing, daily_curve, day_numbers
from linespeed.ramp.errors import RampForecastError
from linespeed.ramp.series import Pairs, RampSeries, check_points

MIN_POINTS: Final = 3
"""Points needed for a forecast: two periods, so one change of the rate."""

MODEL: Final = "rate-trend"
"""The model's name in forecasts (`Forecast.model`)."""

MAX_POINTS: Final = 60
"""Longer series (daily data) are resampled to this many evenly spaced points."""

RATE_PERIODS: Final = 3
"""The trend of the rate is taken over the last this many periods (two changes)."""

ADDITIVE_DAMPING: Final = 2.0
"""The additive trend's slope fades with this time constant, in periods."""

GROWTH_DAMPING: Final = 0.8
"""The multiplicative trend's growth (log factor per period) is multiplied by this each period."""

MAX_ORIGINS: Final = 8
"""The interval scores the method's forecasts from at most this many earlier prefixes."""

SCORE_DAYS: Final = 366
"""Earlier forecasts are scored on the later points at most this many days ahead."""

LEVEL_UPPER: Final = 0.95
"""The interval is a nominal 90% one: from the 5% to the 95% quantile of the log error."""

PRIOR_LOG_ERROR: Final = 0.2
"""A prior log error of the increase: set on the backtest (bench/forecast.py) for about 90%."""

PRIOR_WEIGHT: Final = 4
"""The prior error counts as this many scored prefixes."""

PRIOR_DF: Final = 2
"""Degrees of freedom of z with no scored prefix (a 3-point series): a wide band."""

HORIZON_DAYS: Final = 50 * 365
"""A target not reached within this many days after the last point counts as never reached."""


@dataclass(frozen=True)
class RateTrend:
    """The rate model fitted to the end of a series: recent period rates and their trends.

    `period_days` is the length of a period; `rates` the last periods' rates (cars per day,
    oldest first); `slope` the additive trend (cars per day, per day) and `growth` the
    multiplicative one (log factor per period), both at the last point.
    """

    period_days: float
    rates: tuple[float, ...]
    level: float
    slope: float
    growth: float

    def rate(self, ahead: Floats) -> Floats:
        """The forecast rate (cars per day) `ahead` days after the last point."""
        ahead = np.asarray(ahead, dtype=np.float64)
        fade = ADDITIVE_DAMPING * self.period_days
        additive = np.maximum(self.level + self.slope * fade * -np.expm1(-ahead / fade), 0.0)
        periods = (ahead + self.period_days / 2) / self.period_days
        damping = GROWTH_DAMPING
        total_growth = self.growth * damping * (1 - damping**periods) / (1 - damping)
        multiplicative = self.rates[-1] * np.exp(np.minimum(total_growth, 50.0))
        result: Floats = (additive + multiplicative) / 2
        return result

    def increase(self, days_ahead: int = HORIZON_DAYS) -> Floats:
        """The forecast increase over the last count on each day 0..`days_ahead` after it."""
        rate = self.rate(np.arange(days_ahead + 1, dtype=np.float64))
        result: Floats = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2)])
        return result

    def to_json(self) -> dict[str, Any]:
        """The parameters by name, for `detail`."""
        return {
            "period_days": self.period_days,
            "rates_per_day": list(self.rates),
            "level_per_day": self.level,
            "slope_per_day2": self.slope,
            "growth_per_period": self.growth,
        }


def fit_rate_trend(days: Floats, counts: Floats) -> RateTrend:
    """The rate model of the points (`days` increasing, at least 2): see the module docstring."""
    span = float(days[-1] - days[0])
    period = min(max(float(np.median(np.diff(days))), 1.0), max(span, 1.0))
    periods = max(1, min(RATE_PERIODS, math.floor(span / period + 1e-9)))
    edges = float(days[-1]) - period * np.arange(periods, -1, -1, dtype=np.float64)
    rates = np.diff(np.interp(edges, days, counts)) / period
    middles = (edges[:-1] + edges[1:]) / 2
    if len(rates) < 2:
        return RateTrend(period, (float(rates[-1]),), float(rates[-1]), 0.0, 0.0)
    slope, intercept = np.polyfit(middles, rates, 1)
    level = float(intercept + slope * days[-1])
    floor = max(float(rates.max()), 1e-9) * 1e-3
    growth = float(np.mean(np.diff(np.log(np.maximum(rates, floor)))))
    return RateTrend(period, tuple(float(r) for r in rates), level, float(slope), growth)


@dataclass(frozen=True)
class ForecastDetail:
    """How a forecast was made: the rate model, the interval's error scale and its origin."""

    trend: RateTrend
    origin: dt.date
    last_day: dt.date
    last_cumulative: float
    points: int
    log_error: float
    scored_origins: int
    z: float
    interval: str = "rolling-origin log error of the increase, pooled with a prior, Student t"


@dataclass(frozen=True)
class Forecast:
    """The day a series is forecast to reach `target`, with its interval [low, high].

    `high` is None when the slow end of the interval never reaches the target (the rate,
    scaled down, takes more than 50 years).
    """

    target: float
    date: dt.date
    low: dt.date
    high: dt.date | None
    model: str
    detail: ForecastDetail = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """The forecast as `{"target", "date", "low", "high", "model"}`, dates as YYYY-MM-DD.

        `high` is null when the slow end of the interval never reaches the target.
        """
        target: float | int = int(self.target) if self.target.is_integer() else self.target
        return {
            "target": target,
            "date": self.date.isoformat(),
            "low": self.low.isoformat(),
            "high": None if self.high is None else self.high.isoformat(),
            "model": self.model,
        }

    def band(self, step_days: int = 7) -> list[tuple[dt.date, float, float, float]]:
        """The forecast fan: (day, slow count, expected count, fast count) every `step_days`.

        From the last known point to the interval's late end (or twice the forecast horizon if
        that is open). Raises ValueError if `step_days` < 1.
        """
        if step_days < 1:
            raise ValueError(f"step_days(={step_days}) must be >= 1")
        detail = self.detail
        end = (self.high or self.date + (self.date - detail.last_day)) - detail.last_day
        steps = list(range(0, end.days + 1, step_days))
        if steps[-1] != end.days:
            steps.append(end.days)
        increase = detail.trend.increase(end.days)
        factor = math.exp(detail.z * detail.log_error)
        return [
            (
                detail.last_day + timedelta(days=step),
                detail.last_cumulative + float(increase[step]) / factor,
                detail.last_cumulative + float(increase[step]),
                detail.last_cumulative + float(increase[step]) * factor,
            )
            for step in steps
        ]


def forecast_target(
    series: RampSeries | Pairs,
    target: float,
    *,
    sop: dt.date | None = None,
    source: str | None = None,
) -> Forecast:
    """Forecast the day `series` reaches the cumulative count `target`, with an interval.

    `series` is a RampSeries or (day, cumulative) pairs. `sop`, the start of production (taken
    from the RampSeries if not given), adds a zero point on that day when it is before the
    first point. `source` names the series in messages.

    Raises RampInputError if the points are not a cumulative curve; RampForecastError with
    code `ramp.input` if `target` is not a finite number > 0, `ramp.target_reached` if the
    series has already reached it (saying on which day), `ramp.too_few_points` if there are
    fewer than MIN_POINTS points, `ramp.unreachable` if the forecast rate never gets there.
    """
    if isinstance(series, RampSeries):
        pairs = series.pairs()
        sop = sop or series.sop
        source = source or series.source or series.name
    else:
        pairs = list(series)
    source = source or "series"
    check_points(pairs, source)
    if not math.isfinite(target) or target <= 0:
        raise RampForecastError(
            f"target {target!r} must be a finite number > 0", code="ramp.input", target=target
        )
    _refuse_reached(pairs, target, source)
    if sop is not None and pairs and sop < pairs[0][0] and pairs[0][1] > 0:
        pairs = [(sop, 0.0), *pairs]
    if len(pairs) < MIN_POINTS:
        raise RampForecastError(
            f"{source}: a forecast needs at least {MIN_POINTS} points (two periods, so that the "
            f"rate's change is known); it has {len(pairs)}",
            code="ramp.too_few_points",
            target=target,
        )
    origin = pairs[0][0]
    days, counts = day_numbers(_thinned(pairs), origin)
    trend = fit_rate_trend(days, counts)
    increase = trend.increase()
    gap = target - float(counts[-1])
    mid = _first_day(increase, gap)
    last_day, last = pairs[-1]
    if mid is None:
        raise RampForecastError(
            f"{source}: at the recent rate ({trend.rates[-1]:,.1f} a day over the last "
            f"{trend.period_days:.0f} days) and its trend, the count does not reach the target "
            f"{target:,.0f} within {HORIZON_DAYS // 365} years of {last_day} (last point "
            f"{last:,.0f})",
            code="ramp.unreachable",
            target=target,
        )
    log_error, scored = _log_error(days, counts)
    z = float(stdtrit(PRIOR_DF + scored, LEVEL_UPPER))
    factor = math.exp(z * log_error)
    low = _first_day(increase * factor, gap)
    high = _first_day(increase / factor, gap)
    detail = ForecastDetail(trend, origin, last_day, last, len(pairs), log_error, scored, z)

    def day_of(ahead: int) -> dt.date:
        return last_day + timedelta(days=ahead)

    return Forecast(
        float(target),
        day_of(mid),
        day_of(low if low is not None else mid),
        None if high is None else day_of(high),
        MODEL,
        detail,
    )


def _refuse_reached(pairs: Pairs, target: float, source: str) -> None:
    """Raise RampForecastError (`ramp.target_reached`) if the series already reached target."""
    if not pairs or pairs[-1][1] < target:
        return
    found = crossing(pairs, target)
    if found is None:  # cannot happen: the last point is >= target
        return
    day, before, after = found
    how = (
        f"on {day}" if before == after else f"on {day} (interpolated between {before} and {after})"
    )
    last_day, last = pairs[-1]
    raise RampForecastError(
        f"{source}: target {target:,.0f} was already reached {how}; the last point is "
        f"{last:,.0f} on {last_day}",
        code="ramp.target_reached",
        target=target,
        reached_on=day,
    )


def _thinned(pairs: Pairs) -> Pairs:
    """At most MAX_POINTS points: dense series are resampled evenly, first and last kept."""
    if len(pairs) <= MAX_POINTS:
        return pairs
    curve = daily_curve(pairs)
    picks = np.unique(np.round(np.linspace(0, len(curve) - 1, MAX_POINTS)).astype(int))
    return [curve[int(index)] for index in picks]


def _first_day(increase: Floats, gap: float) -> int | None:
    """The first whole day (after the last point) on which `increase` >= `gap`, or None."""
    index = int(np.searchsorted(increase, gap - 1e-9 * max(abs(gap), 1.0)))
    if index >= len(increase):
        return None
    return max(index, 1)


def _log_error(days: Floats, counts: Floats) -> tuple[float, int]:
    """The interval's log error scale s, and how many earlier forecasts it was scored on.

    The method is rerun on each earlier prefix of at least MIN_POINTS points (the most recent
    MAX_ORIGINS) and scored on the later points within SCORE_DAYS; each prefix's mean squared
    log ratio counts once, pooled with PRIOR_WEIGHT times PRIOR_LOG_ERROR squared.
    """
    first = max(MIN_POINTS - 1, len(days) - 1 - MAX_ORIGINS)
    squares: list[float] = []
    for end in range(first, len(days) - 1):
        trend = fit_rate_trend(days[: end + 1], counts[: end + 1])
        ahead = days[end + 1 :] - days[end]
        within = ahead <= SCORE_DAYS
        if not within.any():
            continue
        increase = trend.increase(int(ahead[within].max()))
        predicted = increase[ahead[within].astype(int)]
        actual = counts[end + 1 :][within] - counts[end]
        usable = (predicted > 0) & (actual > 0)
        if usable.any():
            squares.append(float(np.mean(np.log(actual[usable] / predicted[usable]) ** 2)))
    pooled = (PRIOR_WEIGHT * PRIOR_LOG_ERROR**2 + sum(squares)) / (PRIOR_WEIGHT + len(squares))
    return math.sqrt(pooled), len(squares)
