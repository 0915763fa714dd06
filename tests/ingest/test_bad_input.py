"""Bad input: each refused with its own reason code, and nothing but dead letters changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from linespeed.plant.model import Plant
from linespeed.store.schema import dead_letters
from tests.conftest import ingest, snapshot
from tests.ingest.line import event, full_line, start, through, vin

Case = Callable[[Plant, dict[str, Any]], "dict[str, Any] | bytes"]


def _setup(plant: Plant) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A line with cars in every state; returns the events and named facts about them."""
    car_a, car_b, car_c = vin(plant, "s7", 1), vin(plant, "x9", 2), vin(plant, "s7", 3)
    car_d, car_e, car_f, car_g, car_h = (vin(plant, "s7", n) for n in (4, 5, 6, 7, 8))
    start_a = start(plant, "s7", 1)
    events = [
        start_a,
        event("part.installed", vin=car_a, station="body-010", part="FLR-1101", lot="L1"),
        *through(plant, car_a, "body-030"),
        event(
            "defect.opened",
            vin=car_a,
            station="body-020",
            defect="D1",
            code="weld-spatter",
            severity="minor",
        ),
        start(plant, "x9", 2),
        *through(plant, car_b, "ga-030"),
        event("part.installed", vin=car_b, station="ga-030", part="VCU-4101", serial="VCU-B"),
        start(plant, "s7", 3),
        *full_line(plant, car_c),
        start(plant, "s7", 4),
        event("unit.scrapped", vin=car_d, station="body-010", reason="dropped"),
        start(plant, "s7", 5),
        *full_line(plant, car_e),
        event("unit.shipped", vin=car_e, destination="port"),
        start(plant, "s7", 6),
        *through(plant, car_f),
        event(
            "defect.opened",
            vin=car_f,
            station="eol-080",
            defect="F1",
            code="scratch",
            severity="minor",
        ),
        start(plant, "s7", 8),
        *through(plant, car_h, "ga-030"),
        start(plant, "s7", 7),
        *through(plant, car_g, "paint-080"),
        event(
            "defect.opened",
            vin=car_g,
            station="paint-070",
            defect="G1",
            code="paint-run",
            severity="major",
        ),
    ]
    facts = {
        "a": car_a,
        "b": car_b,
        "c": car_c,
        "d": car_d,
        "e": car_e,
        "f": car_f,
        "g": car_g,
        "h": car_h,
        "start_a": start_a,
    }
    return events, facts


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = {**base, **changes}
    return {key: value for key, value in result.items() if value is not None}


