"""The state machine of `linespeed.events.transitions`, without a database.

Each test runs whole timelines through the machine and asserts them at once, SimPy-style:
the list of (event, car state after it), then every row the batch writes.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest

from linespeed.events.rules import rules_by_revision
from linespeed.events.transitions import (
    UNIT_CHANGES,
    StateMachine,
    unit_changes,
    unit_row,
)
from linespeed.events.types import (
    DefectClosed,
    DefectOpened,
    Event,
    InspectionRecorded,
    PartInstalled,
    StationCompleted,
    StationEntered,
    StationState,
    UnitCompleted,
    UnitEvent,
    UnitScrapped,
    UnitShipped,
    UnitStarted,
)
from linespeed.plant.load import parse_plant

PLANT = """\
plant: yz1
name: Yizhuang phase 1
timezone: Asia/Shanghai
vin: {wmi: LSP, plant_code: B}
models:
  - id: s7
    vds: A1S7E
    colors: [pearl-white, olive-green]
    parts:
      - {part: BAT-1001, station: ga-120, serialized: true,  supplier: sup-bat}
      - {part: BRK-2201, station: ga-090, serialized: false, supplier: sup-brk}
lines:
  - id: l1
    takt_s: 76
    stations:
      - {id: body-010, area: body, cycle_s: 70, buffer: 2}
      - {id: ga-090,   area: ga,   cycle_s: 68, buffer: 1, checks: [brake-torque]}
      - {id: ga-120,   area: ga,   cycle_s: 72, buffer: 1}
      - {id: eol-010,  area: eol,  cycle_s: 60, buffer: 0, checks: [rain-test], gate: true}
shifts:
  - {name: A, start: "07:00", end: "15:30"}
milestones: {every: 100000}
"""
T0 = datetime(2025, 6, 30, 1, 0, tzinfo=UTC)
CAR_A, CAR_B = "CAR-A", "CAR-B"


class View(NamedTuple):
    """What a car's state says after an event, in plant words."""

    status: str = "in_production"
    at: str | None = None
    """The station the car is at now (`station.entered`)."""
    last: str | None = None
    """The last station it completed."""
    done: tuple[str, ...] = ()
    open_defects: tuple[str, ...] = ()
    serials: tuple[tuple[str, str], ...] = ()
    completion: int | None = None


def at(minute: int) -> datetime:
    """The time `minute` minutes after T0."""
    return T0 + timedelta(minutes=minute)


@pytest.fixture
def machine() -> StateMachine:
    """A machine over the small plant, as revision 1; times stay datetimes in rows."""
    return StateMachine(rules_by_revision({1: parse_plant(PLANT, "plant.yaml")}), lambda ts: ts)


class Clock:
    """Builds events with fresh ids, one minute apart."""

    def __init__(self) -> None:
        self._minutes = itertools.count(1)

    def __call__(self, kind: type[Event], **fields: Any) -> Event:
        minute = next(self._minutes)
        return kind(id=f"e-{minute}", ts=at(minute), **fields)


def view(machine: StateMachine, vin: str) -> View:
    """The car's state as a `View`."""
    car = machine.cars[vin]
    state = car.state
    stations = car.line.line.stations
    return View(
        status=state.status,
        at=car.current_station,
        last=car.last_station,
        done=tuple(s.id for i, s in enumerate(stations) if state.done_mask >> i & 1),
        open_defects=tuple(sorted(state.open_defects)),
        serials=tuple(sorted(state.serials.items())),
        completion=state.completion_seq,
    )


def run(machine: StateMachine, events: list[Event]) -> list[tuple[str, View | None]]:
    """Apply each event; the timeline of (kind and station, car state after it)."""
    timeline: list[tuple[str, View | None]] = []
    for event in events:
        machine.apply(event, 1, event.ts)
        name = str(type(event).__struct_config__.tag)
        station = getattr(event, "station", None)
        label = name if station is None else f"{name} {station}"
        car = view(machine, event.vin) if isinstance(event, UnitEvent) else None
        timeline.append((label, car))
    return timeline


