"""Forecast the day a cumulative curve reaches a target, with an uncertainty interval.

The method, for any series (docs/ramp.md has the reasons and the backtest):

1. Choose a model (`fit.choose_model`): logistic or capacity, whichever predicts the points
   in the last quarter of the series' time span better from the points before them; refit
   it on all points.
2. Point forecast: the first day on which the last known count plus the model's increase
   since the last point reaches the target.
3. Interval (rolling origin): the whole method is rerun on each earlier prefix of the series
   that it would accept (at least MIN_POINTS points; the MAX_ORIGINS most recent), and each
   of those forecasts is scored on every later point as the log ratio of the actual to the
   predicted increase. With s the root mean square of those log ratios and z the 95% quantile
   of Student's t with one degree of freedom per scored prefix, the interval runs from the day
   the increase scaled by exp(+z s) reaches the target to the day the increase scaled by
   exp(-z s) does: a nominal 90% interval. With no prefix to score, s = 0.5 and z = 1.645.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import numpy as np
from scipy.special import ndtri, stdtrit  # type: ignore[import-untyped]

from linespeed.ramp.curve import Floats, crossing, daily_curve, day_numbers
from linespeed.ramp.errors import RampForecastError
from linespeed.ramp.fit import (
    MIN_FIT_POINTS,
    FittedModel,
    Selection,
    choose_model,
    fit_model,
)
from linespeed.ramp.series import Pairs, RampSeries, check_points

MIN_POINTS: Final = MIN_FIT_POINTS + 1
"""Points needed for a forecast: 3 model parameters, 1 to spare, 1 held out to choose."""

MAX_POINTS: Final = 60
"""Longer series (daily data) are resampled to this many evenly spaced points to fit."""

MAX_ORIGINS: Final = 8
"""The interval scores the model's forecasts from at most this many earlier cuts."""

LEVEL_UPPER: Final = 0.95
"""The interval is a nominal 90% one: from the 5% to the 95% quantile of the log error."""

FALLBACK_LOG_ERROR: Final = 0.5
"""s when no earlier forecast could be scored (factor exp(0.5) = 1.65 on the increase)."""

HORIZON_DAYS: Final = 50 * 365
"""A target not reached within this many days after the last point counts as never reached."""


@dataclass(frozen=True)
class ForecastDetail:
    """How a forecast was made: the fitted model, the choice, the interval's error scale."""

    fitted: FittedModel
    selection: Selection
    origin: dt.date
    last_day: dt.date
    last_cumulative: float
    log_error: float
    scored_origins: int
    z: float
    interval: str = "rolling-origin log error of the increase, Student t, nominal 90%"


@dataclass(frozen=True)
class Forecast:
    """The day a series is forecast to reach `target`, with its interval [low, high].

    `high` is None when the slow end of the interval never reaches the target (the model,
    with its increase scaled down, levels off below it or takes more than 50 years).
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
        end = self.high or self.date + (self.date - detail.last_day)
        last = (detail.last_day - detail.origin).days
        steps = list(range(0, (end - detail.last_day).days + 1, step_days))
        if steps[-1] != (end - detail.last_day).days:
            steps.append((end - detail.last_day).days)
        increase = _increase(detail.fitted, float(last))
        factor = math.exp(detail.z * detail.log_error)
        rows = []
        for step in steps:
            rise = float(increase(float(last + step)))
            rows.append(
                (
                    detail.last_day + timedelta(days=step),
                    detail.last_cumulative + rise / factor,
                    detail.last_cumulative + rise,
                    detail.last_cumulative + rise * factor,
                )
            )
        return rows


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
    fewer than MIN_POINTS points, `ramp.unreachable` if the chosen model never reaches it.
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
            f"{source}: a forecast needs at least {MIN_POINTS} points (3 model parameters, 1 to "
            f"spare, 1 held out to choose the model); it has {len(pairs)}",
            code="ramp.too_few_points",
            target=target,
        )
    origin = pairs[0][0]
    days, counts = day_numbers(_thinned(pairs), origin)
    selection = choose_model(days, counts)
    fitted = fit_model(selection.model, days, counts)
    increase = _increase(fitted, float(days[-1]))
    gap = target - float(counts[-1])
    mid = _first_day(lambda t: float(increase(t)), gap, float(days[-1]))
    if mid is None:
        raise RampForecastError(
            _never_message(fitted, source, target, pairs[-1], float(days[-1])),
            code="ramp.unreachable",
            target=target,
        )
    log_error, scored = _log_error(days, counts)
    z = _z(scored)
    factor = math.exp(z * log_error)
    low = _first_day(lambda t: float(increase(t)) * factor, gap, float(days[-1]))
    high = _first_day(lambda t: float(increase(t)) / factor, gap, float(days[-1]))
    detail = ForecastDetail(
        fitted, selection, origin, pairs[-1][0], pairs[-1][1], log_error, scored, z
    )

    def day_of(t: float) -> dt.date:
        return origin + timedelta(days=math.ceil(t - 1e-9))

    return Forecast(
        float(target),
        day_of(mid),
        day_of(low if low is not None else mid),
        None if high is None else day_of(high),
        fitted.model,
        detail,
    )


def _refuse_reached(pairs: Pairs, target: float, source: str) -> None:
    """Raise RampForecastError (`ramp.target_reached`) if the series already reached target."""
    if not pairs or pairs[-1][1] < target:
        return
    found = crossing(pairs, target)
    assert found is not None  # the last point is >= target
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


def _increase(fitted: FittedModel, last: float) -> Callable[[float], float]:
    """The model's increase from day `last` to day t."""
    base = float(fitted.value(last)[0])
    return lambda t: float(fitted.value(t)[0]) - base


