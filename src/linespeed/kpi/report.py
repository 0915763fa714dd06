"""What `kpi_report` answers: plain dataclasses (msgspec.to_builtins turns them into JSON).

Times are aware UTC datetimes, durations are seconds (`_s`) or hours (`_hours`), rates are
plain floats. A rate whose denominator is zero is 0.0, never NaN; the counts beside it say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeAlias

GroupBy: TypeAlias = Literal["day", "shift", "station", "model", "color"]
"""How `kpi_report(by=...)` groups its counts and rates."""

"""Where planned busy time comes from: stored station states, the stored plan's calendar, the
plant's shifts, or neither (no shifts: every hour is planned busy time)."""


@dataclass(frozen=True)
class ParetoEntry:
    """One bar of a defect Pareto: a defect code or a station, with its count and share."""

    key: str
    defects: int
    share: float
    """Of all defects opened in the window (0..1)."""


@dataclass(frozen=True)
class DowntimeEntry:
    """Time a station (or, with `station` None, all stations together) spent in one stop state."""

    station: str | None
    state: str
    """`down`, `changeover` (both unplanned) or `planned-stop`."""
    reason: str | None
    planned: bool
    seconds: float
    stops: int
    """State intervals that overlap the window."""


@dataclass(frozen=True)
class PartShortage:
    """Production time lost waiting for one part (`starved`, reason `shortage:PART`)."""

    part: str
    supplier: str | None
    """The part's supplier in the BOM; None for a part in no BOM."""
    seconds: float
    """Time in the window when at least one station was starved for the part."""
    stops: int
    """Supply stop intervals that overlap the window."""
    stations: list[str]


@dataclass(frozen=True)
class SupplierShortage:
    """Production time lost waiting for one supplier's parts."""

    supplier: str | None
    seconds: float
    """Time in the window when at least one station was starved for one of its parts."""
    stops: int
    parts: list[str]


@dataclass(frozen=True)
class StationKpis:
    """One station: ISO 22400-2 OEE and the average active period (bottleneck) analysis."""

    station: str
    line: str
    cycle_s: float
    """PRU, planned runtime per unit: the station's `cycle_s` in the plant file."""
    planned_busy_s: float
    """PBT: the window minus planned stops."""
    planned_stop_s: float
    unplanned_down_s: float
    """`down` and `changeover` time inside PBT."""
    actual_production_s: float
    """APT = PBT - unplanned down."""
    processed: int
    """PQ: station visits completed in the window."""
    good: int
    """GQ: the cars of PQ first time through here: no failed check and no defect opened
    at the station (see docs/kpi.md)."""
    availability: float
    effectiveness: float
    quality_ratio: float
    oee: float
    active_s: float
    """Working on a car (incl. down time, minus planned stops), from `bottleneck_since`."""
    active_periods: int
    average_active_period_s: float
    starved_s: float
    blocked_s: float
    active_share: float
    """Of the PBT from `bottleneck_since` (0..1), like the starved and blocked shares."""
    starved_share: float
    blocked_share: float
    bottleneck: bool
    starved_for_parts_s: float = 0.0
    """From `bottleneck_since`: time the station was starved for parts (`shortage:PART`
    states), not for cars (`starved_s`, from the flow of cars)."""


@dataclass(frozen=True)
class LineKpis:
    """One line: throughput against takt and the line's OEE."""

    line: str
    takt_s: float
    takt_jph: float
    """3600 / takt_s: jobs per hour at full rate."""
    production_hours: float
    """Planned busy hours of the line's last station in the window."""
    production_hours_source: dict[str, float]
    """Seconds of the window whose planned stops each source decided: `station_states`,
    `calendar` (the stored plan), `shift_plan` (the plant's shifts), `window` (neither:
    the whole window counts as production time)."""
    completed: int
    jph: float
    """Completed cars per production hour."""
    jph_vs_takt: float
    planned_busy_s: float
    unplanned_down_s: float
    """The line's down time: time in PBT when its output was lost to a stop (a station
    down or in changeover while the next car was overdue; docs/kpi.md)."""
    actual_production_s: float
    good: int
    """Completed cars first time through: no failed check, no defect opened."""
    availability: float
    effectiveness: float
    quality_ratio: float
    oee: float
    bottleneck: str | None
    planned: float | None = None
    """Cars the stored plan asks of this line in the window (None: no plan covers it)."""
    planned_vs_actual: float | None = None
    """completed / planned."""