def test_a_car_through_the_line(machine: StateMachine) -> None:
    e = Clock()
    timeline = run(
        machine,
        [
            e(UnitStarted, vin=CAR_A, model="s7", color="pearl-white"),
            e(StationEntered, vin=CAR_A, station="body-010"),
            e(StationCompleted, vin=CAR_A, station="body-010", result="ok"),
            e(PartInstalled, vin=CAR_A, station="ga-090", part="BRK-2201", lot="L-7"),
            e(InspectionRecorded, vin=CAR_A, station="ga-090", check="brake-torque", result="pass"),
            e(StationCompleted, vin=CAR_A, station="ga-090", result="ok", started_at=at(4)),
            e(PartInstalled, vin=CAR_A, station="ga-120", part="BAT-1001", serial="S-1"),
            e(StationCompleted, vin=CAR_A, station="ga-120", result="ok"),
            e(StationEntered, vin=CAR_A, station="eol-010"),
            e(StationCompleted, vin=CAR_A, station="eol-010", result="nok"),
            e(UnitCompleted, vin=CAR_A),
            e(UnitShipped, vin=CAR_A, destination="Oslo"),
        ],
    )
    body = ("body-010",)
    ga = (*body, "ga-090")
    line = (*ga, "ga-120")
    battery = (("BAT-1001", "S-1"),)
    assert timeline == [
        ("unit.started", View()),
        ("station.entered body-010", View(at="body-010")),
        ("station.completed body-010", View(last="body-010", done=body)),
        ("part.installed ga-090", View(last="body-010", done=body)),
        ("inspection.recorded ga-090", View(last="body-010", done=body)),
        ("station.completed ga-090", View(last="ga-090", done=ga)),
        ("part.installed ga-120", View(last="ga-090", done=ga, serials=battery)),
        ("station.completed ga-120", View(last="ga-120", done=line, serials=battery)),
        ("station.entered eol-010", View(at="eol-010", last="ga-120", done=line, serials=battery)),
        (
            "station.completed eol-010",
            View(last="eol-010", done=(*line, "eol-010"), serials=battery),
        ),
        (
            "unit.completed",
            View("completed", None, "eol-010", (*line, "eol-010"), (), battery, 1),
        ),
        ("unit.shipped", View("shipped", None, "eol-010", (*line, "eol-010"), (), battery, 1)),
    ]
    changes = machine.changes
    assert (changes.new_vins, changes.touched_vins) == ({CAR_A}, {CAR_A})
    assert changes.visits == [
        (CAR_A, "body-010", None, at(3), "ok"),
        (CAR_A, "ga-090", at(4), at(6), "ok"),
        (CAR_A, "ga-120", None, at(8), "ok"),
        (CAR_A, "eol-010", None, at(10), "nok"),
    ]
    assert changes.parts == [
        (CAR_A, "ga-090", "BRK-2201", None, "L-7", "sup-brk", at(4), None, False, None),
        (CAR_A, "ga-120", "BAT-1001", "S-1", None, "sup-bat", at(7), None, False, None),
    ]
    assert changes.inspections == [(CAR_A, "ga-090", "brake-torque", "pass", None, at(5))]
    assert machine.serials == {("BAT-1001", "S-1"): CAR_A}
    assert (changes.defects, changes.defects_closed, changes.parts_removed) == ({}, [], [])
    assert (changes.state_rows, changes.states_ended) == ([], [])
    assert unit_row(machine.cars[CAR_A], lambda ts: ts.minute) == (
        CAR_A, "s7", "pearl-white", "l1", 1, "shipped", 1, 1, 1,
        11, None, 12, None, "eol-010", None, None, "Oslo",
    )  # fmt: skip


def test_start_and_completion_numbers_count_on(machine: StateMachine) -> None:
    e = Clock()
    machine.next_start, machine.next_completion = 41, 7
    run(
        machine,
        [
            e(UnitStarted, vin=CAR_A, model="s7", color="pearl-white"),
            e(UnitStarted, vin=CAR_B, model="s7", color="olive-green", line="l1"),
            e(UnitCompleted, vin=CAR_B),
            e(UnitCompleted, vin=CAR_A),
        ],
    )
    cars = [machine.cars[CAR_A].state, machine.cars[CAR_B].state]
    assert [(car.start_seq, car.completion_seq, car.completed_at) for car in cars] == [
        (41, 8, at(4)),
        (42, 7, at(3)),
    ]
    assert (machine.next_start, machine.next_completion) == (43, 9)


