"""Forecast accuracy benchmark: rolling-origin backtests of the ramp forecaster.

For every real reference series (each program's main series in the package's reference data:
Tesla Model 3 production, Xiaomi SU7, NIO and Li Auto deliveries; the synthetic
300k-in-15-months pace is left out: it is a formula, not data), it cuts the series at every
period end (quarter or month) that leaves at least 3 points (the zero point at start of
production counts, as it does for `forecast_target`), keeps only the points up to the cut
(period ends and milestones), and forecasts the day of each round milestone (10k, 50k, 100k,
200k, 300k, 400k, 500k) that the full series reaches 1 to 4 quarters (at most 366 days)
after the cut.

The truth is the day the full series reaches that number: a milestone row at exactly that
number where there is one, else the first day on which the cumulative count, interpolated
linearly between the two points around it, reaches it.

Beside linespeed's forecaster (`linespeed.ramp.forecast.forecast_target`) it runs, on the
same cuts, two plain baselines:
  held rate   the last period's rate (cars per day between the last two period ends) held;
  line        the last three periods' rates on a straight line through their midpoints,
              extrapolated and integrated ("never" if the rate falls to zero first).

It prints per series and over all: the median absolute error in days (a "never" counts as
infinitely wrong), the share of cuts whose 90% interval holds the truth, and the interval's
median width in days (forecaster only), and the medians on the cases every method answers.
Goal: median absolute error <= 21 days, coverage >= 80%, and better than both baselines.
It only prints figures; it never asserts.

Run:
    .venv/bin/python bench/forecast.py [--rows] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import numpy as np

from linespeed.ramp.curve import crossing
from linespeed.ramp.errors import RampForecastError
from linespeed.ramp.forecast import forecast_target
from linespeed.ramp.references import reference_names, reference_series
from linespeed.ramp.series import RampSeries

MILESTONES = (10_000, 50_000, 100_000, 200_000, 300_000, 400_000, 500_000)
MIN_POINTS = 3
MAX_AHEAD_DAYS = 366
PERIOD_KINDS = ("quarter", "month")
GOAL_MEDIAN_DAYS = 21.0
GOAL_COVERAGE = 0.80


@dataclass
class Row:
    """One cut and milestone: the truth and each method's forecast error in days."""

    series: str
    cut: str
    at_cut: float
    points: int
    target: int
    truth: str
    ahead_days: int
    forecast: str | None
    low: str | None
    high: str | None
    error_days: int | None
    held: bool
    width_days: float
    held_rate_error_days: int | None
    line_error_days: int | None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", action="store_true", help="print every cut and milestone")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def real_series() -> list[RampSeries]:
    """Each reference program's main series, except the synthetic ones."""
    found = []
    for name in reference_names():
        series = reference_series(name)
        if all(point.kind != "synthetic" for point in series.points):
            found.append(series)
    return found


def with_zero(series: RampSeries) -> list[tuple[date, float]]:
    """The points, with the zero point at start of production when it comes first."""
    pairs = series.pairs()
    if series.sop is not None and series.sop < pairs[0][0] and pairs[0][1] > 0:
        return [(series.sop, 0.0), *pairs]
    return pairs


def truth_of(series: RampSeries, target: float) -> date | None:
    """The day the full series reaches `target`: a milestone row, else interpolated."""
    exact = [point.day for point in series.points if point.cumulative == target]
    if exact:
        return exact[0]
    found = crossing(with_zero(series), target)
    return None if found is None else found[0]


def period_ends(series: RampSeries, cut_day: date) -> list[tuple[date, float]]:
    """The period boundaries up to the cut: the zero point, then each period end."""
    pairs = with_zero(series)
    ends = {point.day for point in series.points if point.kind in PERIOD_KINDS}
    return [pair for pair in pairs if pair[0] <= cut_day and (pair[0] in ends or pair[1] == 0)]


def integrate_day(last: tuple[date, float], rate_at: Any, target: float) -> date | None:
    """The first day the count, growing at rate_at(days after last), reaches `target`."""
    last_day, count = last
    ahead = np.arange(0, 20 * 365 + 1, dtype=np.float64)
    rate = np.maximum(rate_at(ahead), 0.0)
    rise = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2)])
    index = int(np.searchsorted(rise, target - count))
    return None if index >= len(rise) else last_day + timedelta(days=max(index, 1))


