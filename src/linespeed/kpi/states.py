"""Station states in a window: planned stops, unplanned down time, and where they come from.

A station is in the state of its last `station.state` event (docs/events.md); before its
first one it is taken as running. `planned-stop` is planned; `down` and `changeover` are
unplanned (availability losses); `running`, `starved` and `blocked` are not stops.
When the store holds no state of a line's stations at all, its planned stops come from
the plant's shifts (time outside shifts and breaks); with no shifts either, the whole
window is planned busy time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

from sqlalchemy import Connection, bindparam, select

from linespeed.kpi.intervals import Coverage
from linespeed.kpi.report import DowntimeEntry, HoursSource
from linespeed.kpi.window import Window, shift_spans
from linespeed.plant.model import Line, Plant
from linespeed.store.schema import station_states

PLANNED: Final = frozenset({"planned-stop"})
UNPLANNED: Final = frozenset({"down", "changeover"})
SHIFT_PLAN_REASON: Final = "shift plan (plant file)"


@dataclass(frozen=True)
class Stop:
    """One stop state interval of a station, clipped to the window (epoch seconds)."""

    state: str
    reason: str | None
    start_s: float
    end_s: float


@dataclass
class StationTimeline:
    """A station's stops in the window: every interval, and the planned / unplanned unions."""

    stops: list[Stop] = field(default_factory=list)
    planned: Coverage = field(default_factory=lambda: Coverage(()))
    unplanned: Coverage = field(default_factory=lambda: Coverage(()))

    def planned_busy_s(self, begin: float, end: float) -> float:
        """PBT of [begin, end): its length minus planned stops."""
        return max(0.0, end - begin - self.planned.between(begin, end))

    def unplanned_s(self, begin: float, end: float) -> float:
        """Unplanned down time in [begin, end)."""
        return self.unplanned.between(begin, end)


@dataclass
class LineTimelines:
    """The timelines of one line's stations and the source of their planned stops."""

    source: HoursSource
    stations: dict[str, StationTimeline]

    @cached_property
    def any_unplanned(self) -> Coverage:
        """When at least one station of the line was down or in changeover."""
        return Coverage(
            span for timeline in self.stations.values() for span in timeline.unplanned.spans
        )


def load_timelines(
    connection: Connection, plant: Plant, window: Window
) -> dict[str, LineTimelines]:
    """Per line, per station: the stops that overlap the window."""
    result: dict[str, LineTimelines] = {}
    for line in plant.lines:
        ids = [station.id for station in line.stations]
        if _has_states(connection, ids):
            result[line.id] = LineTimelines("station-states", _from_states(connection, ids, window))
        elif plant.shifts:
            result[line.id] = LineTimelines("shift-plan", _from_shifts(plant, line, window))
        else:
            result[line.id] = LineTimelines(
                "window", {station.id: StationTimeline() for station in line.stations}
            )
    return result


def _has_states(connection: Connection, stations: list[str]) -> bool:
    found = connection.execute(
        select(station_states.c.station).where(station_states.c.station.in_(stations)).limit(1)
    ).first()
    return found is not None


def _from_states(
    connection: Connection, stations: list[str], window: Window
) -> dict[str, StationTimeline]:
    table = station_states.c
    columns = (table.station, table.state, table.reason, table.started_at, table.ended_at)
    rows = list(
        connection.execute(
            select(*columns).where(
                table.station.in_(stations),
                table.started_at >= window.since,
                table.started_at < window.until,
                table.state != "running",
            )
        )
    )
    # The state each station was in when the window opened: its last one before `since`.
    last_before = (
        select(*columns)
        .where(table.station == bindparam("station"), table.started_at < window.since)
        .order_by(table.started_at.desc())
        .limit(1)
    )
    for station in stations:
        rows.extend(connection.execute(last_before, {"station": station}))
    by_station: dict[str, list[Stop]] = defaultdict(list)
    lo, hi = window.since_s, window.until_s
    for station, state, reason, started_at, ended_at in rows:
        begin = max(started_at.timestamp(), lo)
        end = min(hi if ended_at is None else ended_at.timestamp(), hi)
        if (state in PLANNED or state in UNPLANNED) and end > begin:
            by_station[station].append(Stop(state, reason, begin, end))
    return {station: _timeline(by_station[station]) for station in stations}


def _from_shifts(plant: Plant, line: Line, window: Window) -> dict[str, StationTimeline]:
    working = Coverage(
        (max(a.timestamp(), window.since_s), min(b.timestamp(), window.until_s))
        for span in shift_spans(plant, window)
        for a, b in span.working
    )
    off = working.complement(window.since_s, window.until_s)
    stops = [Stop("planned-stop", SHIFT_PLAN_REASON, s, e) for s, e in off.spans]
    return {station.id: _timeline(list(stops)) for station in line.stations}


def _timeline(stops: list[Stop]) -> StationTimeline:
    stops = sorted((stop for stop in stops if stop.end_s > stop.start_s), key=lambda s: s.start_s)
    return StationTimeline(
        stops,
        Coverage((s.start_s, s.end_s) for s in stops if s.state in PLANNED),
        Coverage((s.start_s, s.end_s) for s in stops if s.state in UNPLANNED),
    )


def downtime_entries(
    timelines: dict[str, LineTimelines],
) -> tuple[list[DowntimeEntry], list[DowntimeEntry]]:
    """Downtime by (station, state, reason) and by (state, reason) over all stations.

    Each list is sorted longest first (then by station, state and reason).
    """
    per_station: dict[tuple[str | None, str, str | None], list[float]] = defaultdict(
        lambda: [0.0, 0]
    )
    total: dict[tuple[str | None, str, str | None], list[float]] = defaultdict(lambda: [0.0, 0])
    for line in timelines.values():
        for station, timeline in line.stations.items():
            for stop in timeline.stops:
                for key, sums in (
                    ((station, stop.state, stop.reason), per_station),
                    ((None, stop.state, stop.reason), total),
                ):
                    sums[key][0] += stop.end_s - stop.start_s
                    sums[key][1] += 1
    return _entries(per_station), _entries(total)


def _entries(sums: dict[tuple[str | None, str, str | None], list[float]]) -> list[DowntimeEntry]:
    entries = [
        DowntimeEntry(station, state, reason, state in PLANNED, round(seconds, 3), int(stops))
        for (station, state, reason), (seconds, stops) in sums.items()
    ]
    return sorted(
        entries,
        key=lambda e: (-e.seconds, e.station or "", e.state, e.reason or ""),
    )
