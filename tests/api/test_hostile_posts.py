"""Posted events are held to the clock and to the token's stations; a station's ids are its
own (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed.api import create_app
from linespeed.events.types import Event, UnitShipped
from linespeed.plant.model import Plant
from linespeed.plant.vin import nth_vin
from tests.api.conftest import Tokens
from tests.backends import any_db_url, backend

__all__ = ["any_db_url", "backend"]


def _state(event_id: str, station: str, ts: datetime) -> dict[str, Any]:
    return {"id": event_id, "kind": "station.state", "ts": ts.isoformat(), "station": station,
            "state": "running"}  # fmt: skip


@pytest.fixture
def live_client(store: Engine) -> Iterator[TestClient]:
    """A client of an app with the default live window (10 minutes ahead, 90 days back)."""
    with TestClient(create_app(store), raise_server_exceptions=False) as test_client:
        yield test_client


def test_posted_events_are_held_to_the_servers_clock(
    live_client: TestClient, tokens: Tokens
) -> None:
    now = datetime.now(UTC)
    times = {
        "now": now,
        "in-5-min": now + timedelta(minutes=5),
        "in-1-day": now + timedelta(days=1),
        "89-days-old": now - timedelta(days=89),
        "100-days-old": now - timedelta(days=100),
    }
    body = [_state(name, "ga-090", moment) for name, moment in times.items()]

    answer = live_client.post("/api/v1/events", json=body, headers=tokens.header("operator"))

    assert answer.status_code == 200, answer.text
    outcomes = {item["event_id"]: item["reason"] for item in answer.json()["outcomes"]}
    assert outcomes == {
        "now": None,
        "in-5-min": None,
        "in-1-day": "ts.out_of_range",
        "89-days-old": None,
        "100-days-old": "ts.out_of_range",
    }


def test_a_station_token_acts_only_on_cars_that_have_not_passed_its_station(
    client: TestClient, tokens: Tokens, example: list[Event], plant: Plant
) -> None:
    shipped = next(event.vin for event in example if type(event) is UnitShipped)
    scrap = {"id": "s-1", "kind": "unit.scrapped", "ts": "2025-06-30T12:00:00+08:00",
             "vin": shipped, "station": "ga-090", "reason": "dropped"}  # fmt: skip
    refused = client.post("/api/v1/events", json=scrap, headers=tokens.header("ga090"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["reasons"] == {"station.not_allowed": 1}

    new_car = nth_vin(plant, "s7", 9000)
    start = {"id": "n-1", "kind": "unit.started", "ts": "2025-06-30T12:00:00+08:00",
             "vin": new_car, "model": "s7", "color": "pearl-white"}  # fmt: skip
    before_ga_090 = [station.id for station in plant.lines[0].stations if not station.optional]
    passed = [
        {"id": f"c-{n}", "kind": "station.completed", "ts": "2025-06-30T12:00:30+08:00",
         "vin": new_car, "station": station, "result": "ok"}
        for n, station in enumerate(before_ga_090[: before_ga_090.index("ga-090")])
    ]  # fmt: skip
    started = client.post(
        "/api/v1/events", json=[start, *passed], headers=tokens.header("operator")
    )
    assert started.json()["accepted"] == 1 + len(passed), started.text
    defect = {"id": "d-1", "kind": "defect.opened", "ts": "2025-06-30T12:01:00+08:00",
              "vin": new_car, "station": "ga-090", "defect": "d-1", "code": "scratch",
              "severity": "minor"}  # fmt: skip
    opened = client.post("/api/v1/events", json=defect, headers=tokens.header("ga090"))
    assert opened.status_code == 200, opened.text
    assert opened.json()["accepted"] == 1


def test_a_station_cannot_claim_another_stations_event_id(
    client: TestClient, tokens: Tokens
) -> None:
    at = datetime(2025, 6, 30, 4, tzinfo=UTC)
    claimed = client.post(
        "/api/v1/events",
        json=_state("body-010-999001", "ga-090", at),
        headers=tokens.header("ga090"),
    )
    real = client.post(
        "/api/v1/events",
        json=_state("body-010-999001", "body-010", at),
        headers=tokens.header("operator"),
    )
    assert (claimed.json()["accepted"], real.json()["accepted"]) == (1, 1)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/units/LSPA1S7E8SB00%000",
        "/api/v1/trace/vin/LSPA1S7E8SB00%000",
        "/api/v1/trace/part/BRK%002201?lot=a",
        "/api/v1/trace/part/BRK-2201?lot=a%00b",
        "/api/v1/trace/part/BRK-2201?supplier=a%00b",
        "/api/v1/trace/part/BAT-1001?serial=a%00b",
        "/api/v1/kpi?since=2025-06-30T00:00:00%00",
        "/api/v1/stream?access_token=a%00",
    ],
)
@pytest.mark.slow
def test_a_nul_in_a_path_or_query_is_400(client: TestClient, tokens: Tokens, path: str) -> None:
    answer = client.get(path, headers=tokens.header("admin"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "request.invalid"


def test_audit_records_keep_what_postgresql_cannot(store: Engine) -> None:
    from linespeed.access.audit import AuditRecord, list_audit, record_writes

    record = AuditRecord(None, datetime.now(UTC), "POST", "/api/\x00", "x\x00", "ok", 200, "a\x00")
    record_writes(store, [record])
    (entry,) = list_audit(store)
    assert (entry.path, entry.action, entry.detail) == ("/api/\\x00", "x\\x00", "a\\x00")
