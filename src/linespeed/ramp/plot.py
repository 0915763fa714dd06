"""The ramp picture: cumulative cars against days since start of production, as a PNG.

The plant's curve is drawn against the reference ramps (each labelled with its metric;
deliveries dashed, production solid), the milestones as horizontal guides with the day the
plant reached each, and the forecast band shaded from the last known day to the target.
matplotlib runs on its Agg backend (no display needed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Final

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MultipleLocator

from linespeed.ramp.compare import DEFAULT_MILESTONES, milestone_reach
from linespeed.ramp.forecast import Forecast
from linespeed.ramp.report import TwinForecasts
from linespeed.ramp.series import RampSeries

PLANT_COLOR: Final = "#1f3b73"
FORECAST_COLOR: Final = "#d9822b"
TWIN_COLOR: Final = "#2a9d8f"
PLAN_COLOR: Final = "#5b8bd9"
REFERENCE_COLORS: Final = ("#c0392b", "#2e8b57", "#7f7f7f", "#8e44ad", "#b8860b")
LINE_STYLES: Final = {"produced": "-", "delivered": "--", "unspecified": ":"}
MIN_SPAN_DAYS: Final = 120


def plot_ramps(
    path: str | os.PathLike[str],
    plant_series: RampSeries | None,
    references: Sequence[RampSeries],
    milestones: Sequence[int] = DEFAULT_MILESTONES,
    forecast_band: Forecast | None = None,
    *,
    title: str = "Ramp-up: cumulative cars since start of production",
    plan_series: RampSeries | None = None,
    twin: TwinForecasts | None = None,
) -> Path:
    """Write the ramp picture to `path` (PNG) and return the path.

    `plant_series` is drawn thick, each reference thinner with its data points; the x axis
    is days since each series' start of production (or first point). `forecast_band`, a
    forecast of the plant, is drawn as a shaded fan from the plant's last day to the interval's
    late end, with the forecast day marked. `plan_series`, the stored plan's cumulative
    curve, is drawn dashed in a lighter blue beside it. `twin`, the twin's forecasts, are
    drawn as P10-P90 bars with a mark at P50 at each target. The x range covers the plant and its
    forecast (at least 15 months when there is a reference) so that the references are cut,
    not the plant.

    Raises ValueError if there is nothing to draw; OSError if the file cannot be written.
    """
    if plant_series is None and not references:
        raise ValueError("nothing to plot: give a plant series or at least one reference")
    figure, axes = plt.subplots(figsize=(11, 6.4), dpi=150, layout="constrained")
    try:
        x_max = _x_extent(plant_series, references, forecast_band, twin)
        y_max = 1.0
        for index, reference in enumerate(references):
            color = REFERENCE_COLORS[index % len(REFERENCE_COLORS)]
            y_max = max(y_max, _draw_series(axes, reference, color, 1.6, x_max, markers=True))
        if plan_series is not None:
            y_max = max(y_max, _draw_plan(axes, plan_series, x_max))
        if plant_series is not None:
            y_max = max(y_max, _draw_series(axes, plant_series, PLANT_COLOR, 2.8, x_max))
            if forecast_band is not None:
                y_max = max(y_max, _draw_forecast(axes, plant_series, forecast_band))
            if twin is not None:
                y_max = max(y_max, _draw_twin(axes, plant_series, twin))
            _mark_plant_milestones(axes, plant_series, milestones)
        _draw_milestone_guides(axes, milestones, x_max, y_max)
        _style(axes, x_max, y_max, mixed=len(_metrics(plant_series, references)) > 1)
        figure.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold")
        target = Path(path)
        figure.savefig(target, dpi=150, facecolor="white")
        return target
    finally:
        plt.close(figure)


def _metrics(plant: RampSeries | None, references: Sequence[RampSeries]) -> set[str]:
    """The metrics drawn."""
    return {one.metric for one in [*references, *([plant] if plant else [])]}


def _x_extent(
    plant: RampSeries | None,
    references: Sequence[RampSeries],
    forecast: Forecast | None,
    twin: TwinForecasts | None = None,
) -> float:
    """The last day since start of production to show."""
    if plant is None:
        return max(float((one.points[-1].day - one.start).days) for one in references) * 1.03
    extent = float((plant.points[-1].day - plant.start).days)
    if forecast is not None:
        end = forecast.high or forecast.date
        extent = max(extent, float((end - plant.start).days))
    for band in [] if twin is None else twin.bands:
        extent = max(extent, float((band.p90.date() - plant.start).days))
    if references:
        extent = max(extent, 457.0)  # 15 months: the pace's horizon
    longest = max([float((one.points[-1].day - one.start).days) for one in references] + [0])
    return max(min(max(extent * 1.08, MIN_SPAN_DAYS), max(longest, extent * 1.08)), 30.0)


def _days(series: RampSeries, day: date) -> float:
    """Days since the series' start."""
    return float((day - series.start).days)