def test_a_defect_opened_and_closed(machine: StateMachine) -> None:
    e = Clock()
    timeline = run(
        machine,
        [
            e(UnitStarted, vin=CAR_A, model="s7", color="pearl-white"),
            e(StationCompleted, vin=CAR_A, station="body-010", result="ok"),
            e(
                DefectOpened,
                vin=CAR_A,
                station="ga-090",
                defect="D1",
                code="dent",
                severity="minor",
            ),
            e(DefectOpened, vin=CAR_A, station="ga-090", defect="D2", code="gap", severity="major"),
            e(DefectClosed, vin=CAR_A, defect="D1", action="repaired", station="ga-120"),
            e(DefectClosed, vin=CAR_A, defect="D2", action="accepted"),
        ],
    )
    done = View(last="body-010", done=("body-010",))
    assert timeline == [
        ("unit.started", View()),
        ("station.completed body-010", done),
        ("defect.opened ga-090", done._replace(open_defects=("D1",))),
        ("defect.opened ga-090", done._replace(open_defects=("D1", "D2"))),
        ("defect.closed ga-120", done._replace(open_defects=("D2",))),
        ("defect.closed", done),
    ]
    assert machine.cars[CAR_A].state.defects == {"D1", "D2"}
    assert list(machine.changes.defects.values()) == [
        {
            "vin": CAR_A,
            "defect": "D1",
            "station": "ga-090",
            "code": "dent",
            "severity": "minor",
            "opened_at": at(3),
            "closed_at": at(5),
            "action": "repaired",
            "closed_station": "ga-120",
        },
        {
            "vin": CAR_A,
            "defect": "D2",
            "station": "ga-090",
            "code": "gap",
            "severity": "major",
            "opened_at": at(4),
            "closed_at": at(6),
            "action": "accepted",
            "closed_station": None,
        },
    ]
    assert machine.changes.defects_closed == []


def test_a_defect_opened_before_the_batch_is_closed_by_an_update(machine: StateMachine) -> None:
    e = Clock()
    run(machine, [e(UnitStarted, vin=CAR_A, model="s7", color="pearl-white")])
    car = machine.cars[CAR_A]
    car.restore_defect("D0", "body-010", still_open=True)
    car.restore_defect("D9", "body-010", still_open=False)
    assert (car.state.defects, car.state.open_defects) == ({"D0", "D9"}, {"D0": "body-010"})
    timeline = run(machine, [e(DefectClosed, vin=CAR_A, defect="D0", action="repaired")])
    assert timeline == [("defect.closed", View())]
    assert machine.changes.defects == {}
    assert machine.changes.defects_closed == [
        {
            "b_vin": CAR_A,
            "b_defect": "D0",
            "closed_at": at(2),
            "action": "repaired",
            "closed_station": None,
        }
    ]


def test_a_scrap_frees_the_serials_and_another_car_takes_one(machine: StateMachine) -> None:
    e = Clock()
    through = [
        e(StationCompleted, vin=vin, station=station, result="ok")
        for vin in (CAR_A, CAR_B)
        for station in ("body-010", "ga-090")
    ]
    timeline = run(
        machine,
        [
            e(UnitStarted, vin=CAR_A, model="s7", color="pearl-white"),
            e(UnitStarted, vin=CAR_B, model="s7", color="pearl-white"),
            *through,
            e(StationEntered, vin=CAR_A, station="ga-120"),
            e(PartInstalled, vin=CAR_A, station="ga-120", part="BAT-1001", serial="S-1"),
            e(UnitScrapped, vin=CAR_A, station="ga-120", reason="flood damage"),
            e(PartInstalled, vin=CAR_B, station="ga-120", part="BAT-1001", serial="S-1"),
        ],
    )
    passed = View(last="ga-090", done=("body-010", "ga-090"))
    battery = (("BAT-1001", "S-1"),)
    assert timeline[-4:] == [
        ("station.entered ga-120", passed._replace(at="ga-120")),
        ("part.installed ga-120", passed._replace(at="ga-120", serials=battery)),
        ("unit.scrapped ga-120", passed._replace(status="scrapped", serials=battery)),
        ("part.installed ga-120", passed._replace(serials=battery)),
    ]
    scrapped = machine.cars[CAR_A]
    assert (scrapped.scrap_station, scrapped.scrap_reason, scrapped.state.scrapped_at) == (
        "ga-120",
        "flood damage",
        at(9),
    )
    assert machine.serials == {("BAT-1001", "S-1"): CAR_B}
    assert machine.changes.parts == [
        (CAR_A, "ga-120", "BAT-1001", "S-1", None, "sup-bat", at(8), None, False, None),
        (CAR_B, "ga-120", "BAT-1001", "S-1", None, "sup-bat", at(10), None, False, None),
    ]
    assert unit_changes(scrapped, lambda ts: ts.minute) == (
        "scrapped", None, None, 9, None, None, "ga-090", "ga-120", "flood damage", None,
    )  # fmt: skip
    assert len(UNIT_CHANGES) == len(unit_changes(scrapped, lambda ts: ts))


