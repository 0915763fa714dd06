"""The line's board from the library: every station's latest state in one statement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, desc, event, select

from linespeed.events.types import StationState, UnitCompleted
from linespeed.live.board import latest_station_states, line_board
from linespeed.live.errors import BoardInputError
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.schema import station_states
from tests.conftest import ingest, make_store


@pytest.fixture
def board_store(db_url: str, plant: Plant) -> Iterator[Engine]:
    """Four example cars, then two more states of the first station and one of the last."""
    store = _filled_store(db_url, plant)
    yield store
    store.dispose()


def _filled_store(db_url: str, plant: Plant) -> Engine:
    store = make_store(db_url, plant)
    stream = list(example_events(plant, ExampleSettings(cars=4)))
    last = max(each.ts for each in stream)
    stations = [station.id for line in plant.lines for station in line.stations]
    ingest(
        store,
        [
            *stream,
            StationState(
                id="b-1", ts=last + timedelta(seconds=1), station=stations[0], state="down"
            ),
            StationState(
                id="b-2",
                ts=last + timedelta(seconds=5),
                station=stations[0],
                state="starved",
                reason="shortage:BAT-1001",
            ),
            StationState(
                id="b-3", ts=last + timedelta(seconds=2), station=stations[-1], state="blocked"
            ),
        ],
    )
    return store


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    return seen


def _latest_one_by_one(engine: Engine, station: str) -> tuple[str, str | None] | None:
    """What the board showed before: one query per station."""
    with engine.connect() as connection:
        row = connection.execute(
            select(station_states.c.state, station_states.c.reason)
            .where(station_states.c.station == station)
            .order_by(desc(station_states.c.started_at))
            .limit(1)
        ).first()
    return None if row is None else (row.state, row.reason)


def test_the_board_reads_every_station_state_in_one_statement(
    board_store: Engine, plant: Plant
) -> None:
    stations = [station.id for line in plant.lines for station in line.stations]
    assert len(stations) > 2
    statements = _statements(board_store)
    with board_store.connect() as connection:
        latest = latest_station_states(connection, stations)
    assert [s for s in statements if s != "BEGIN"] == [statements[-1]]
    assert sorted(latest) == sorted(stations)
    statements.clear()
    board = line_board(board_store)
    # the KPIs (kpi_report) read station_states too; the board's own read is one statement
    assert sum("FROM wanted JOIN station_states" in s for s in statements) == 1
    assert [(s.station, s.state, s.reason) for s in board.stations] == [
        (station, *(_latest_one_by_one(board_store, station) or (None, None)))
        for station in stations
    ]
    shown = {s.station: (s.state, s.reason) for s in board.stations}
    assert shown[stations[0]] == ("starved", "shortage:BAT-1001")
    assert shown[stations[-1]] == ("blocked", None)
    assert shown[stations[1]] == ("running", None)


def test_the_board_counts_the_example_cars(board_store: Engine) -> None:
    board = line_board(board_store)
    assert board.today.completed == board.countdown.completed == 4
    assert board.open_defects == []
    assert sum(s.cars for s in board.stations) == board.today.wip


def test_a_station_that_never_reported_shows_no_state(db_url: str, plant: Plant) -> None:
    store = make_store(db_url, plant)
    stream = [
        each
        for each in example_events(plant, ExampleSettings(cars=2))
        if not isinstance(each, StationState | UnitCompleted)
    ]
    ingest(store, stream)
    board = line_board(store)
    assert {(s.state, s.state_since, s.reason) for s in board.stations} == {(None, None, None)}
    store.dispose()


def test_the_station_states_query_seeks_the_index(plant: Plant, tmp_path: Path) -> None:
    """SQLite's plan for the latest state of every station (PostgreSQL's is not read here)."""
    board_store = _filled_store(f"sqlite:///{tmp_path / 'plan.db'}", plant)
    statements: list[tuple[str, Any]] = []
    event.listen(board_store, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))
    with board_store.connect() as connection:
        latest_station_states(connection, ["body-010", "ga-090"])
        sql, parameters = statements[-1]
        plan = [
            row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
        ]
    assert not [step for step in plan if step.startswith("SCAN") and "station_states" in step]
    assert not [step for step in plan if step.startswith("SCAN earlier")]
    assert (
        sum(
            "USING" in step and "INDEX ix_station_states_station_started_at" in step
            for step in plan
        )
        == 2
    )
    board_store.dispose()


@pytest.mark.parametrize("day", [date(1969, 12, 31), date(3000, 1, 1)])
def test_a_day_the_board_cannot_show_is_refused_naming_it(board_store: Engine, day: date) -> None:
    with pytest.raises(BoardInputError) as caught:
        line_board(board_store, day=day)
    assert caught.value.code == "board.input"
    assert (caught.value.parameter, caught.value.value) == ("day", day)
    assert str(day) in caught.value.message
