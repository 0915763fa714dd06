"""The supervisor's board: the one question behind the dashboard, `GET /api/v1/board` and
`linespeed board`.

It puts together what the line's screen shows: the day's counts from `kpi_report`, the
state of every station and the cars at it, open defects holding cars, and the countdown to
the next milestone car from `milestones_reached` and `plan_milestone`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, String, and_, func, literal, select, union_all

from linespeed.kpi import kpi_report
from linespeed.live.errors import BoardInputError
from linespeed.plant.model import Plant
from linespeed.ramp.milestones import milestones_reached, plan_milestone
from linespeed.store.plants import current_plant
from linespeed.store.schema import defects, events, station_states, units

LIVE_WITHIN: Final = timedelta(days=1)
"""A store whose newest event is older than this is not live."""
FIRST_DAY: Final = date(1970, 1, 1)
LAST_DAY: Final = date(2999, 12, 31)


@dataclass(frozen=True)
class DayCounts:
    """The day so far: completions against what the line makes at takt, JPH, WIP, yield."""

    day: date
    """In the plant's time zone: the day of the newest event (today, on a live line)."""
    since: datetime
    until: datetime
    completed: int
    planned_at_takt: int
    """Cars the lines would have completed at takt in the day's production hours so far."""
    started: int
    scrapped: int
    wip: int
    jph: float
    takt_jph: float
    jph_vs_takt: float
    first_pass_yield: float
    units_inspected: int
    bottleneck: str | None
    planned: int | None = None
    """Cars the stored plan asks for in the day so far (its shifts pro rata to the working
    time passed); None when no plan covers the day."""
    plan_source: Literal["plan", "takt"] = "takt"
    """What "completed today / plan" compares with: the stored plan, or, without one, takt."""
    plan_note: str = ""
    """For people: what the plan figure is."""


@dataclass(frozen=True)
class StationNow:
    """A station along the line: its latest state and the cars at it or just after it."""

    station: str
    line: str
    area: str
    gate: bool
    state: str | None
    """None if the station never reported a state."""
    state_since: datetime | None
    reason: str | None
    cars: int


@dataclass(frozen=True)
class OpenDefect:
    """An open defect on a car still in production (it holds the car at the quality gate)."""

    vin: str
    defect: str
    code: str
    severity: str
    found_at_station: str
    opened_at: datetime
    car_at_station: str | None


@dataclass(frozen=True)
class Countdown:
    """Cars to go to the next milestone, and the car expected to be it."""

    completed: int
    next_milestone: int | None
    remaining: int | None
    milestone_color: str | None
    planned_start_seq: int | None
    planned_vin: str | None
    """None while the planned car has not started yet."""
    probability: float | None


@dataclass(frozen=True)
class Board:
    """Everything the line's screen shows, as of the newest event."""

    plant: str
    name: str
    timezone: str
    as_of: datetime | None
    """The newest event's time (None for an empty store)."""
    today: DayCounts
    stations: list[StationNow]
    open_defects: list[OpenDefect]
    countdown: Countdown


def line_board(engine: Engine, *, day: date | None = None) -> Board:
    """The board for `day`. By default: the plant-local day of the newest event (today, on
    a live line), or, if that event is over a day old, of the newest completion.

    Raises BoardInputError (board.input) for a day outside 1970 to 2999, StoreError if the
    store holds no plant.
    """
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise BoardInputError(
            f"day {day} is outside {FIRST_DAY} to {LAST_DAY}", parameter="day", value=day
        )
    with engine.connect() as connection:
        plant = current_plant(connection)
        zone = ZoneInfo(plant.timezone)
        as_of = connection.execute(
            select(events.c.ts).order_by(events.c.seq.desc()).limit(1)
        ).scalar()
        stations = _stations_now(connection, plant)
        open_defects = _open_defects(connection)
        shown = as_of
        if day is None and as_of is not None and as_of < datetime.now(UTC) - LIVE_WITHIN:
            # a replayed or simulated store: show the last day that built cars
            shown = connection.execute(select(func.max(units.c.completed_at))).scalar() or as_of
    chosen = day or (shown or datetime.now(UTC)).astimezone(zone).date()
    since = datetime.combine(chosen, time(), zone).astimezone(UTC)
    end_of_day = datetime.combine(chosen + timedelta(days=1), time(), zone).astimezone(UTC)
    until = end_of_day if as_of is None else min(end_of_day, as_of + timedelta(seconds=1))
    until = max(until, since + timedelta(seconds=1))
    return Board(
        plant=plant.plant,
        name=plant.name,
        timezone=plant.timezone,
        as_of=as_of,
        today=_day_counts(engine, chosen, since, until),
        stations=stations,
        open_defects=open_defects,
        countdown=_countdown(engine),
    )