def _draw_series(
    axes: Axes, series: RampSeries, color: str, width: float, x_max: float, *, markers: bool = False
) -> float:
    """One curve; returns the highest count shown."""
    xs = [_days(series, point.day) for point in series.points]
    ys = [point.cumulative for point in series.points]
    synthetic = all(point.kind in ("synthetic", "start-of-production") for point in series.points)
    style = "-." if synthetic else LINE_STYLES.get(series.metric, "-")
    shown = [y for x, y in zip(xs, ys, strict=True) if x <= x_max]
    # Keep the first point past the edge so the line runs to the frame.
    beyond = [y for x, y in zip(xs, ys, strict=True) if x > x_max][:1]
    axes.plot(
        xs,
        ys,
        style,
        color=color,
        linewidth=width,
        marker="o" if markers and not synthetic else None,
        markersize=3.5,
        label=series.legend,
        zorder=3 if not markers else 2,
    )
    visible = shown + beyond
    if beyond and len(xs) > 1:
        index = len(shown)
        x_0, x_1, y_0, y_1 = xs[index - 1], xs[index], ys[index - 1], ys[index]
        visible[-1] = y_0 + (y_1 - y_0) * (x_max - x_0) / (x_1 - x_0) if x_1 > x_0 else y_1
    return max(visible, default=0.0)


def _draw_plan(axes: Axes, plan: RampSeries, x_max: float) -> float:
    """The plan's cumulative curve, dashed; returns the highest count shown."""
    xs = [_days(plan, point.day) for point in plan.points]
    ys = [point.cumulative for point in plan.points]
    axes.plot(
        xs, ys, "--", color=PLAN_COLOR, linewidth=2.0, label=f"{plan.label} (cumulative)", zorder=2
    )
    shown = [y for x, y in zip(xs, ys, strict=True) if x <= x_max]
    return max(shown, default=0.0)


def _draw_forecast(axes: Axes, plant: RampSeries, forecast: Forecast) -> float:
    """The shaded fan, the expected path and the forecast day; returns the highest count."""
    band = forecast.band(step_days=3)
    xs = [_days(plant, day) for day, *_ in band]
    slow = [row[1] for row in band]
    mid = [row[2] for row in band]
    fast = [row[3] for row in band]
    target = forecast.target
    axes.fill_between(
        xs,
        [min(value, target) for value in slow],
        [min(value, target) for value in fast],
        color=FORECAST_COLOR,
        alpha=0.22,
        linewidth=0,
        label=f"Forecast band ({forecast.model} model, nominal 90%)",
    )
    until = [(x, y) for x, y in zip(xs, mid, strict=True) if y <= target]
    axes.plot([x for x, _ in until], [y for _, y in until], "--", color=FORECAST_COLOR, lw=1.8)
    day = _days(plant, forecast.date)
    low = _days(plant, forecast.low)
    high = _days(plant, forecast.high) if forecast.high is not None else xs[-1]
    axes.errorbar(
        [day], [target], xerr=[[day - low], [high - day]], fmt="D", color=FORECAST_COLOR,
        markersize=7, capsize=5, linewidth=1.6, zorder=5,
    )  # fmt: skip
    late = forecast.high.isoformat() if forecast.high is not None else "open"
    axes.annotate(
        f"{target:,.0f} forecast {forecast.date}\n({forecast.low} – {late})",
        (day, target),
        xytext=(8, 10),
        textcoords="offset points",
        fontsize=9,
        color="#8a4b0f",
        ha="left",
        va="bottom",
        bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
    )
    return target


