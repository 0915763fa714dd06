"""The plan's ramp: cumulative cars the stored plan asks for, beside the actual curve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from linespeed.ramp.series import RampSeries, series_from_counts
from linespeed.store.plants import current_plant
from linespeed.supply.plan import day_plans, revisions


@dataclass(frozen=True)
class PlanAgainstActual:
    """The cumulative plan and, at the plant's last day, how far the actual curve is from it."""

    series: RampSeries
    """Cumulative planned cars by day, aligned on the plant's start of production."""
    day: date | None
    """The plant's last day with a completion (None before the first car)."""
    planned_to_date: float | None
    """Cars the plan asked for up to and including `day`."""
    actual_to_date: float | None
    actual_vs_plan: float | None
    """actual_to_date / planned_to_date (None when nothing was planned yet)."""


def plan_ramp(engine: Engine, actual: RampSeries | None) -> PlanAgainstActual | None:
    """The stored plan as a cumulative curve (days no revision covers add nothing), compared
    with `actual`, the plant's curve, at its last day; None when no plan is stored."""
    with engine.connect() as connection:
        known = revisions(connection)
        if not known:
            return None
        plant = current_plant(connection)
        first = min(revision.first_day for revision in known)
        last = max(revision.last_day for revision in known)
        plan = day_plans(connection, first, last, known)
    per_day = {day: sum(row.quantity for row in plan[day].rows) for day in sorted(plan)}
    days = [day for day, count in per_day.items() if count > 0] or sorted(per_day)
    series = series_from_counts(
        days,
        [per_day[day] for day in days],
        name=f"{plant.plant}-plan",
        label=f"{plant.name} plan",
        metric="produced",
        sop=actual.start if actual is not None else None,
        source="plan",
    )
    if actual is None:
        return PlanAgainstActual(series, None, None, None, None)
    day, done = actual.pairs()[-1]
    planned = sum(count for plan_day, count in per_day.items() if plan_day <= day)
    return PlanAgainstActual(
        series, day, float(planned), done, None if planned <= 0 else done / planned
    )