def held_rate_day(ends: list[tuple[date, float]], target: float) -> date | None:
    """The day `target` is reached if the last period's rate holds."""
    (day_0, count_0), (day_1, count_1) = ends[-2], ends[-1]
    rate = (count_1 - count_0) / (day_1 - day_0).days
    return integrate_day(ends[-1], lambda ahead: rate + 0 * ahead, target)


def line_day(ends: list[tuple[date, float]], target: float) -> date | None:
    """The day `target` is reached with the last three periods' rates on a straight line."""
    recent = ends[-4:]
    last_day = recent[-1][0]
    middles, rates = [], []
    for (day_0, count_0), (day_1, count_1) in pairwise(recent):
        middles.append(((day_0 - last_day).days + (day_1 - last_day).days) / 2)
        rates.append((count_1 - count_0) / (day_1 - day_0).days)
    slope, intercept = np.polyfit(middles, rates, 1)
    return integrate_day(recent[-1], lambda ahead: intercept + slope * ahead, target)


def error(forecast: date | None, truth: date) -> int | None:
    """Forecast minus truth in days, None for a forecast of never."""
    return None if forecast is None else (forecast - truth).days


def backtest(series: RampSeries) -> list[Row]:
    """Every cut and milestone of one series."""
    rows: list[Row] = []
    for cut_point in series.points:
        if cut_point.kind not in PERIOD_KINDS:
            continue
        cut = series.until(cut_point.day)
        ends = period_ends(series, cut_point.day)
        if len(with_zero(cut)) < MIN_POINTS or len(ends) < MIN_POINTS:
            continue
        for target in MILESTONES:
            truth = truth_of(series, target)
            if target <= cut_point.cumulative or truth is None:
                continue
            if not 0 < (truth - cut_point.day).days <= MAX_AHEAD_DAYS:
                continue
            rows.append(one_row(series, cut, ends, target, truth))
    return rows


def one_row(
    series: RampSeries, cut: RampSeries, ends: list[tuple[date, float]], target: int, truth: date
) -> Row:
    """Forecast one milestone from one cut with every method."""
    cut_day = cut.points[-1].day
    day: date | None
    low: date | None
    high: date | None
    try:
        forecast = forecast_target(cut, target)
        day, low, high = forecast.date, forecast.low, forecast.high
        held = low <= truth and (high is None or truth <= high)
        width = math.inf if high is None else float((high - low).days)
    except RampForecastError:
        day = low = high = None
        held, width = False, math.inf
    return Row(
        series.name,
        cut_day.isoformat(),
        cut.points[-1].cumulative,
        len(with_zero(cut)),
        target,
        truth.isoformat(),
        (truth - cut_day).days,
        None if day is None else day.isoformat(),
        None if low is None else low.isoformat(),
        None if high is None else high.isoformat(),
        error(day, truth),
        held,
        width,
        error(held_rate_day(ends, target), truth),
        error(line_day(ends, target), truth),
    )


def median_abs(errors: list[int | None]) -> float:
    """The median absolute error in days; a "never" counts as infinitely wrong."""
    ranked = [math.inf if value is None else abs(value) for value in errors]
    return statistics.median(ranked) if ranked else math.nan