def _draw_twin(axes: Axes, plant: RampSeries, twin: TwinForecasts) -> float:
    """Each twin forecast as a P10-P90 bar with P50 marked; returns the highest target."""
    top = 0.0
    for index, band in enumerate(twin.bands):
        mid, low, high = (_days(plant, moment.date()) for moment in (band.p50, band.p10, band.p90))
        axes.errorbar(
            [mid], [band.target], xerr=[[mid - low], [high - mid]], fmt="o", color=TWIN_COLOR,
            markersize=7, capsize=5, linewidth=1.8, zorder=6,
            label=f"Twin forecast (P10–P90, {twin.runs} runs)" if index == 0 else None,
        )  # fmt: skip
        axes.annotate(
            f"twin {band.p50.date()}\n({band.p10.date()} – {band.p90.date()})",
            (mid, band.target),
            xytext=(8, -22),
            textcoords="offset points",
            fontsize=9,
            color=TWIN_COLOR,
            ha="left",
            va="top",
        )
        top = max(top, float(band.target))
    return top


def _mark_plant_milestones(axes: Axes, plant: RampSeries, milestones: Sequence[int]) -> None:
    """A marker and the day at each milestone the plant has reached."""
    for milestone in milestones:
        reach = milestone_reach(plant, milestone)
        if reach.days is None:
            continue
        axes.plot([reach.days], [milestone], "o", color=PLANT_COLOR, markersize=7, zorder=6)
        axes.annotate(
            f"day {reach.days}",
            (reach.days, milestone),
            xytext=(-8, 8),
            textcoords="offset points",
            fontsize=9,
            color=PLANT_COLOR,
            ha="right",
            fontweight="bold",
        )


def _draw_milestone_guides(
    axes: Axes, milestones: Sequence[int], x_max: float, y_max: float
) -> None:
    """A faint horizontal line and label per milestone within the frame."""
    for milestone in milestones:
        if milestone > y_max * 1.1:
            continue
        axes.axhline(milestone, color="#999999", linewidth=0.8, linestyle=(0, (2, 3)), zorder=1)
        axes.text(
            x_max, milestone, f" {milestone:,}", va="center", ha="left", fontsize=8.5,
            color="#666666", clip_on=False,
        )  # fmt: skip


def _style(axes: Axes, x_max: float, y_max: float, *, mixed: bool) -> None:
    """Axes, labels, grid, legend and the metric note."""
    axes.set_xlim(0, x_max)
    axes.set_ylim(0, y_max * 1.08)
    axes.set_xlabel("days since start of production")
    axes.set_ylabel("cumulative cars")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:,.0f}k"))
    axes.xaxis.set_major_locator(MultipleLocator(_tick_step(x_max)))
    axes.grid(True, color="#e6e6e6", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    note = "solid: production · dashed: deliveries · dash-dot: synthetic pace"
    if mixed:
        note += " — different series: deliveries lag production"
    axes.set_title(note, loc="left", fontsize=9.5, color="#555555")
    axes.legend(loc="upper left", frameon=False, fontsize=9.5)


def _tick_step(x_max: float) -> float:
    """A round tick step giving about 8 ticks."""
    for step in (7, 14, 30, 60, 90, 120, 180, 365):
        if x_max / step <= 10:
            return float(step)
    return 365.0