def _day_counts(engine: Engine, day: date, since: datetime, until: datetime) -> DayCounts:
    report = kpi_report(engine, since=since, until=until)
    planned = sum(int(line.production_hours * line.takt_jph) for line in report.lines)
    from_plan = report.planned is not None
    if from_plan and report.plan_coverage is not None and report.plan_coverage < 1:
        note = "the stored plan for the day so far (it covers only part of the day)"
    elif from_plan:
        note = "the stored plan for the day so far"
    else:
        note = "no plan is stored for the day: plan at takt for the production hours so far"
    return DayCounts(
        day=day,
        since=report.since,
        until=report.until,
        completed=report.completed,
        planned_at_takt=planned,
        started=report.produced,
        scrapped=report.scrapped,
        wip=report.wip,
        jph=report.jph,
        takt_jph=report.takt_jph,
        jph_vs_takt=report.jph_vs_takt,
        first_pass_yield=report.first_pass_yield,
        units_inspected=report.units_inspected,
        bottleneck=report.bottleneck,
        planned=None if report.planned is None else round(report.planned),
        plan_source="plan" if from_plan else "takt",
        plan_note=note,
    )


def _stations_now(connection: Connection, plant: Plant) -> list[StationNow]:
    where = func.coalesce(units.c.current_station, units.c.last_station)
    cars: dict[Any, int] = dict(
        connection.execute(
            select(where, func.count()).where(units.c.status == "in_production").group_by(where)
        ).all()
    )
    latest = latest_station_states(
        connection, [station.id for line in plant.lines for station in line.stations]
    )
    found: list[StationNow] = []
    for line in plant.lines:
        for station in line.stations:
            state = latest.get(station.id)
            found.append(
                StationNow(
                    station=station.id,
                    line=line.id,
                    area=station.area,
                    gate=station.gate,
                    state=None if state is None else state.state,
                    state_since=None if state is None else state.started_at,
                    reason=None if state is None else state.reason,
                    cars=cars.get(station.id, 0),
                )
            )
    return found


@dataclass(frozen=True)
class LatestState:
    """A station's newest state row."""

    state: str
    reason: str | None
    started_at: datetime
    open: bool
    """True while the state has not ended."""


def latest_station_states(connection: Connection, stations: list[str]) -> dict[str, LatestState]:
    """The newest state of each station in `stations` that ever reported one, in one
    statement however many stations: for each, an index seek for its newest `started_at`,
    then the rows at that time (the open one wins a tie)."""
    if not stations:
        return {}
    # One SELECT of a bound station per row: unlike VALUES, a statement SQLAlchemy
    # compiles once per number of stations, not on every call.
    wanted_stations = union_all(
        *(select(literal(station, String).label("station")) for station in stations)
    ).cte("wanted")
    earlier = station_states.alias("earlier")
    newest = (
        select(earlier.c.started_at)
        .where(earlier.c.station == wanted_stations.c.station)
        .order_by(earlier.c.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(
            station_states.c.station,
            station_states.c.state,
            station_states.c.reason,
            station_states.c.started_at,
            station_states.c.ended_at.is_(None).label("open"),
        ).select_from(
            wanted_stations.join(
                station_states,
                and_(
                    station_states.c.station == wanted_stations.c.station,
                    station_states.c.started_at == newest,
                ),
            )
        )
    ).all()
    found: dict[str, LatestState] = {}
    for row in rows:
        state = LatestState(row.state, row.reason, row.started_at, bool(row.open))
        if row.station not in found or (state.open and not found[row.station].open):
            found[row.station] = state
    return found


def _open_defects(connection: Connection) -> list[OpenDefect]:
    rows = connection.execute(
        select(
            defects.c.vin,
            defects.c.defect,
            defects.c.code,
            defects.c.severity,
            defects.c.station,
            defects.c.opened_at,
            func.coalesce(units.c.current_station, units.c.last_station).label("at"),
        )
        .select_from(
            units.join(defects, and_(defects.c.vin == units.c.vin, defects.c.closed_at.is_(None)))
        )
        .where(units.c.status == "in_production")
        .order_by(defects.c.opened_at)
    ).all()
    return [
        OpenDefect(row.vin, row.defect, row.code, row.severity, row.station, row.opened_at, row.at)
        for row in rows
    ]


def _countdown(engine: Engine) -> Countdown:
    report = milestones_reached(engine)
    upcoming = report.next_milestone
    best = None if upcoming is None else plan_milestone(engine, upcoming).best
    return Countdown(
        completed=report.completed,
        next_milestone=upcoming,
        remaining=None if upcoming is None else upcoming - report.completed,
        milestone_color=report.milestone_color,
        planned_start_seq=None if best is None else best.start_seq,
        planned_vin=None if best is None else best.vin,
        probability=None if best is None else best.probability,
    )