def test_a_serial_installed_again_replaces_the_one_the_car_held(machine: StateMachine) -> None:
    e = Clock()
    run(machine, [e(UnitStarted, vin=CAR_A, model="s7", color="pearl-white")])
    car = machine.cars[CAR_A]
    for station in ("ga-090", "body-010"):  # stored visits come in any order
        car.restore_visit(station)
    car.restore_part("ga-120", "BAT-1001", "S-0")  # held before this batch
    car.restore_part("ga-090", "BRK-2201", "B-0")  # not serialized in the BOM: not held
    machine.serials[("BAT-1001", "S-0")] = CAR_A
    timeline = run(
        machine,
        [
            e(PartInstalled, vin=CAR_A, station="ga-120", part="BAT-1001", serial="S-1"),
            e(PartInstalled, vin=CAR_A, station="ga-120", part="BAT-1001", serial="S-2"),
            e(PartInstalled, vin=CAR_A, station="ga-120", part="BAT-1001", serial="S-3"),
        ],
    )
    done = ("body-010", "ga-090")
    assert timeline == [
        ("part.installed ga-120", View(done=done, serials=(("BAT-1001", "S-1"),))),
        ("part.installed ga-120", View(done=done, serials=(("BAT-1001", "S-2"),))),
        ("part.installed ga-120", View(done=done, serials=(("BAT-1001", "S-3"),))),
    ]
    assert car.state.last_index == 1
    assert machine.serials == {
        ("BAT-1001", "S-0"): None,
        ("BAT-1001", "S-1"): None,
        ("BAT-1001", "S-2"): None,
        ("BAT-1001", "S-3"): CAR_A,
    }
    assert machine.changes.parts_removed == [
        {"b_vin": CAR_A, "b_part": "BAT-1001", "removed_at": at(2), "removed_reason": None}
    ]
    assert machine.changes.parts == [
        (CAR_A, "ga-120", "BAT-1001", "S-1", None, "sup-bat", at(2), at(3), False, None),
        (CAR_A, "ga-120", "BAT-1001", "S-2", None, "sup-bat", at(3), at(4), False, None),
        (CAR_A, "ga-120", "BAT-1001", "S-3", None, "sup-bat", at(4), None, False, None),
    ]


def test_a_station_state_sequence(machine: StateMachine) -> None:
    e = Clock()
    timeline = run(
        machine,
        [
            e(StationState, station="ga-090", state="running"),
            e(StationState, station="ga-120", state="starved", line="l1"),
            e(StationState, station="ga-090", state="down", reason="tool fault"),
            e(StationState, station="ga-090", state="running"),
        ],
    )
    assert timeline == [
        ("station.state ga-090", None),
        ("station.state ga-120", None),
        ("station.state ga-090", None),
        ("station.state ga-090", None),
    ]
    row = {"line": "l1", "reason": None, "ended_at": None}
    assert machine.changes.state_rows == [
        {**row, "station": "ga-090", "state": "running", "started_at": at(1), "ended_at": at(3)},
        {**row, "station": "ga-120", "state": "starved", "started_at": at(2)},
        {
            **row,
            "station": "ga-090",
            "state": "down",
            "reason": "tool fault",
            "started_at": at(3),
            "ended_at": at(4),
        },
        {**row, "station": "ga-090", "state": "running", "started_at": at(4)},
    ]
    # the state each station was in before this batch ends when its first new one starts
    assert machine.changes.states_ended == [
        {"b_station": "ga-090", "ended_at": at(1)},
        {"b_station": "ga-120", "ended_at": at(2)},
    ]
    assert machine.changes.states == {
        "ga-090": machine.changes.state_rows[3],
        "ga-120": machine.changes.state_rows[1],
    }
    assert (machine.cars, machine.changes.touched_vins) == ({}, set())
