"""What a twin is fitted from: one line's history in a window, read from the store.

Times are epoch seconds (UTC). Stops come from the KPIs' own timelines
(`kpi.states.load_timelines`): planned stops from `planned-stop` states and the production
calendar, unplanned stops from `down` and `changeover` states, so the twin and the KPIs
never disagree on what was down.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, case, func, select

from linespeed.kpi.calendar import load_calendar
from linespeed.kpi.intervals import Coverage
from linespeed.kpi.sql import epoch_s
from linespeed.kpi.states import StationTimeline, load_timelines
from linespeed.kpi.window import Window
from linespeed.plant.model import Line, Plant
from linespeed.store.schema import (
    inspections,
    station_states,
    station_visits,
    stock_consumed,
    stock_moves,
    units,
)
from linespeed.supply.plan import DayPlan, day_plans

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class StationHistory:
    """One station's visits (start and completion) and its stops in the window."""

    start_s: Floats
    complete_s: Floats
    car_start_s: Floats
    """When each visit's car started the line."""
    car_number: Floats
    """Each visit's car's place among the cars the line started (1: the first ever; the
    plant's `cars_before` counted in)."""
    timeline: StationTimeline
    starved: Coverage
    """When the station stood `starved` (a car in it waiting for parts counts as no work)."""
    operating_s: float
    """Planned busy time less unplanned down time, over the window."""


@dataclass(frozen=True)
class Receipts:
    """One part's goods receipts in the window, and what was on hand at its end."""

    quantities: list[int]
    suppliers: Counter[str]
    last_weeks: int
    """Pieces received in the window's last four weeks."""
    on_hand: int
    starved_h: float
    """Hours stations stood starved for the part (`shortage:PART`) in the window."""


@dataclass(frozen=True)
class LineHistory:
    """Everything a twin is fitted from, for one line and one window."""

    plant: Plant
    line: Line
    window: Window
    start_of_production: date
    """The plant's `sop`, else the local day the line's first car started (ever)."""
    completed_before_end: int
    """Cars completed before the window's end (ever, with the plant's `cars_before`): where
    the twin resumes."""
    started: int
    scrapped: int
    models: Counter[str]
    colors: dict[str, Counter[str]]
    ship_delays_h: Floats
    destinations: Counter[str]
    stations: dict[str, StationHistory]
    checks: dict[str, tuple[int, int]]
    """Check name -> (inspections, failed)."""
    receipts: dict[str, Receipts]
    plan: dict[date, DayPlan]
    """The plan in force each day a revision covers, from start of production on."""


def read_history(connection: Connection, plant: Plant, line: Line, window: Window) -> LineHistory:
    """The line's history in `window` (start of production and the count: of all time)."""
    since, until = window.since, window.until
    zone = ZoneInfo(plant.timezone)
    first = connection.execute(
        select(func.min(units.c.started_at)).where(units.c.line == line.id)
    ).scalar()
    sop = plant.sop or (first or since).astimezone(zone).date()
    done = connection.execute(
        select(func.count())
        .select_from(units)
        .where(units.c.line == line.id, units.c.completed_at < until)
    ).scalar_one()
    rows = connection.execute(
        select(
            units.c.model,
            units.c.color,
            units.c.status,
            epoch_s(units.c.completed_at),
            epoch_s(units.c.shipped_at),
            units.c.destination,
        ).where(units.c.line == line.id, units.c.started_at >= since, units.c.started_at < until)
    ).all()
    models: Counter[str] = Counter()
    colors: dict[str, Counter[str]] = {}
    delays: list[float] = []
    destinations: Counter[str] = Counter()
    scrapped = 0
    for model, color, status, completed_s, shipped_s, destination in rows:
        models[model] += 1
        colors.setdefault(model, Counter())[color] += 1
        scrapped += status == "scrapped"
        if completed_s is not None and shipped_s is not None:
            delays.append((shipped_s - completed_s) / 3600.0)
            destinations[destination or ""] += 1
    plan = day_plans(connection, sop, max(sop, until.astimezone(zone).date()) + timedelta(3660))
    calendar = load_calendar(connection, plant, window)
    timelines = load_timelines(connection, plant, window, calendar)[line.id].stations
    return LineHistory(
        plant=plant,
        line=line,
        window=window,
        start_of_production=sop,
        completed_before_end=int(done) + plant.cars_before,
        started=len(rows),
        scrapped=scrapped,
        models=models,
        colors=colors,
        ship_delays_h=np.array(delays, dtype=np.float64),
        destinations=destinations,
        stations=_stations(connection, line, window, timelines, plant.cars_before),
        checks=_checks(connection, line, window),
        receipts=_receipts(connection, window),
        plan=plan,
    )


