"""The JSON codec: every kind decodes, timestamps land in UTC, refusals name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from linespeed.events.codec import decode_event, encode_event, peek_id
from linespeed.events.reasons import REASONS, EventRejectedError
from linespeed.events.types import KINDS, StationCompleted, UnitStarted

VIN = "LSPA1S7E8SB000001"
EXAMPLES: dict[str, dict[str, Any]] = {
    "unit.started": {"vin": VIN, "model": "s7", "color": "pearl-white"},
    "station.entered": {"vin": VIN, "station": "ga-090"},
    "station.completed": {
        "vin": VIN,
        "station": "ga-090",
        "started_at": "2025-06-30T09:40:00.010+08:00",
        "result": "ok",
    },
    "part.installed": {
        "vin": VIN,
        "station": "ga-090",
        "part": "BRK-2201",
        "lot": "24-113",
        "supplier": "sup-brk",
    },
    "inspection.recorded": {
        "vin": VIN,
        "station": "ga-090",
        "check": "brake-torque",
        "result": "pass",
        "value": 41.5,
    },
    "defect.opened": {
        "vin": VIN,
        "station": "ga-090",
        "defect": "D1",
        "code": "torque-low",
        "severity": "major",
    },
    "defect.closed": {"vin": VIN, "defect": "D1", "action": "repaired"},
    "unit.scrapped": {"vin": VIN, "station": "ga-090", "reason": "frame damage"},
    "unit.completed": {"vin": VIN},
    "unit.shipped": {"vin": VIN, "destination": "port-tianjin"},
    "station.state": {"station": "ga-090", "state": "down", "reason": "nutrunner fault"},
    "part.received": {
        "part": "BAT-1001",
        "quantity": 2,
        "supplier": "sup-bat",
        "serials": ["BP-000001", "BP-000002"],
    },
    "stock.counted": {"part": "BRK-2201", "quantity": 380},
    "part.removed": {"vin": VIN, "part": "BAT-1001", "serial": "BP-000001", "reason": "cell fault"},
}


def _payload(kind: str, /, **extra: object) -> bytes:
    body = {
        "id": "e1",
        "ts": "2025-06-30T09:41:07.120+08:00",
        "kind": kind,
        "line": "l1",
        **EXAMPLES[kind],
    }
    return msgspec.json.encode({**body, **extra})


def test_examples_cover_every_kind() -> None:
    assert set(EXAMPLES) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips_canonically(kind: str) -> None:
    event = decode_event(_payload(kind))
    assert event.ts == datetime(2025, 6, 30, 1, 41, 7, 120000, tzinfo=UTC)
    assert event.ts.tzinfo is UTC
    assert decode_event(encode_event(event)) == event
    assert encode_event(decode_event(encode_event(event))) == encode_event(event)


def test_same_instant_in_another_offset_or_key_order_encodes_the_same() -> None:
    local = decode_event(_payload("unit.started"))
    reordered = msgspec.json.encode(
        {
            "color": "pearl-white",
            "model": "s7",
            "vin": VIN,
            "line": "l1",
            "kind": "unit.started",
            "ts": "2025-06-30T01:41:07.12Z",
            "id": "e1",
        }
    )
    assert encode_event(decode_event(reordered)) == encode_event(local)
    assert isinstance(local, UnitStarted)


def test_started_at_is_normalised_too() -> None:
    event = decode_event(_payload("station.completed"))
    assert isinstance(event, StationCompleted)
    assert event.started_at == datetime(2025, 6, 30, 1, 40, 0, 10000, tzinfo=UTC)
    assert event.started_at is not None and event.started_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        (b"{", "json.malformed", None),
        (b"[]", "event.not_object", None),
        (_payload("unit.started", vin=None), "field.type", "vin"),
        (
            _payload("station.completed", started_at="2025-06-30T09:40:00"),
            "ts.no_offset",
            "started_at",
        ),
        (_payload("station.state", state="exploded"), "field.invalid", "state"),
        (_payload("unit.completed", shift="A"), "field.unknown", "shift"),
        (_payload("unit.completed", kind="unit.finished"), "kind.unknown", "kind"),
    ],
)
def test_refusals_name_reason_and_field(payload: bytes, code: str, field: str | None) -> None:
    with pytest.raises(EventRejectedError) as raised:
        decode_event(payload)
    assert (raised.value.code, raised.value.field) == (code, field)
    assert raised.value.code in REASONS


def test_peek_id_reads_the_id_of_an_undecodable_event() -> None:
    assert peek_id(b'{"id": "abc", "kind": "nope"}') == "abc"
    assert peek_id(b"not json") is None
    assert peek_id(b'{"id": 5}') is None


def test_an_unknown_reason_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        EventRejectedError("made.up", "x")