def _first_day(rise: Callable[[float], float], gap: float, last: float) -> float | None:
    """The first t >= last with rise(t) >= gap (bisection to 0.01 day), or None within horizon."""
    step = 16.0
    while rise(last + step) < gap:
        if step > HORIZON_DAYS:
            return None
        step *= 2
    low, high = last + step / 2 if step > 16 else last, last + step
    while high - low > 0.01:
        middle = (low + high) / 2
        if rise(middle) >= gap:
            high = middle
        else:
            low = middle
    return high


def _z(scored: int) -> float:
    """The interval's half-width in units of s: Student's t for `scored` earlier forecasts.

    With no earlier forecast (s is the fallback) it is the normal quantile.
    """
    if scored == 0:
        return float(ndtri(LEVEL_UPPER))
    return float(stdtrit(scored, LEVEL_UPPER))


def _log_error(days: Floats, counts: Floats) -> tuple[float, int]:
    """The RMS log ratio of actual to predicted increase over earlier forecasts, and their count.

    The whole method (model choice, fit, forecast from the last point) is rerun on each
    prefix that it would itself accept (at least MIN_POINTS points; the most recent
    MAX_ORIGINS such prefixes) and scored on every later point.
    """
    first_origin = max(MIN_POINTS - 1, len(days) - 1 - MAX_ORIGINS)
    ratios: list[float] = []
    scored = 0
    for origin in range(first_origin, len(days) - 1):
        known_days, known_counts = days[: origin + 1], counts[: origin + 1]
        earlier = fit_model(choose_model(known_days, known_counts).model, known_days, known_counts)
        later = days[origin + 1 :]
        predicted = earlier.value(later) - earlier.value(days[origin])[0]
        actual = counts[origin + 1 :] - counts[origin]
        usable = (predicted > 0) & (actual > 0)
        if usable.any():
            ratios.extend(np.log(actual[usable] / predicted[usable]).tolist())
            scored += 1
    if not ratios:
        return FALLBACK_LOG_ERROR, 0
    return float(np.sqrt(np.mean(np.square(ratios)))), scored


def _never_message(
    fitted: FittedModel, source: str, target: float, last: tuple[dt.date, float], last_t: float
) -> str:
    """Why the chosen model never reaches the target, in words."""
    last_day, count = last
    if fitted.plateau is not None:
        ceiling = count + fitted.plateau - float(fitted.value(last_t)[0])
        return (
            f"{source}: the {fitted.model} model (chosen on held-out points) levels off at "
            f"{ceiling:,.0f}, below the target {target:,.0f}: it never reaches it (last point "
            f"{count:,.0f} on {last_day})"
        )
    rate = fitted.params().get("c", 0.0)
    return (
        f"{source}: the {fitted.model} model (chosen on held-out points) does not reach the "
        f"target {target:,.0f} within {HORIZON_DAYS // 365} years of {last_day} (last point "
        f"{count:,.0f}; fitted capacity {rate:,.1f} per day)"
    )
