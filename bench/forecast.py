"""Forecast accuracy benchmark: backtest the ramp forecaster on the reference ramps.

For each real reference series (Tesla Model 3 production, Xiaomi SU7 deliveries; the
synthetic 300k-in-15-months pace is left out: it is a formula, not data), it cuts the series
at every quarter end from its fourth on, keeps only the points up to the cut (quarter ends,
milestones, the zero point at start of production or launch), and forecasts the day of the
next multiple of 100,000 the series has not reached at the cut.

The truth is the day the full series reaches that number: a milestone row at exactly that
number where there is one, else the first day on which the cumulative count, interpolated
linearly between the two points around it, reaches it. Cuts whose target the data never
reaches are listed and skipped.

Beside linespeed's forecaster (`linespeed.ramp.forecast.forecast_target`) it runs, on the
same cuts, two naive baselines:
  held rate   the last quarter's rate (cars per day over the quarter before the cut) held;
  logistic    a 3-parameter logistic least-squares fit, read where the fitted curve itself
              reaches the target ("never" if it levels off below it).

It prints per cut the error in days (forecast minus truth) and whether the interval held the
truth, then the median absolute error (a "never" counts as infinitely wrong), the mean and
largest absolute error, the coverage, and each baseline's median error as a ratio to ours.
Goal: median absolute error <= 21 days and the interval holds the truth in >= 80% of cuts.
It only prints figures; it never asserts.

`--all-targets` also forecasts every later 100,000 multiple the data reaches (longer horizons)
from each cut, as a check beyond the goal.

Run:
    .venv/bin/python bench/forecast.py
    .venv/bin/python bench/forecast.py --all-targets --json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from linespeed.ramp.curve import crossing, day_numbers
from linespeed.ramp.errors import RampForecastError
from linespeed.ramp.fit import fit_model
from linespeed.ramp.forecast import forecast_target
from linespeed.ramp.references import reference_series
from linespeed.ramp.series import Metric, RampSeries

STEP = 100_000
FIRST_CUT = 4  # the fourth quarter end
GOAL_MEDIAN_DAYS = 21.0
GOAL_COVERAGE = 0.80
SERIES: tuple[tuple[str, Metric], ...] = (
    ("tesla-model-3", "produced"),
    ("xiaomi-su7", "delivered"),
)


@dataclass
class Row:
    """One cut and target: the truth and each method's forecast error in days."""

    series: str
    cut: str
    at_cut: float
    target: int
    truth: str
    truth_from: str
    horizon_days: int
    forecast: str | None
    low: str | None
    high: str | None
    model: str
    error_days: int | None
    held: bool
    held_rate_error_days: int | None
    logistic_error_days: int | None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--all-targets", action="store_true", help="also forecast every later 100k multiple"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def truth_of(series: RampSeries, target: float) -> tuple[date, str] | None:
    """The day the full series reaches `target` and how that is known, or None."""
    pairs = series.pairs()
    found = crossing(pairs, target)
    if found is None:
        return None
    day, before, after = found
    exact = [point for point in series.points if point.cumulative == target]
    if exact:
        return exact[0].day, f"{exact[0].kind} row"
    return day, f"interpolated {before}..{after}"


def held_rate_day(cut: RampSeries, quarter_ends: list[date], target: float) -> date | None:
    """The day `target` is reached if the last quarter's rate holds."""
    pairs = cut.pairs()
    last_day, last = pairs[-1]
    before = [day for day in quarter_ends if day < last_day]
    start_day = before[-1] if before else pairs[0][0]
    start = dict(pairs)[start_day]
    rate = (last - start) / (last_day - start_day).days
    if rate <= 0:
        return None
    return last_day + timedelta(days=math.ceil((target - last) / rate))


def logistic_day(cut: RampSeries, target: float) -> date | None:
    """The day a plain logistic fit of the cut series reaches `target`, None if never."""
    origin = cut.pairs()[0][0]
    days, counts = day_numbers(cut.pairs(), origin)
    fitted = fit_model("logistic", days, counts)
    if fitted.scale <= target:
        return None
    params = fitted.params()
    t = params["t_mid"] - params["s"] * math.log(params["K"] / target - 1)
    return origin + timedelta(days=math.ceil(max(t, float(days[-1]))))


def error(forecast: date | None, truth: date) -> int | None:
    """Forecast minus truth in days, None for a forecast of never."""
    return None if forecast is None else (forecast - truth).days