@dataclass(frozen=True)
class KpiGroup:
    """The counts and rates of one group (a day, a shift, a station, a model or a colour)."""

    key: str
    since: datetime | None
    """The group's own time slice (days only; else None: the report's window)."""
    until: datetime | None
    produced: int | None
    """Cars started; None for stations."""
    completed: int
    """Cars completed; for a station: units processed there (PQ)."""
    scrapped: int
    wip: int | None
    """Cars in production at the group's end (days, models, colours)."""
    production_hours: float
    jph: float
    throughput_rate: float
    """Completed (for a station: processed) cars per elapsed hour of the group's time."""
    units_inspected: int
    units_first_pass: int
    first_pass_yield: float
    defects: int
    defects_per_unit: float
    oee: float | None
    """Line OEE for days and shifts, station OEE for stations, None for models and colours."""
    planned: float | None = None
    """Cars the stored plan asks for in the group (days, shifts, models; pro rata to working
    time where the group cuts a planned shift or day); None where no plan covers it, and
    for stations and colours."""
    planned_vs_actual: float | None = None
    """completed / planned."""
    plan_coverage: float | None = None
    """The share (0..1) of the group's time on days a plan revision covers."""


@dataclass(frozen=True)
class KpiReport:
    """Counts, throughput, quality, downtime, OEE and the bottleneck of a plant over a window."""

    plant: str
    since: datetime
    until: datetime
    """The window [since, until) the report covers, as used."""
    produced: int
    """Cars started in the window."""
    completed: int
    scrapped: int
    wip: int
    """Cars in production at `until`."""
    production_hours: float
    production_hours_source: dict[str, float]
    """Of the line whose production hours are shown: seconds of the window per source of
    planned stops (`station_states`, `calendar`, `shift_plan`, `window`; see LineKpis)."""
    jph: float
    takt_jph: float
    jph_vs_takt: float
    throughput_rate: float
    """ISO 22400-2 throughput rate: completed cars per elapsed hour of the window."""
    planned: float | None
    """Cars the stored plan asks for in the window, pro rata to working time where the
    window cuts a planned shift or day; None where no plan revision covers any of it."""
    planned_vs_actual: float | None
    """completed / planned (0.0 when planned is 0)."""
    units_inspected: int
    units_first_pass: int
    first_pass_yield: float
    defects: int
    defects_per_unit: float
    pareto_by_code: list[ParetoEntry]
    pareto_by_station: list[ParetoEntry]
    planned_stop_s: float
    """Summed over stations."""
    unplanned_down_s: float
    downtime_total: list[DowntimeEntry]
    """By state and reason over all stations, longest first."""
    downtime_by_station: list[DowntimeEntry]
    lines: list[LineKpis]
    stations: list[StationKpis]
    """In flow order."""
    bottleneck: str | None
    """The station with the longest average active period."""
    bottleneck_since: datetime
    """Start of the bottleneck analysis: the window's last seven days at most (see docs)."""
    by: GroupBy | None = None
    groups: list[KpiGroup] = field(default_factory=list)
    shortage_by_part: list[PartShortage] = field(default_factory=list)
    """Production time lost to supply stops in the window, by part, longest first."""
    shortage_by_supplier: list[SupplierShortage] = field(default_factory=list)
    """The same by supplier, longest first."""
    notes: list[str] = field(default_factory=list)
    """What a reader should know: an empty store, a window without production, ..."""
    plan_coverage: float | None = None
    """The share (0..1) of the window on days a plan revision covers: below 1, the window
    is partly planned and `planned` counts only the covered days. None for an empty window."""
