"""The report window and the plant's calendar: days and shifts in the plant's time zone.

Inside `kpi`, instants are float seconds since 1970-01-01 UTC (`epoch_s`): interval
arithmetic stays vectorisable and independent of the database's timestamp type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, bindparam, func, select

from linespeed.events.codec import EARLIEST_TS, LATEST_TS
from linespeed.kpi.errors import KpiInputError
from linespeed.plant.model import Plant, Shift
from linespeed.store.schema import (
    defects,
    events,
    inspections,
    station_states,
    station_visits,
    units,
)

OFF_SHIFT = "off-shift"
"""The group key of time outside every shift (with `by="shift"`)."""
EARLIEST: Final = EARLIEST_TS
LATEST: Final = LATEST_TS
"""A report window lies inside [EARLIEST, LATEST]: times outside cannot be stored or
computed with (the same bounds as ingest's `ts.out_of_range`)."""


@dataclass(frozen=True)
class Window:
    """The half-open time window [since, until) a report covers."""

    since: datetime
    until: datetime

    @property
    def since_s(self) -> float:
        """`since` in epoch seconds."""
        return self.since.timestamp()

    @property
    def until_s(self) -> float:
        """`until` in epoch seconds."""
        return self.until.timestamp()

    @property
    def seconds(self) -> float:
        """The window's length in seconds."""
        return self.until_s - self.since_s


@dataclass(frozen=True)
class Bucket:
    """A time slice [since, until) that counts towards group number `group`."""

    group: int
    since: datetime
    until: datetime


def _aware(name: str, value: datetime | None, zone: str) -> datetime | None:
    """`value` in UTC. Raises KpiInputError (kpi.input) if it has no UTC offset (the hint
    gives the offset of `zone`, the plant's, at that time) or lies outside EARLIEST to LATEST."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise KpiInputError(
            f"{name} {value.isoformat()} has no UTC offset; give one, e.g. "
            f"{value.replace(tzinfo=ZoneInfo(zone)).isoformat()}",
            parameter=name,
            value=value,
        )
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc <= LATEST:
        raise KpiInputError(
            f"{name} {value.isoformat()} is outside {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} UTC",
            parameter=name,
            value=value,
        )
    return in_utc


def resolve_window(
    connection: Connection, plant: Plant, since: datetime | None, until: datetime | None
) -> tuple[Window, bool]:
    """The window to report on, and whether the store holds any event at all.

    Left out, `since` is the time of the first event a KPI counts and `until` the whole
    second after the last one (so it is inside the half-open window); in an empty store,
    now. Raises KpiInputError (code "kpi.input") if since > until, or a time has no UTC
    offset or lies outside EARLIEST to LATEST.
    """
    zone = plant.timezone
    given_since, given_until = _aware("since", since, zone), _aware("until", until, zone)
    if given_since is not None and given_until is not None and given_since > given_until:
        raise KpiInputError(
            f"since {given_since.isoformat()} is after until {given_until.isoformat()}",
            parameter="since",
            value=since,
        )
    has_events = connection.execute(select(events.c.seq).limit(1)).first() is not None
    first = last = None
    if has_events and (given_since is None or given_until is None):
        first, last = _history_bounds(connection, plant)
    if given_until is None:
        if last is not None:
            # An event stored before ingest refused far-future times must not break reports.
            given_until = min(
                datetime.fromtimestamp(math.floor(min(last, LATEST).timestamp()) + 1, UTC), LATEST
            )
        else:
            given_until = datetime.now(UTC).replace(microsecond=0)
        if given_since is not None:
            given_until = max(given_until, given_since)
    if given_since is None:
        given_since = given_until if first is None else min(max(first, EARLIEST), given_until)
    return Window(given_since, given_until), has_events


def _history_bounds(
    connection: Connection, plant: Plant
) -> tuple[datetime | None, datetime | None]:
    """The first and last time of an event a KPI counts, read from indexed columns.

    Cars started, completed and scrapped; station visits, checks, defects and states.
    """
    stations = [station.id for line in plant.lines for station in line.stations]
    firsts = [
        _extreme(connection, func.min, units.c.started_at),
        *_per_station(connection, func.min, station_states.c.started_at, stations),
    ]
    lasts = [
        _extreme(connection, func.max, units.c.started_at),
        _extreme(connection, func.max, units.c.completed_at),
        _extreme(connection, func.max, units.c.scrapped_at, units.c.status == "scrapped"),
        _extreme(connection, func.max, defects.c.opened_at),
        *_per_station(connection, func.max, station_visits.c.completed_at, stations),
        *_per_station(connection, func.max, station_states.c.started_at, stations),
        *_per_station(connection, func.max, inspections.c.recorded_at, stations),
    ]
    known_firsts = [moment for moment in firsts if moment is not None]
    known_lasts = [moment for moment in lasts if moment is not None]
    return (
        min(known_firsts) if known_firsts else None,
        max(known_lasts) if known_lasts else None,
    )


def _extreme(
    connection: Connection,
    aggregate: Any,
    column: ColumnElement[datetime],
    *conditions: ColumnElement[bool],
) -> datetime | None:
    value: datetime | None = connection.execute(
        select(aggregate(column)).where(*conditions)
    ).scalar()
    return value


def _per_station(
    connection: Connection, aggregate: Any, column: Any, stations: list[str]
) -> list[datetime | None]:
    """MIN or MAX of `column` per station: one index seek each on (station, time)."""
    statement = select(aggregate(column)).where(column.table.c.station == bindparam("station"))
    return [connection.execute(statement, {"station": station}).scalar() for station in stations]


def day_buckets(window: Window, zone: ZoneInfo) -> tuple[list[str], list[Bucket]]:
    """The plant's local days that overlap the window (ISO dates), each clipped to it."""
    keys: list[str] = []
    buckets: list[Bucket] = []
    day = window.since.astimezone(zone).date()
    while True:
        start = _local(day, time(), zone)
        end = _local(day + timedelta(days=1), time(), zone)
        if start >= window.until:
            break
        lo, hi = max(start, window.since), min(end, window.until)
        if hi > lo:
            buckets.append(Bucket(len(keys), lo, hi))
            keys.append(day.isoformat())
        day += timedelta(days=1)
    return keys, buckets


@dataclass(frozen=True)
class ShiftSpan:
    """One shift on one day: its span and its working spans (the span minus breaks)."""

    name: str
    start: datetime
    end: datetime
    working: tuple[tuple[datetime, datetime], ...]


def shift_spans(plant: Plant, window: Window) -> list[ShiftSpan]:
    """Every shift of the plant that overlaps the window, in time order (not clipped)."""
    zone = ZoneInfo(plant.timezone)
    spans: list[ShiftSpan] = []
    first = window.since.astimezone(zone).date() - timedelta(days=1)
    last = window.until.astimezone(zone).date()
    day = first
    while day <= last:
        for shift in plant.shifts:
            span = shift_on(day, shift, zone)
            if span.end > window.since and span.start < window.until:
                spans.append(span)
        day += timedelta(days=1)
    return sorted(spans, key=lambda span: span.start)


def shift_buckets(plant: Plant, window: Window) -> tuple[list[str], list[Bucket]]:
    """Buckets per shift name (each shift clipped to the window), and the off-shift rest."""
    keys = [shift.name for shift in plant.shifts]
    buckets: list[Bucket] = []
    covered: list[tuple[datetime, datetime]] = []
    for span in shift_spans(plant, window):
        lo, hi = max(span.start, window.since), min(span.end, window.until)
        if hi > lo:
            buckets.append(Bucket(keys.index(span.name), lo, hi))
            covered.append((lo, hi))
    off = len(keys)
    cursor = window.since
    for lo, hi in sorted(covered):
        if lo > cursor:
            buckets.append(Bucket(off, cursor, lo))
        cursor = max(cursor, hi)
    if window.until > cursor:
        buckets.append(Bucket(off, cursor, window.until))
    keys.append(OFF_SHIFT)
    return keys, sorted(buckets, key=lambda bucket: bucket.since)


def shift_on(day: date, shift: Shift, zone: ZoneInfo) -> ShiftSpan:
    """`shift` as worked on `day` (it may end on the next day), with its breaks cut out."""
    start = _local(day, _clock(shift.start), zone)
    end_day = day + timedelta(days=1) if shift.end <= shift.start else day
    end = _local(end_day, _clock(shift.end), zone)
    cuts: list[tuple[datetime, datetime]] = []
    for pause in shift.breaks:
        pause_day = day if pause.start >= shift.start else day + timedelta(days=1)
        pause_end_day = pause_day + timedelta(days=1) if pause.end < pause.start else pause_day
        cuts.append(
            (
                _local(pause_day, _clock(pause.start), zone),
                _local(pause_end_day, _clock(pause.end), zone),
            )
        )
    working: list[tuple[datetime, datetime]] = []
    cursor = start
    for cut_start, cut_end in sorted(cuts):
        if cut_start > cursor:
            working.append((cursor, min(cut_start, end)))
        cursor = max(cursor, cut_end)
    if end > cursor:
        working.append((cursor, end))
    return ShiftSpan(shift.name, start, end, tuple(working))


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of the plant-local `day`, in UTC."""
    return _local(day, time(), zone)


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, zone).astimezone(UTC)