def figures(rows: list[Row]) -> dict[str, Any]:
    """The figures of a set of rows."""
    answered = [
        row
        for row in rows
        if None not in (row.error_days, row.held_rate_error_days, row.line_error_days)
    ]
    return {
        "cases": len(rows),
        "linespeed": {
            "median_abs_days": median_abs([row.error_days for row in rows]),
            "coverage": sum(row.held for row in rows) / len(rows) if rows else math.nan,
            "median_width_days": statistics.median(row.width_days for row in rows)
            if rows
            else math.nan,
            "never": sum(row.error_days is None for row in rows),
        },
        "held_rate": {
            "median_abs_days": median_abs([row.held_rate_error_days for row in rows]),
            "never": sum(row.held_rate_error_days is None for row in rows),
        },
        "line": {
            "median_abs_days": median_abs([row.line_error_days for row in rows]),
            "never": sum(row.line_error_days is None for row in rows),
        },
        "all_answer": {
            "cases": len(answered),
            "linespeed": median_abs([row.error_days for row in answered]),
            "held_rate": median_abs([row.held_rate_error_days for row in answered]),
            "line": median_abs([row.line_error_days for row in answered]),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Run the backtest and print it."""
    args = parse_args(argv)
    started = time.perf_counter()
    rows: list[Row] = []
    per_series: dict[str, Any] = {}
    for series in real_series():
        found = backtest(series)
        per_series[series.name] = figures(found)
        rows += found
    overall = figures(rows)
    ours = overall["linespeed"]
    result: dict[str, Any] = {
        "goal": {"median_abs_days": GOAL_MEDIAN_DAYS, "coverage": GOAL_COVERAGE},
        "series": per_series,
        "overall": overall,
        "goal_met": ours["median_abs_days"] <= GOAL_MEDIAN_DAYS
        and ours["coverage"] >= GOAL_COVERAGE
        and ours["median_abs_days"] < overall["held_rate"]["median_abs_days"]
        and ours["median_abs_days"] < overall["line"]["median_abs_days"],
        "seconds": time.perf_counter() - started,
    }
    if args.rows or args.json:
        result["rows"] = [asdict(row) for row in rows]
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_report(result)
    return 0


def _days(value: int | None) -> str:
    return "never" if value is None else f"{value:+d}"


def print_rows(rows: list[dict[str, Any]]) -> None:
    """One line per cut and milestone."""
    print(
        f"{'series':14} {'cut':10} {'pts':>3} {'at cut':>8} {'target':>8} {'truth':10} "
        f"{'ahead':>5} {'forecast':10} {'interval':22} {'error':>6} held {'held rate':>9} "
        f"{'line':>6}"
    )
    for row in rows:
        interval = f"{row['low'] or '-'}..{row['high'] or 'open'}"
        print(
            f"{row['series']:14} {row['cut']:10} {row['points']:3d} {row['at_cut']:8,.0f} "
            f"{row['target']:8,} {row['truth']:10} {row['ahead_days']:5d} "
            f"{row['forecast'] or 'never':10} {interval:22} {_days(row['error_days']):>6} "
            f"{'yes ' if row['held'] else 'NO  '} {_days(row['held_rate_error_days']):>9} "
            f"{_days(row['line_error_days']):>6}"
        )


def print_report(result: dict[str, Any]) -> None:
    """The human-readable report."""
    if "rows" in result:
        print_rows(result["rows"])
        print()
    print(
        "Rolling-origin backtest: every period-end cut with >= 3 points, each round milestone "
        "reached 1-4 quarters later"
    )
    print(
        f"{'series':14} {'cases':>5} | {'linespeed |err|':>15} {'90% held':>8} "
        f"{'median width':>12} | {'held rate':>9} {'line':>6} | both answer: n, ours, held, line"
    )
    for name, totals in [*result["series"].items(), ("overall", result["overall"])]:
        ours, both = totals["linespeed"], totals["all_answer"]
        print(
            f"{name:14} {totals['cases']:5d} | {ours['median_abs_days']:13.1f} d "
            f"{ours['coverage']:8.0%} {ours['median_width_days']:10.1f} d | "
            f"{totals['held_rate']['median_abs_days']:7.1f} d "
            f"{totals['line']['median_abs_days']:4.1f} d | {both['cases']}, "
            f"{both['linespeed']:.1f}, {both['held_rate']:.1f}, {both['line']:.1f}"
        )
    goal = result["goal"]
    verdict = "met" if result["goal_met"] else "NOT met"
    print(
        f"goal: median |error| <= {goal['median_abs_days']:.0f} d, 90% interval held in "
        f">= {goal['coverage']:.0%} of cases, better than both baselines: {verdict}"
    )
    print(f"({result['seconds']:.1f} s)")


if __name__ == "__main__":
    raise SystemExit(main())
