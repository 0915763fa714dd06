"""The ramp question in one call: the plant's curve, the stored plan's cumulative curve beside
it, forecasts of its next milestones, and the comparison with reference ramps. The CLI, the
API and the dashboard all ask it here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from linespeed.errors import LinespeedError
from linespeed.ramp.compare import RampComparison, compare_ramps
from linespeed.ramp.curve import daily_rate
from linespeed.ramp.errors import RampReferenceError
from linespeed.ramp.forecast import Forecast, forecast_target
from linespeed.ramp.milestones import milestones_reached, next_milestone
from linespeed.ramp.plan_ramp import PlanAgainstActual, plan_ramp
from linespeed.ramp.plant_ramp import plant_ramp
from linespeed.ramp.references import reference_names, reference_series
from linespeed.ramp.series import RampSeries
from linespeed.store.plants import current_plant

DEFAULT_REFERENCES = ("tesla-model-3", "pace-300k-15m")


@dataclass(frozen=True)
class TwinBand:
    """A milestone forecast by the plant's twin: when car `target` is completed, P10/P50/P90
    over the twin's runs (`linespeed.twin.forecast`)."""

    target: int
    p10: datetime
    p50: datetime
    p90: datetime

    def to_json(self) -> dict[str, Any]:
        """`{"target", "p10", "p50", "p90"}`, times as UTC ISO 8601."""
        return {
            "target": self.target,
            **{name: _utc(getattr(self, name)) for name in ("p10", "p50", "p90")},
        }


@dataclass(frozen=True)
class TwinForecasts:
    """The twin's forecasts beside the curve fit's, and what the twin was fitted from."""

    bands: list[TwinBand]
    runs: int
    fitted_from: datetime
    fitted_to: datetime
    cars_completed: int
    """Cars completed by `fitted_to`, where the twin resumes."""

    def to_json(self) -> dict[str, Any]:
        """The bands (P10-P90: an 80% band) with the window the twin was fitted from."""
        return {
            "coverage": "P10-P90",
            "runs": self.runs,
            "fitted_from": _utc(self.fitted_from),
            "fitted_to": _utc(self.fitted_to),
            "cars_completed": self.cars_completed,
            "forecasts": [band.to_json() for band in self.bands],
        }


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class RampReport:
    """The plant's ramp against references, with forecasts."""

    plant: RampSeries | None
    references: list[RampSeries]
    forecasts: list[Forecast]
    comparison: RampComparison | None
    notes: list[str]
    plan: PlanAgainstActual | None = None
    """The stored plan's cumulative curve beside the plant's; None without a stored plan."""
    twin: TwinForecasts | None = None
    """The twin's forecasts of the same targets (`ramp --twin`); None unless asked."""

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (curves by day, forecasts, comparison)."""
        plant = self.plant
        return {
            "plant": None
            if plant is None
            else {
                "name": plant.name,
                "metric": plant.metric,
                "start_of_production": plant.start.isoformat(),
                "cumulative": [[day.isoformat(), count] for day, count in plant.pairs()],
                "daily_rate_7d": [
                    [day.isoformat(), round(rate, 2)] for day, rate in daily_rate(plant.pairs())
                ],
            },
            "references": [
                {"name": one.name, "legend": one.legend, "metric": one.metric}
                for one in self.references
            ],
            "forecasts": [forecast.to_json() for forecast in self.forecasts],
            "comparison": None if self.comparison is None else self.comparison.to_json(),
            "notes": self.notes,
            "plan": None if self.plan is None else _plan_json(self.plan),
            "twin": None if self.twin is None else self.twin.to_json(),
        }


def _plan_json(plan: PlanAgainstActual) -> dict[str, Any]:
    return {
        "cumulative": [[day.isoformat(), count] for day, count in plan.series.pairs()],
        "day": None if plan.day is None else plan.day.isoformat(),
        "planned_to_date": plan.planned_to_date,
        "actual_to_date": plan.actual_to_date,
        "actual_vs_plan": plan.actual_vs_plan,
    }


def ramp_report(
    engine: Engine, *, references: Sequence[str] = DEFAULT_REFERENCES, targets: Sequence[int] = ()
) -> RampReport:
    """The plant's cumulative curve, forecasts of `targets` (default: its next milestones), and
    days to 10k/100k/200k/300k beside each reference ramp, aligned on start of production.

    Raises RampReferenceError (ramp.input) naming an unknown reference, StoreError without a plant.
    """
    check_references(references)
    plant = plant_ramp(engine)
    chosen = [reference_series(name) for name in references]
    notes: list[str] = []
    forecasts: list[Forecast] = []
    if plant is None:
        notes.append("no car has been completed yet: there is no plant curve to forecast")
    else:
        for target in forecast_targets(engine, targets):
            try:
                forecasts.append(forecast_target(plant, target, source=plant.name))
            except LinespeedError as error:
                notes.append(f"forecast of {target:,}: {error.message}")
    series = {one.name: one for one in chosen}
    if plant is not None:
        series = {plant.name: plant, **series}
    comparison = compare_ramps(series) if series else None
    planned = plan_ramp(engine, plant)
    if planned is None:
        notes.append("no production plan is stored: no plan curve (linespeed plan import)")
    return RampReport(plant, chosen, forecasts, comparison, notes, planned)


def check_references(references: Sequence[str]) -> None:
    """Raise RampReferenceError (ramp.input) naming each of `references` that is unknown."""
    unknown = [name for name in references if name not in reference_names()]
    if unknown:
        known = ", ".join(reference_names())
        raise RampReferenceError(
            f"unknown reference ramp(s) {', '.join(unknown)}; known: {known}",
            parameter="references",
            value=unknown,
        )


def forecast_targets(engine: Engine, targets: Sequence[int] = ()) -> list[int]:
    """The counts to forecast: `targets`, or by default the plant's next two milestones."""
    if targets:
        return list(targets)
    completed = milestones_reached(engine).completed
    with engine.connect() as connection:
        plant = current_plant(connection)
    first = next_milestone(plant, completed)
    if first is None:
        return []
    second = next_milestone(plant, first)
    return [first] + ([second] if second is not None else [])


def compare_text(report: RampReport) -> str:
    """The comparison table for people: days from start of production to each milestone."""
    return "" if report.comparison is None else report.comparison.to_text()
