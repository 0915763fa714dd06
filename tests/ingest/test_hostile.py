"""Hostile input: whatever one event holds, it is refused alone; nothing beside it fails.

Every test here runs on SQLite and on PostgreSQL (tests/ingest/conftest.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine, func, select

from linespeed.events.codec import decode_event
from linespeed.events.reasons import EventRejectedError
from linespeed.events.rules import PlantRules, UnitState, check_channel
from linespeed.ingest.core import Ingestor, LiveWindow, Outcome, RawEvent
from linespeed.kpi import kpi_report
from linespeed.plant.load import DEFAULT_PLANT_PATH, load_plant
from linespeed.plant.model import Plant
from linespeed.store.deadletters import list_dead_letters
from linespeed.store.schema import events
from tests.conftest import ingest, payload, snapshot
from tests.ingest.line import event, full_line, start, through, vin


def _raw(items: Sequence[dict[str, Any] | bytes], **channel: Any) -> list[RawEvent]:
    return [RawEvent(payload(item), f"test:{n}", **channel) for n, item in enumerate(items, 1)]


def _events(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(events)).scalar_one())


HOSTILE: dict[str, bytes | dict[str, Any]] = {
    "ts before year 1": {
        **event("station.state", station="body-010", state="down"),
        "ts": "0001-01-01T00:00:00+14:00",
    },
    "ts after year 9999": {
        **event("station.state", station="body-010", state="down"),
        "ts": "9999-12-31T23:59:59-01:00",
    },
    "deep JSON": b"[" * 100_000 + b"]" * 100_000,
    "deep field": b'{"id": "x", "reason": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "NUL": event("station.state", station="body-010", state="down", reason="a\x00b"),
    "huge string": event("station.state", station="body-010", state="down", reason="r" * 10**6),
    "1e309": b'{"id": "n", "ts": "2025-06-30T00:00:00Z", "kind": "station.state",'
    b' "station": "body-010", "state": "down", "reason": 1e309}',
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_event_is_refused_alone_and_the_good_ones_beside_it_are_stored(
    memory_engine: Engine, plant: Plant, name: str
) -> None:
    car = vin(plant, "s7", 1)
    good = [start(plant, "s7", 1), *through(plant, car, "body-040")]
    batch = [*good[:2], HOSTILE[name], *good[2:]]

    outcomes = ingest(memory_engine, batch)

    statuses = [outcome.status for outcome in outcomes]
    assert statuses == ["accepted", "accepted", "rejected", *["accepted"] * (len(good) - 2)]
    assert _events(memory_engine) == len(good)
    assert [letter.source for letter in list_dead_letters(memory_engine)] == ["test:3"]


def test_events_outside_the_calendar_never_reach_a_report(
    memory_engine: Engine, plant: Plant
) -> None:
    car = vin(plant, "s7", 1)
    ingest(memory_engine, [start(plant, "s7", 1), *full_line(plant, car)])
    before = kpi_report(memory_engine)
    far = [
        {**event("station.state", station="body-010", state="down"), "ts": when}
        for when in ("9999-12-31T23:59:59Z", "2999-06-01T00:00:00Z", "2200-01-01T00:00:00Z")
    ]

    outcomes = ingest(memory_engine, far)

    assert {(o.status, o.reason) for o in outcomes} == {("rejected", "ts.out_of_range")}
    assert kpi_report(memory_engine) == before


def test_live_sources_refuse_events_beyond_the_clock_skew_or_the_age(
    memory_engine: Engine, plant: Plant
) -> None:
    now = datetime.now(UTC)

    def at(moment: datetime) -> dict[str, Any]:
        return {
            **event("station.state", station="body-010", state="down"),
            "ts": moment.isoformat(),
        }

    live = Ingestor(memory_engine, LiveWindow(max_future_s=600, max_age_s=90 * 86400))
    outcomes = live.ingest(
        _raw(
            [
                at(now),
                at(now + timedelta(minutes=9)),
                at(now + timedelta(minutes=11)),
                at(now - timedelta(days=89)),
                at(now - timedelta(days=91)),
            ]
        )
    )
    assert [(o.status, o.reason) for o in outcomes] == [
        ("accepted", None),
        ("accepted", None),
        ("rejected", "ts.out_of_range"),
        ("accepted", None),
        ("rejected", "ts.out_of_range"),
    ]
    assert "outside what a live source may send now" in str(outcomes[2].detail)
    # a file carries history: the same old event is accepted there
    (from_file,) = Ingestor(memory_engine).ingest(_raw([at(now - timedelta(days=400))]))
    assert from_file.status == "accepted"


def test_the_database_refusing_one_event_fails_only_that_event(
    memory_engine: Engine, plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the database still refuses (say a value the driver cannot pass), the batch is
    split until that event is alone: it is dead-lettered as `event.unstorable`."""
    import linespeed.ingest.core as core
    from linespeed.events.rules import check_event

    real_check = check_event

    def refusing_check(event: Any, unit: UnitState | None, *args: Any) -> None:
        if event.id == "poison":
            raise ValueError("the driver cannot pass this value")
        real_check(event, unit, *args)

    monkeypatch.setattr(core, "check_event", refusing_check)
    car = vin(plant, "s7", 1)
    good = [start(plant, "s7", 1), *through(plant, car, "body-060")]
    poison = {**event("station.state", station="body-010", state="down"), "id": "poison"}
    batch = [*good[:3], poison, *good[3:]]

    outcomes = ingest(memory_engine, batch)

    assert outcomes[3] == Outcome(
        "rejected",
        "poison",
        "test:4",
        "event.unstorable",
        "ValueError: the driver cannot pass this value",
    )
    assert [o.status for o in outcomes[:3] + outcomes[4:]] == ["accepted"] * len(good)
    assert _events(memory_engine) == len(good)
    (letter,) = list_dead_letters(memory_engine)
    assert (letter.reason, letter.event_id) == ("event.unstorable", "poison")