CASES: dict[str, tuple[Case, str]] = {
    "malformed JSON": (lambda p, f: b'{"id": "x1", "kind": ', "json.malformed"),
    "not UTF-8": (lambda p, f: b'{"id": "\xff\xfe"}', "json.malformed"),
    "JSON array of numbers": (lambda p, f: b"[1, 2]", "event.not_object"),
    "JSON string": (lambda p, f: b'"unit.started"', "event.not_object"),
    "missing field": (lambda p, f: _with(start(p, "s7", 20), color=None), "field.missing"),
    "missing kind": (lambda p, f: _with(start(p, "s7", 20), kind=None), "field.missing"),
    "wrong type": (lambda p, f: _with(start(p, "s7", 20), vin=12345), "field.type"),
    "value not a number": (
        lambda p, f: event(
            "inspection.recorded",
            vin=f["a"],
            station="body-100",
            check="dimensional-check",
            result="pass",
            value="high",
        ),
        "field.type",
    ),
    "timestamp without offset": (
        lambda p, f: _with(start(p, "s7", 20), ts="2025-06-30T09:41:07.120"),
        "ts.no_offset",
    ),
    "timestamp not a date": (lambda p, f: _with(start(p, "s7", 20), ts="yesterday"), "ts.invalid"),
    "timestamp before year 1 in UTC": (
        lambda p, f: _with(start(p, "s7", 20), ts="0001-01-01T00:00:00+14:00"),
        "ts.out_of_range",
    ),
    "timestamp after year 9999 in UTC": (
        lambda p, f: _with(start(p, "s7", 20), ts="9999-12-31T23:59:59-01:00"),
        "ts.out_of_range",
    ),
    "timestamp at the end of the calendar": (
        lambda p, f: _with(start(p, "s7", 20), ts="9999-12-31T23:59:59Z"),
        "ts.out_of_range",
    ),
    "timestamp in 2999": (
        lambda p, f: _with(start(p, "s7", 20), ts="2999-01-01T00:00:00Z"),
        "ts.out_of_range",
    ),
    "timestamp before 1970": (
        lambda p, f: _with(start(p, "s7", 20), ts="1969-12-31T23:59:59Z"),
        "ts.out_of_range",
    ),
    "start time before year 1 in UTC": (
        lambda p, f: event(
            "station.completed",
            vin=f["a"],
            station="body-030",
            result="ok",
            started_at="0001-01-01T00:00:00+14:00",
        ),
        "ts.out_of_range",
    ),
    "JSON nested 100,000 deep": (lambda p, f: b"[" * 100_000 + b"]" * 100_000, "event.not_object"),
    "a field nested 100,000 deep": (
        lambda p, f: b'{"id": "x1", "ts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "json.too_deep",
    ),
    "NUL in a text field": (
        lambda p, f: event("unit.scrapped", vin=f["a"], station="body-030", reason="a\u0000b"),
        "field.invalid",
    ),
    "NUL in the id": (lambda p, f: _with(start(p, "s7", 20), id="x\u0000"), "field.invalid"),
    "unknown kind": (lambda p, f: event("unit.teleported", vin=f["a"]), "kind.unknown"),
    "unknown field": (lambda p, f: _with(start(p, "s7", 20), trim="sport"), "field.unknown"),
    "value not allowed": (
        lambda p, f: event("station.completed", vin=f["a"], station="body-030", result="maybe"),
        "field.invalid",
    ),
    "empty id": (lambda p, f: _with(start(p, "s7", 20), id=""), "field.invalid"),
    "unknown line": (lambda p, f: _with(start(p, "s7", 20), line="l9"), "line.unknown"),
    "unknown station": (
        lambda p, f: event("station.completed", vin=f["a"], station="ga-999", result="ok"),
        "station.unknown",
    ),
    "unknown station in state": (
        lambda p, f: event("station.state", station="ga-999", state="down"),
        "station.unknown",
    ),
    "unknown model": (lambda p, f: _with(start(p, "s7", 20), model="s9"), "model.unknown"),
    "unknown colour": (lambda p, f: start(p, "s7", 20, color="hot-pink"), "color.unknown"),
    "bad check digit": (
        lambda p, f: _with(
            start(p, "s7", 20),
            vin=start(p, "s7", 20)["vin"][:8] + "0" + start(p, "s7", 20)["vin"][9:],
        ),
        "vin.check_digit",
    ),
    "forbidden VIN letter": (
        lambda p, f: _with(start(p, "s7", 20), vin="LSPA1S7EOSB000020"),
        "vin.invalid",
    ),
    "VIN of another maker": (
        lambda p, f: _with(start(p, "s7", 20), vin="1M8GDM9AXKP042788"),
        "vin.plant_mismatch",
    ),
    "VIN of another model": (
        lambda p, f: _with(start(p, "s7", 20), vin=vin(p, "x9", 20)),
        "vin.model_mismatch",
    ),
    "duplicate VIN start": (lambda p, f: start(p, "s7", 1), "unit.duplicate"),
    "car never started": (
        lambda p, f: event(
            "station.completed", vin=vin(p, "s7", 99), station="body-010", result="ok"
        ),
        "unit.unknown",
    ),
    "malformed VIN for unknown car": (
        lambda p, f: event("unit.completed", vin="NOT-A-VIN"),
        "vin.invalid",
    ),
    "station out of flow order": (
        lambda p, f: event("station.completed", vin=f["a"], station="body-010", result="ok"),
        "station.out_of_order",
    ),
    "station skipped": (
        lambda p, f: event("station.completed", vin=f["a"], station="body-040", result="ok"),
        "station.missed",
    ),
    "part not in BOM at station": (
        lambda p, f: event(
            "part.installed", vin=f["a"], station="body-030", part="BAT-1001", serial="B1"
        ),
        "part.not_in_bom",
    ),
    "part of other model": (
        lambda p, f: event(
            "part.installed", vin=f["a"], station="ga-140", part="BAT-1002", serial="B1"
        ),
        "part.not_in_bom",
    ),
    "serialized part without serial": (
        lambda p, f: event(
            "part.installed", vin=f["b"], station="ga-030", part="IVI-4301", lot="L7"
        ),
        "part.serial_missing",
    ),
    "lot part without lot": (
        lambda p, f: event("part.installed", vin=f["b"], station="ga-030", part="IPM-3001"),
        "part.lot_missing",
    ),
    "serial already in another car": (
        lambda p, f: event(
            "part.installed", vin=f["h"], station="ga-030", part="VCU-4101", serial="VCU-B"
        ),
        "part.serial_in_use",
    ),
    "part at a station already left": (
        lambda p, f: event(
            "part.installed", vin=f["a"], station="body-010", part="FLR-1101", lot="L2"
        ),
        "part.station_passed",
    ),
    "part at a station not reached yet": (
        lambda p, f: event(
            "part.installed", vin=f["a"], station="ga-030", part="VCU-4101", serial="VCU-A"
        ),
        "station.missed",
    ),
    "inspection at a station not reached yet": (
        lambda p, f: event(
            "inspection.recorded", vin=f["a"], station="eol-060", check="rain-test", result="pass"
        ),
        "station.missed",
    ),
    "unknown check": (
        lambda p, f: event(
            "inspection.recorded", vin=f["a"], station="body-030", check="rain-test", result="pass"
        ),
        "check.unknown",
    ),
    "defect opened twice": (
        lambda p, f: event(
            "defect.opened", vin=f["a"], station="body-020", defect="D1", code="x", severity="minor"
        ),
        "defect.duplicate",
    ),
    "closing a defect never opened": (
        lambda p, f: event("defect.closed", vin=f["a"], defect="D9", action="repaired"),
        "defect.not_open",
    ),
    "completion with open defect": (
        lambda p, f: event("unit.completed", vin=f["f"]),
        "unit.open_defect",
    ),
    "completion with a missed station": (
        lambda p, f: event("unit.completed", vin=f["a"]),
        "unit.missed_station",
    ),
    "quality gate with open defect": (
        lambda p, f: event("station.completed", vin=f["g"], station="paint-090", result="ok"),
        "gate.open_defect",
    ),
    "event after completion": (
        lambda p, f: event(
            "inspection.recorded", vin=f["c"], station="eol-070", check="final-audit", result="pass"
        ),
        "unit.completed",
    ),
    "event after scrap": (
        lambda p, f: event("station.completed", vin=f["d"], station="body-020", result="ok"),
        "unit.scrapped",
    ),
    "event after shipping": (
        lambda p, f: event("unit.shipped", vin=f["e"], destination="again"),
        "unit.shipped",
    ),
    "shipping before completion": (
        lambda p, f: event("unit.shipped", vin=f["a"]),
        "unit.not_completed",
    ),
    "same id, other content": (
        lambda p, f: _with(f["start_a"], color="olive-green"),
        "id.conflict",
    ),
}


def test_there_are_at_least_30_distinct_reasons() -> None:
    assert len({code for _, code in CASES.values()}) >= 30


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.slow
def test_bad_event_is_refused_with_its_reason_and_changes_nothing(
    engine: Engine, plant: Plant, name: str
) -> None:
    events, facts = _setup(plant)
    assert {o.status for o in ingest(engine, events)} == {"accepted"}
    build, code = CASES[name]
    bad = build(plant, facts)
    before = snapshot(engine, skip=["dead_letters"])

    (outcome,) = ingest(engine, [bad])

    assert (outcome.status, outcome.reason) == ("rejected", code), outcome.detail
    assert outcome.detail
    assert snapshot(engine, skip=["dead_letters"]) == before
    with engine.connect() as connection:
        letters = connection.execute(select(dead_letters.c.reason, dead_letters.c.source)).all()
    assert [tuple(letter) for letter in letters] == [(code, "test:1")]
