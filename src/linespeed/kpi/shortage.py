"""Shortage stops: production time lost waiting for parts, by part, by supplier, by station.

A `station.state` with state `starved` and reason `shortage:PART` is a supply stop: the
station had a car (or could have had one) but not the part. Its time in the window is lost
production time. Per part it is the union over stations (two stations starved for the same
part at once lose that time once); per supplier the union over its parts. A part's supplier
is its supplier in the plant's BOM (None for a part in no BOM).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Final

from sqlalchemy import Connection

from linespeed.kpi.intervals import Coverage
from linespeed.kpi.report import PartShortage, StationKpis, SupplierShortage
from linespeed.kpi.states import overlapping_states
from linespeed.kpi.window import Window
from linespeed.plant.model import Plant

SHORTAGE_PREFIX: Final = "shortage:"
"""A starved station's reason that names the part it waits for: `shortage:BAT-1001`."""


@dataclass(frozen=True)
class ShortageStop:
    """One supply stop of a station, clipped to the window (epoch seconds)."""

    station: str
    part: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Shortages:
    """The supply stops of a window, and what they cost by part, supplier and station."""

    stops: list[ShortageStop]
    by_part: list[PartShortage]
    by_supplier: list[SupplierShortage]

    def station_seconds(self, station: str, since_s: float, until_s: float) -> float:
        """Seconds station `station` was starved for parts in [since_s, until_s)."""
        return Coverage(
            (stop.start_s, stop.end_s) for stop in self.stops if stop.station == station
        ).between(since_s, until_s)


def shortage_stops(connection: Connection, plant: Plant, window: Window) -> list[ShortageStop]:
    """Every `starved` / `shortage:PART` state of the plant's stations overlapping the window."""
    stops: list[ShortageStop] = []
    lo, hi = window.since_s, window.until_s
    rows = overlapping_states(connection, list(plant.stations_by_id), window, ("starved",))
    for station, _, reason, started_at, ended_at in rows:
        if reason is None or not reason.startswith(SHORTAGE_PREFIX):
            continue
        part = reason.removeprefix(SHORTAGE_PREFIX).strip()
        begin = max(started_at.timestamp(), lo)
        end = min(hi if ended_at is None else ended_at.timestamp(), hi)
        if part and end > begin:
            stops.append(ShortageStop(station, part, begin, end))
    return sorted(stops, key=lambda stop: (stop.start_s, stop.station))


def shortages(connection: Connection, plant: Plant, window: Window) -> Shortages:
    """The window's supply stops and the production time they cost, by part and by supplier
    (each list longest first, then by name)."""
    stops = shortage_stops(connection, plant, window)
    supplier_of = plant.part_suppliers
    by_part: dict[str, list[ShortageStop]] = defaultdict(list)
    for stop in stops:
        by_part[stop.part].append(stop)
    parts = [
        PartShortage(
            part=part,
            supplier=supplier_of.get(part),
            seconds=round(_covered(part_stops), 3),
            stops=len(part_stops),
            stations=sorted({stop.station for stop in part_stops}),
        )
        for part, part_stops in by_part.items()
    ]
    by_supplier: dict[str | None, list[ShortageStop]] = defaultdict(list)
    for stop in stops:
        by_supplier[supplier_of.get(stop.part)].append(stop)
    suppliers = [
        SupplierShortage(
            supplier=supplier,
            seconds=round(_covered(supplier_stops), 3),
            stops=len(supplier_stops),
            parts=sorted({stop.part for stop in supplier_stops}),
        )
        for supplier, supplier_stops in by_supplier.items()
    ]
    return Shortages(
        stops,
        sorted(parts, key=lambda entry: (-entry.seconds, entry.part)),
        sorted(suppliers, key=lambda entry: (-entry.seconds, entry.supplier or "")),
    )


def with_parts_starvation(
    rows: list[StationKpis], lost: Shortages, analysed: Window
) -> list[StationKpis]:
    """The station rows with `starved_for_parts_s` over the bottleneck analysis window."""
    if not lost.stops:
        return rows
    return [
        replace(
            row,
            starved_for_parts_s=round(
                lost.station_seconds(row.station, analysed.since_s, analysed.until_s), 3
            ),
        )
        for row in rows
    ]


def _covered(stops: list[ShortageStop]) -> float:
    return Coverage((stop.start_s, stop.end_s) for stop in stops).total_s