def test_a_station_owns_its_event_ids(memory_engine: Engine, plant: Plant) -> None:
    car = vin(plant, "s7", 1)
    ingest(memory_engine, [start(plant, "s7", 1)])
    claimed = {**event("station.state", station="body-010", state="down"), "id": "ga-090-999001"}
    real = {
        **event("station.completed", vin=car, station="body-010", result="ok"),
        "id": "ga-090-999001",
    }
    other_station = {
        **event("station.state", station="ga-090", state="running"),
        "id": "ga-090-999001",
    }
    line_level = {**start(plant, "s7", 3), "id": "ga-090-999001"}

    outcomes = ingest(memory_engine, [claimed, other_station, claimed, real])

    assert [(o.status, o.reason) for o in outcomes] == [
        ("accepted", None),
        ("accepted", None),  # another station's id space
        ("duplicate", None),  # same station, same id, same content
        ("rejected", "id.conflict"),  # same station, same id, other content
    ]
    (started,) = ingest(memory_engine, [line_level])  # the line's own id space
    assert started.status == "accepted"


def test_a_station_limited_token_acts_only_at_its_station_on_cars_that_have_not_passed_it(
    memory_engine: Engine, plant: Plant
) -> None:
    at_eol, arriving = vin(plant, "s7", 1), vin(plant, "s7", 2)
    ingest(
        memory_engine,
        [
            start(plant, "s7", 1),
            *through(plant, at_eol, "eol-080"),
            start(plant, "s7", 2),
        ],
    )
    before = snapshot(memory_engine, skip=["dead_letters"])
    body_010 = frozenset({"body-010"})
    hostile = [
        event("unit.scrapped", vin=at_eol, station="body-010", reason="dropped"),
        event(
            "defect.opened", vin=at_eol, station="body-010", defect="D9", code="x", severity="minor"
        ),
        event(
            "inspection.recorded",
            vin=arriving,
            station="ga-090",
            check="brake-torque",
            result="fail",
        ),
        event("unit.completed", vin=arriving),
    ]

    outcomes = Ingestor(memory_engine).ingest(_raw(hostile, stations=body_010))

    assert {(o.status, o.reason) for o in outcomes} == {("rejected", "station.not_allowed")}
    assert snapshot(memory_engine, skip=["dead_letters"]) == before
    assert "has already passed station 'body-010'" in str(outcomes[0].detail)
    allowed = Ingestor(memory_engine).ingest(
        _raw(
            [
                event(
                    "defect.opened",
                    vin=arriving,
                    station="body-010",
                    defect="D1",
                    code="x",
                    severity="minor",
                ),
                event("station.completed", vin=arriving, station="body-010", result="ok"),
                event("station.state", station="body-010", state="running"),
            ],
            stations=body_010,
        )
    )
    assert [o.status for o in allowed] == ["accepted"] * 3


def test_a_topic_line_must_be_a_plant_line_and_the_cars_line(
    memory_engine: Engine, plant: Plant
) -> None:
    car = vin(plant, "s7", 1)
    ingest(memory_engine, [start(plant, "s7", 1)])
    on_topic = [
        event("station.completed", vin=car, station="body-010", result="ok"),
        event("station.state", station="body-010", state="down"),
        start(plant, "s7", 2),
    ]

    bogus = Ingestor(memory_engine).ingest(_raw(on_topic, line="BOGUS"))
    right = Ingestor(memory_engine).ingest(_raw(on_topic, line=plant.lines[0].id))

    assert {(o.status, o.reason) for o in bogus} == {("rejected", "line.unknown")}
    assert [o.status for o in right] == ["accepted"] * 3


def test_a_car_on_another_line_than_its_topic_is_refused() -> None:
    """On a plant of two lines, a car's event on the other line's topic is refused."""
    two_lines = _two_line_plant()
    rules = PlantRules(1, two_lines)
    car = UnitState("V", "s7", "pearl-white", "l2", 1, 1, datetime.now(UTC))
    completed = decode_event(
        msgspec.json.encode(event("station.completed", vin="V", station="b-body-010", result="ok"))
    )
    check_channel(completed, car, rules, rules, line="l2", stations=None)
    with pytest.raises(EventRejectedError) as refused:
        check_channel(completed, car, rules, rules, line="l1", stations=None)
    assert refused.value.code == "station.wrong_line"
    state = decode_event(
        msgspec.json.encode(event("station.state", station="b-body-010", state="down"))
    )
    with pytest.raises(EventRejectedError) as wrong_station:
        check_channel(state, None, rules, None, line="l1", stations=None)
    assert wrong_station.value.code == "station.wrong_line"


def _two_line_plant() -> Plant:
    plant = load_plant(DEFAULT_PLANT_PATH)
    document = plant.model_dump()
    second = {**document["lines"][0], "id": "l2"}
    second["stations"] = [{**station, "id": "b-" + station["id"]} for station in second["stations"]]
    return Plant.model_validate({**document, "lines": [*document["lines"], second]})
