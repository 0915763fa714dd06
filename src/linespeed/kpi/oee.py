"""ISO 22400-2 OEE of stations and lines, and the rates built from counts.

Availability = APT / PBT, Effectiveness = PRU x PQ / APT, Quality ratio = GQ / PQ,
OEE = the three multiplied (= PRU x GQ / PBT). Every ratio with a zero denominator is 0.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from linespeed.kpi.bottleneck import ActivePeriods
from linespeed.kpi.report import StationKpis
from linespeed.kpi.states import LineTimelines
from linespeed.plant.model import Line, Station


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or 0.0 when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else 0.0


@dataclass(frozen=True)
class Oee:
    """The ISO 22400-2 times, quantities and ratios of one work unit over some time."""

    planned_busy_s: float
    unplanned_down_s: float
    actual_production_s: float
    unit_s: float
    processed: int
    good: int

    @property
    def availability(self) -> float:
        """APT / PBT."""
        return ratio(self.actual_production_s, self.planned_busy_s)

    @property
    def effectiveness(self) -> float:
        """PRU x PQ / APT."""
        return ratio(self.unit_s * self.processed, self.actual_production_s)

    @property
    def quality_ratio(self) -> float:
        """GQ / PQ."""
        return ratio(self.good, self.processed)

    @property
    def oee(self) -> float:
        """Availability x effectiveness x quality ratio."""
        return self.availability * self.effectiveness * self.quality_ratio


def oee_of(planned_busy_s: float, unplanned_s: float, unit_s: float, pq: int, gq: int) -> Oee:
    """The OEE of a work unit; unplanned down time is capped at PBT."""
    down = min(unplanned_s, planned_busy_s)
    return Oee(planned_busy_s, down, planned_busy_s - down, unit_s, pq, gq)


def station_kpis(
    station: Station,
    line: Line,
    timelines: LineTimelines,
    spans: Sequence[tuple[float, float]],
    processed: int,
    bad: int,
    periods: ActivePeriods,
    *,
    bottleneck: bool,
) -> StationKpis:
    """A station's OEE and active period figures over the time `spans`."""
    timeline = timelines.stations[station.id]
    pbt = sum(timeline.planned_busy_s(lo, hi) for lo, hi in spans)
    planned = sum(timeline.planned.between(lo, hi) for lo, hi in spans)
    unplanned = sum(timeline.unplanned_s(lo, hi) for lo, hi in spans)
    figures = oee_of(pbt, unplanned, station.cycle_s, processed, max(processed - bad, 0))
    return StationKpis(
        station=station.id,
        line=line.id,
        cycle_s=station.cycle_s,
        planned_busy_s=round(pbt, 3),
        planned_stop_s=round(planned, 3),
        unplanned_down_s=round(figures.unplanned_down_s, 3),
        actual_production_s=round(figures.actual_production_s, 3),
        processed=processed,
        good=figures.good,
        availability=figures.availability,
        effectiveness=figures.effectiveness,
        quality_ratio=figures.quality_ratio,
        oee=figures.oee,
        active_s=round(periods.active_s, 3),
        active_periods=periods.periods,
        average_active_period_s=round(periods.average_s, 3),
        starved_s=round(periods.starved_s, 3),
        blocked_s=round(periods.blocked_s, 3),
        active_share=ratio(periods.active_s, periods.planned_busy_s),
        starved_share=ratio(periods.starved_s, periods.planned_busy_s),
        blocked_share=ratio(periods.blocked_s, periods.planned_busy_s),
        bottleneck=bottleneck,
    )


def line_oee(
    line: Line,
    timelines: LineTimelines,
    spans: Sequence[tuple[float, float]],
    completed: int,
    good: int,
) -> Oee:
    """The line's OEE over the time `spans`.

    PBT is the planned busy time of the line's last station (where cars are completed);
    unplanned down time is the time inside it when the line's output was lost to a stop
    (a station down or in changeover while the next car was overdue, see
    `LineTimelines.output_lost`); PRU is the takt; PQ the completed cars; GQ those first
    time through.
    """
    last_id = line.stations[-1].id
    last = timelines.stations[last_id]
    lost = timelines.output_lost(line.takt_s, last_id)
    pbt = unplanned = 0.0
    for lo, hi in spans:
        pbt += last.planned_busy_s(lo, hi)
        down = lost.clipped(lo, hi)
        unplanned += down.total_s - float(last.planned.within(down.starts, down.ends).sum())
    return oee_of(pbt, unplanned, line.takt_s, completed, good)
