"""Genealogy corrections over HTTP: an engineer's token may correct a shipped car, an
operator's may not (each event refused with `correction.not_allowed`)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed.access.audit import list_audit
from linespeed.trace import vin_trace
from tests.api.conftest import Tokens
from tests.ingest.line import event


def _shipped_battery(store: Engine) -> tuple[str, str, str]:
    """A shipped car of the example, its battery part and the serial it holds."""
    from sqlalchemy import text

    with store.connect() as connection:
        car = connection.execute(
            text("SELECT vin FROM units WHERE status = 'shipped' ORDER BY start_seq LIMIT 1")
        ).scalar_one()
    trace = vin_trace(store, car)
    piece = next(p for p in trace.parts if p.part.startswith("BAT-"))
    assert piece.serial is not None
    return car, piece.part, piece.serial


def _corrections(car: str, part: str, serial: str) -> list[dict[str, Any]]:
    """The piece removed at service and a new one put in, after the car shipped."""
    late = ["2030-01-02T10:00:00+08:00", "2030-01-02T10:05:00+08:00"]
    return [{**row, "ts": at} for row, at in zip(_pair(car, part, serial), late, strict=True)]


def _pair(car: str, part: str, serial: str) -> list[dict[str, Any]]:
    return [
        event("part.removed", vin=car, part=part, serial=serial, reason="cell fault at service"),
        event(
            "part.installed",
            vin=car,
            station="ga-140",
            part=part,
            serial=serial + "-R",
            correction=True,
        ),
    ]


def test_an_operator_token_cannot_correct_genealogy(
    client: TestClient, store: Engine, tokens: Tokens
) -> None:
    car, part, serial = _shipped_battery(store)
    answer = client.post(
        "/api/v1/events", json=_corrections(car, part, serial), headers=tokens.header("operator")
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert [o["reason"] for o in body["outcomes"]] == ["correction.not_allowed"] * 2
    assert "engineer" in body["outcomes"][0]["detail"]
    assert [p.serial for p in vin_trace(store, car).parts if p.part == part] == [serial]


def test_an_engineer_token_corrects_a_shipped_car_and_trace_shows_both(
    client: TestClient, store: Engine, tokens: Tokens
) -> None:
    car, part, serial = _shipped_battery(store)
    answer = client.post(
        "/api/v1/events", json=_corrections(car, part, serial), headers=tokens.header("engineer")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2

    traced = client.get(f"/api/v1/trace/vin/{car}", headers=tokens.header("viewer")).json()
    pieces = [p for p in traced["parts"] if p["part"] == part]
    assert [
        (p["serial"], p["correction"], p["removed_reason"], p["removed_at"] is not None)
        for p in pieces
    ] == [(serial, False, "cell fault at service", True), (serial + "-R", True, None, False)]
    assert any(
        e.action == "events.correction" and car in e.detail and e.token_id is not None
        for e in list_audit(store)
    )
