"""The after-sales plan: vehicles in operation, service bays and fast chargers needed per
region and month, against the network planned.

For each month m from the first delivery month to the last (or `until`):

- fleet(m) = fleet(m - 1) x retention^(1/12) + deliveries(m): every car delivered in month
  k is still in operation in month m with probability retention^((m - k) / 12), a car
  delivered in month m counting whole in m. Months missing from the deliveries deliver 0.
- vehicles(region, m) = fleet(m) x share(region), rounded to the nearest whole car (halves
  up).
- bays_needed = ceil(vehicles x visits_per_vehicle_year / 12 x bay_hours_per_visit /
  bay_hours_per_bay_month).
- chargers_needed = ceil(vehicles / 1000 x chargers_per_1000).
- planned bays and chargers: the network row of the region with the latest month <= m
  (carried forward); 0 before a region's first row; None without a network file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from linespeed.aftersales.errors import AftersalesInputError
from linespeed.aftersales.files import DEFAULT_REGIONS, Delivery, Month, NetworkRow, Region
from linespeed.aftersales.params import Parameters, default_parameters

MAX_MONTHS: Final = 1200
"""The longest plan (100 years of months)."""
_EPSILON: Final = 1e-9
"""Rounding noise ignored before taking a ceiling (1000 x 0.1 is not 100.00000000000001 bays)."""


@dataclass(frozen=True)
class PlanRow:
    """One region in one month: vehicles in operation, bays and chargers needed and planned."""

    month: Month
    region: str
    vehicles: int
    bays_needed: int
    chargers_needed: int
    bays_planned: int | None
    chargers_planned: int | None

    @property
    def bays_gap(self) -> int:
        """Bays needed beyond those planned (0 when enough are planned or no plan is given)."""
        return 0 if self.bays_planned is None else max(0, self.bays_needed - self.bays_planned)

    @property
    def chargers_gap(self) -> int:
        """Chargers needed beyond those planned (0 when enough or no plan is given)."""
        if self.chargers_planned is None:
            return 0
        return max(0, self.chargers_needed - self.chargers_planned)


@dataclass(frozen=True)
class AftersalesPlan:
    """The plan: rows by month then region (regions in their file's order)."""

    rows: list[PlanRow]
    parameters: Parameters
    regions: list[Region]
    forecast_from: Month | None
    """The first month whose deliveries are (partly) forecast; None if all are actual."""

    @property
    def gaps(self) -> list[PlanRow]:
        """The rows short of bays or chargers (needed beyond planned)."""
        return [row for row in self.rows if row.bays_gap > 0 or row.chargers_gap > 0]


def plan_aftersales(
    deliveries: Sequence[Delivery],
    *,
    regions: Sequence[Region] = DEFAULT_REGIONS,
    network: Sequence[NetworkRow] | None = None,
    parameters: Parameters | None = None,
    until: Month | None = None,
    forecast_from: Month | None = None,
) -> AftersalesPlan:
    """The after-sales plan of monthly `deliveries` (months increasing), split by `regions`.

    Months run from the first delivery's to `until` (default the last delivery's); months
    after the last delivery deliver nothing. `network` rows carry forward (module doc).
    Raises AftersalesInputError for no deliveries, `until` before the first month, or a
    plan longer than MAX_MONTHS.
    """
    parameters = parameters or default_parameters()
    if not deliveries:
        raise AftersalesInputError("no deliveries to plan from")
    first = deliveries[0].month
    last = until if until is not None else deliveries[-1].month
    if last < first:
        raise AftersalesInputError(f"until {last} is before the first month of deliveries, {first}")
    if last.index - first.index + 1 > MAX_MONTHS:
        raise AftersalesInputError(
            f"{first} to {last} is more than {MAX_MONTHS} months; give an earlier until"
        )
    by_month = {delivery.month: delivery.deliveries for delivery in deliveries}
    monthly_retention = parameters.retention ** (1 / 12)
    planned = _carried(network) if network is not None else None
    rows: list[PlanRow] = []
    fleet = 0.0
    for index in range(first.index, last.index + 1):
        month = Month.from_index(index)
        fleet = fleet * monthly_retention + by_month.get(month, 0)
        for region in regions:
            vehicles = math.floor(fleet * region.share + 0.5)
            bays = planned_chargers = None
            if planned is not None:
                bays, planned_chargers = _planned(planned.get(region.region, []), month)
            rows.append(
                PlanRow(
                    month=month,
                    region=region.region,
                    vehicles=vehicles,
                    bays_needed=bays_needed(vehicles, parameters),
                    chargers_needed=chargers_needed(vehicles, parameters),
                    bays_planned=bays,
                    chargers_planned=planned_chargers,
                )
            )
    return AftersalesPlan(rows, parameters, list(regions), forecast_from)


def bays_needed(vehicles: int, parameters: Parameters) -> int:
    """ceil(vehicles x visits/vehicle-year / 12 x bay-hours/visit / bay-hours per bay-month)."""
    hours = vehicles * parameters.visits_per_vehicle_year / 12 * parameters.bay_hours_per_visit
    return max(0, math.ceil(hours / parameters.bay_hours_per_bay_month - _EPSILON))


def chargers_needed(vehicles: int, parameters: Parameters) -> int:
    """ceil(vehicles / 1000 x chargers per 1,000 vehicles)."""
    return max(0, math.ceil(vehicles / 1000 * parameters.chargers_per_1000 - _EPSILON))


def _carried(network: Sequence[NetworkRow]) -> dict[str, list[NetworkRow]]:
    by_region: dict[str, list[NetworkRow]] = {}
    for row in network:
        by_region.setdefault(row.region, []).append(row)
    return {region: sorted(rows, key=lambda row: row.month) for region, rows in by_region.items()}


def _planned(rows: list[NetworkRow], month: Month) -> tuple[int, int]:
    """The bays and chargers of the latest row at or before `month`; (0, 0) before the first."""
    bays = chargers = 0
    for row in rows:
        if row.month > month:
            break
        bays, chargers = row.bays, row.chargers
    return bays, chargers


def plan_json(plan: AftersalesPlan) -> dict[str, Any]:
    """The plan as JSON: {"rows": [{month, region, vehicles, bays_needed, chargers_needed,
    bays_planned, chargers_planned}, ...]} (planned values null without a network)."""
    return {
        "rows": [
            {
                "month": str(row.month),
                "region": row.region,
                "vehicles": row.vehicles,
                "bays_needed": row.bays_needed,
                "chargers_needed": row.chargers_needed,
                "bays_planned": row.bays_planned,
                "chargers_planned": row.chargers_planned,
            }
            for row in plan.rows
        ]
    }