def backtest(name: str, metric: Metric, *, all_targets: bool) -> tuple[list[Row], list[str]]:
    """The rows of one series, and the cuts skipped for want of a truth."""
    series = reference_series(name, metric)
    quarter_ends = [point.day for point in series.points if point.kind == "quarter"]
    rows: list[Row] = []
    skipped: list[str] = []
    for cut_day in quarter_ends[FIRST_CUT - 1 :]:
        cut = series.until(cut_day)
        at_cut = cut.points[-1].cumulative
        target = (int(at_cut) // STEP + 1) * STEP
        while True:
            truth = truth_of(series, target)
            if truth is None:
                if target == (int(at_cut) // STEP + 1) * STEP:
                    skipped.append(f"{name} cut {cut_day} ({at_cut:,.0f}): {target:,} not in data")
                break
            rows.append(one_row(name, cut, quarter_ends, target, truth))
            if not all_targets:
                break
            target += STEP
    return rows, skipped


def one_row(
    name: str, cut: RampSeries, quarter_ends: list[date], target: int, truth: tuple[date, str]
) -> Row:
    """Forecast one target from one cut with every method."""
    truth_day, truth_from = truth
    cut_day = cut.points[-1].day
    day: date | None
    low: date | None
    high: date | None
    try:
        forecast = forecast_target(cut, target)
        day, low, high, model = forecast.date, forecast.low, forecast.high, forecast.model
        held = low <= truth_day and (high is None or truth_day <= high)
    except RampForecastError as problem:
        day = low = high = None
        model, held = f"never ({problem.code})", False
    return Row(
        name,
        cut_day.isoformat(),
        cut.points[-1].cumulative,
        target,
        truth_day.isoformat(),
        truth_from,
        (truth_day - cut_day).days,
        None if day is None else day.isoformat(),
        None if low is None else low.isoformat(),
        None if high is None else high.isoformat(),
        model,
        error(day, truth_day),
        held,
        error(held_rate_day(cut, quarter_ends, target), truth_day),
        error(logistic_day(cut, target), truth_day),
    )


def summary(errors: list[int | None]) -> dict[str, Any]:
    """Median, mean and largest absolute error (days) and the count of nevers."""
    finite = [abs(value) for value in errors if value is not None]
    ranked = [math.inf if value is None else abs(value) for value in errors]
    return {
        "median_abs_days": statistics.median(ranked) if ranked else None,
        "mean_abs_days_finite": statistics.mean(finite) if finite else None,
        "max_abs_days": max(ranked) if ranked else None,
        "never": sum(value is None for value in errors),
    }


def figures(rows: list[Row]) -> dict[str, Any]:
    """The totals of a set of rows."""
    ours = summary([row.error_days for row in rows])
    held_rate = summary([row.held_rate_error_days for row in rows])
    logistic = summary([row.logistic_error_days for row in rows])
    coverage = sum(row.held for row in rows) / len(rows) if rows else math.nan
    return {
        "cuts": len(rows),
        "linespeed": {**ours, "coverage": coverage},
        "held_rate": held_rate,
        "logistic": logistic,
        "goal_met": ours["median_abs_days"] <= GOAL_MEDIAN_DAYS and coverage >= GOAL_COVERAGE,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the backtest and print it."""
    args = parse_args(argv)
    started = time.perf_counter()
    rows: list[Row] = []
    skipped: list[str] = []
    extra: list[Row] = []
    for name, metric in SERIES:
        found, missing = backtest(name, metric, all_targets=False)
        rows += found
        skipped += missing
        if args.all_targets:
            extra += backtest(name, metric, all_targets=True)[0]
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {
        "goal": {"median_abs_days": GOAL_MEDIAN_DAYS, "coverage": GOAL_COVERAGE},
        "next_target": figures(rows),
        "rows": [asdict(row) for row in rows],
        "skipped": skipped,
        "seconds": elapsed,
    }
    if args.all_targets:
        result["all_targets"] = figures(extra)
        result["all_target_rows"] = [asdict(row) for row in extra]
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_report(result)
    return 0


def _days(value: int | None) -> str:
    return "never" if value is None else f"{value:+d}"


def print_table(rows: list[dict[str, Any]]) -> None:
    """One line per cut."""
    print(
        f"{'series':14} {'cut':10} {'at cut':>8} {'target':>8} {'truth':10} {'from':28} "
        f"{'ahead':>5} {'forecast':10} {'interval':23} {'model':9} {'error':>6} held "
        f"{'held rate':>9} {'logistic':>8}"
    )
    for row in rows:
        interval = f"{row['low'] or '-'}..{row['high'] or 'open'}"
        print(
            f"{row['series']:14} {row['cut']:10} {row['at_cut']:8,.0f} {row['target']:8,} "
            f"{row['truth']:10} {row['truth_from']:28} {row['horizon_days']:5d} "
            f"{row['forecast'] or 'never':10} {interval:23} {row['model']:9} "
            f"{_days(row['error_days']):>6} {'yes ' if row['held'] else 'NO  '} "
            f"{_days(row['held_rate_error_days']):>9} {_days(row['logistic_error_days']):>8}"
        )


def print_totals(title: str, totals: dict[str, Any]) -> None:
    """The totals of a table, with the baselines as ratios to linespeed."""
    ours = totals["linespeed"]
    print(f"\n{title}: {totals['cuts']} cuts")
    for label, figures_ in (
        ("linespeed", ours),
        ("held rate", totals["held_rate"]),
        ("logistic", totals["logistic"]),
    ):
        ratio = figures_["median_abs_days"] / ours["median_abs_days"]
        times = f"{ratio:4.1f}x ours" if math.isfinite(ratio) else "   ∞x ours"
        extra = f"  interval held {ours['coverage']:.0%}" if label == "linespeed" else ""
        mean = figures_["mean_abs_days_finite"]
        print(
            f"  {label:10} median |error| {figures_['median_abs_days']:6.1f} d "
            f"({times})  mean of finite {mean:6.1f} d  "
            f"max {figures_['max_abs_days']:6.1f} d  never {figures_['never']}{extra}"
        )


def print_report(result: dict[str, Any]) -> None:
    """The human-readable report."""
    goal = result["goal"]
    print("Backtest: next unreached 100,000 multiple from each quarter end (4th on)")
    print_table(result["rows"])
    for line in result["skipped"]:
        print(f"skipped: {line}")
    totals = result["next_target"]
    print_totals("Totals", totals)
    verdict = "met" if totals["goal_met"] else "NOT met"
    print(
        f"  goal: median |error| <= {goal['median_abs_days']:.0f} d and interval held in "
        f">= {goal['coverage']:.0%} of cuts: {verdict}"
    )
    if "all_targets" in result:
        print("\nCheck beyond the goal: every later 100,000 multiple the data reaches")
        print_table(result["all_target_rows"])
        print_totals("Totals (all targets)", result["all_targets"])
    print(f"\n({result['seconds']:.1f} s)")


if __name__ == "__main__":
    raise SystemExit(main())