def _stations(
    connection: Connection,
    line: Line,
    window: Window,
    timelines: dict[str, StationTimeline],
    cars_before: int,
) -> dict[str, StationHistory]:
    visits = station_visits.c
    starved = _starved_spans(connection, window)
    sequence = np.array(
        connection.execute(
            select(units.c.start_seq)
            .where(units.c.line == line.id, units.c.started_at < window.until)
            .order_by(units.c.start_seq)
        )
        .scalars()
        .all(),
        dtype=np.float64,
    )
    found: dict[str, StationHistory] = {}
    for station in line.stations:
        rows = connection.execute(
            select(
                epoch_s(visits.started_at),
                epoch_s(visits.completed_at),
                epoch_s(units.c.started_at),
                units.c.start_seq,
            )
            .join(units, units.c.vin == visits.vin)
            .where(
                visits.station == station.id,
                visits.completed_at >= window.since,
                visits.completed_at < window.until,
                visits.started_at.is_not(None),
            )
        ).all()
        # plain tuples: numpy probes a Row for array protocols, a thousand times slower
        times = np.array([tuple(row) for row in rows], dtype=np.float64).reshape(-1, 4)
        timeline = timelines.get(station.id, StationTimeline())
        busy = window.seconds - timeline.planned.total_s
        operating = busy - _outside(timeline.unplanned, timeline.planned)
        found[station.id] = StationHistory(
            times[:, 0],
            times[:, 1],
            times[:, 2],
            np.searchsorted(sequence, times[:, 3], side="right").astype(np.float64) + cars_before,
            timeline,
            Coverage(starved.get(station.id, [])),
            max(operating, 0.0),
        )
    return found


def _outside(down: Coverage, planned: Coverage) -> float:
    """Seconds of `down` that are not planned stops."""
    return sum(end - start - planned.between(start, end) for start, end in down.spans)


def _checks(connection: Connection, line: Line, window: Window) -> dict[str, tuple[int, int]]:
    ids = [station.id for station in line.stations]
    rows = connection.execute(
        select(
            inspections.c.check,
            func.count(),
            func.sum(case((inspections.c.result == "fail", 1), else_=0)),
        )
        .where(
            inspections.c.station.in_(ids),
            inspections.c.recorded_at >= window.since,
            inspections.c.recorded_at < window.until,
        )
        .group_by(inspections.c.check)
    ).all()
    return {str(check): (int(total), int(failed or 0)) for check, total, failed in rows}


def _receipts(connection: Connection, window: Window) -> dict[str, Receipts]:
    moves = stock_moves.c
    four_weeks = window.until - timedelta(days=28)
    quantities: dict[str, list[int]] = {}
    suppliers: dict[str, Counter[str]] = {}
    recent: Counter[str] = Counter()
    for part, quantity, supplier, at in connection.execute(
        select(moves.part, moves.quantity, moves.supplier, moves.at).where(
            moves.kind == "received", moves.at >= window.since, moves.at < window.until
        )
    ):
        quantities.setdefault(part, []).append(int(quantity))
        suppliers.setdefault(part, Counter())[supplier or ""] += 1
        if at >= four_weeks:
            recent[part] += int(quantity)
    booked: Counter[str] = Counter()
    for part, quantity in connection.execute(
        select(moves.part, func.sum(moves.quantity))
        .where(moves.at < window.until)
        .group_by(moves.part)
    ):
        booked[part] += int(quantity or 0)
    end_day = window.until.date()  # stock_consumed counts by UTC day
    for part, quantity in connection.execute(
        select(stock_consumed.c.part, func.sum(stock_consumed.c.quantity))
        .where(stock_consumed.c.day < end_day)
        .group_by(stock_consumed.c.part)
    ):
        booked[part] -= int(quantity or 0)
    starved = _starved_hours(connection, window)
    return {
        part: Receipts(
            quantities[part],
            suppliers[part],
            recent[part],
            booked[part],
            starved.get(part, 0.0),
        )
        for part in sorted(quantities)
    }


def _starved(connection: Connection, window: Window) -> list[tuple[str, str, float, float]]:
    """(station, reason, start, end) of every `starved` state in the window, clipped to it."""
    states = station_states.c
    found = []
    for station, reason, start, end in connection.execute(
        select(states.station, states.reason, states.started_at, states.ended_at).where(
            states.state == "starved",
            states.started_at < window.until,
            func.coalesce(states.ended_at, window.until) > window.since,
        )
    ):
        begin = max(start.timestamp(), window.since_s)
        finish = min(window.until_s if end is None else end.timestamp(), window.until_s)
        if finish > begin:
            found.append((str(station), str(reason or ""), begin, finish))
    return found


def _starved_spans(connection: Connection, window: Window) -> dict[str, list[tuple[float, float]]]:
    spans: dict[str, list[tuple[float, float]]] = {}
    for station, _, begin, end in _starved(connection, window):
        spans.setdefault(station, []).append((begin, end))
    return spans


def _starved_hours(connection: Connection, window: Window) -> dict[str, float]:
    """Hours stations stood starved for each part (reason `shortage:PART`)."""
    hours: dict[str, float] = {}
    for _, reason, begin, end in _starved(connection, window):
        if reason.startswith("shortage:"):
            part = reason[len("shortage:") :]
            hours[part] = hours.get(part, 0.0) + (end - begin) / 3600.0
    return hours
