"""Bad requests get a 4xx with a reason, store nothing, and the server keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed.api import ApiSettings, create_app
from linespeed.events.types import Event
from tests.api.conftest import Tokens
from tests.api.test_api import _first_vin
from tests.conftest import snapshot

SQL = "x'; DROP TABLE events; --"


@pytest.fixture
def small_client(store: Engine) -> Iterator[TestClient]:
    """A client of an app that reads bodies of at most 4 KiB."""
    app = create_app(store, ApiSettings(max_body_bytes=4096, live_window=None))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _unchanged(store: Engine, before: dict[str, Any]) -> None:
    assert snapshot(store, skip=("audit_log", "api_tokens")) == before


def _serving(client: TestClient, tokens: Tokens) -> None:
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/milestones", headers=tokens.header("viewer")).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"id": "a", "kind": ', "application/json", 400, "request.malformed_json"),
        (b"[{}, {]", "application/json", 400, "request.malformed_json"),
        (b'{"id": "a"}\n{"id": ', "application/x-ndjson", 400, "request.malformed_json"),
        (b"\xff\xfe{}", "application/json", 400, "request.malformed_json"),
        (b"", "application/json", 400, "request.empty"),
        (b"[]", "application/json", 400, "request.empty"),
        (b"id=1", "application/x-www-form-urlencoded", 415, "request.content_type"),
        (b"{}", "text/plain", 415, "request.content_type"),
        (b"{}", "", 415, "request.content_type"),
    ],
)
@pytest.mark.slow
def test_bad_bodies_are_refused_whole(
    client: TestClient,
    tokens: Tokens,
    store: Engine,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    before = snapshot(store, skip=("audit_log", "api_tokens"))
    headers = {**tokens.header("operator"), "Content-Type": content_type}
    answer = client.post("/api/v1/events", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code
    assert answer.json()["detail"]
    _unchanged(store, before)
    _serving(client, tokens)


def test_an_oversized_body_is_413(small_client: TestClient, tokens: Tokens, store: Engine) -> None:
    before = snapshot(store, skip=("audit_log", "api_tokens"))
    events = [
        {"id": f"big-{n}", "kind": "station.state", "ts": "2025-06-30T12:00:00+08:00"}
        for n in range(200)
    ]
    answer = small_client.post("/api/v1/events", json=events, headers=tokens.header("operator"))
    assert answer.status_code == 413
    assert answer.json()["error"] == "request.too_large"
    _unchanged(store, before)
    _serving(small_client, tokens)


def test_an_oversized_body_without_length_is_413(
    small_client: TestClient, tokens: Tokens, store: Engine
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"["
        for n in range(300):
            yield json.dumps({"id": f"c-{n}", "kind": "station.state"}).encode() + b","
        yield b"{}]"

    headers = {**tokens.header("operator"), "Content-Type": "application/json"}
    answer = small_client.post("/api/v1/events", content=chunks(), headers=headers)
    assert answer.status_code == 413
    _serving(small_client, tokens)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/kpi?limit=10", 400, "request.unknown_parameter"),
        ("/api/v1/milestones?page=2", 400, "request.unknown_parameter"),
        ("/api/v1/kpi?since=yesterday", 422, "request.invalid"),
        ("/api/v1/kpi?since=2025-06-30T00:00:00", 400, "kpi.input"),
        ("/api/v1/kpi?by=shoe", 422, "request.invalid"),
        ("/api/v1/audit?limit=1000000", 422, "request.invalid"),
        ("/api/v1/audit?limit=0", 422, "request.invalid"),
        ("/api/v1/milestones/plan/0", 422, "request.invalid"),
        ("/api/v1/milestones/plan/99999999999999999999", 422, "request.invalid"),
        ("/api/v1/ramp?reference=nope", 400, "ramp.input"),
        ("/api/v1/ramp?forecast=-5", 422, "request.invalid"),
        ("/api/v1/board?day=tomorrow", 422, "request.invalid"),
        ("/api/v1/nothing-here", 404, "http.404"),
        ("/api/v1/kpi?by=day&since=1900-01-01T00:00Z&until=2030-01-01T00:00Z", 400, "kpi.input"),
        ("/api/v1/kpi?by=shift&since=1970-01-01T00:00Z&until=2030-01-01T00:00Z", 400, "kpi.input"),
        ("/api/v1/board?day=9999-12-31", 400, "board.input"),
    ],
)
@pytest.mark.slow
def test_bad_questions_get_a_4xx_with_a_reason(
    client: TestClient, tokens: Tokens, path: str, status: int, code: str
) -> None:
    answer = client.get(path, headers=tokens.header("admin"))
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code
    assert answer.json()["detail"]
    _serving(client, tokens)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/units/{SQL}",
        f"/api/v1/trace/vin/{SQL}",
        f"/api/v1/trace/part/{SQL}?lot=L1",
        f"/api/v1/trace/part/BRK-2201?lot={SQL}",
        f"/api/v1/trace/part/BRK-2201?supplier={SQL}&serial={SQL}",
        f"/api/v1/kpi?since={SQL}",
        f"/api/v1/kpi?by={SQL}",
        f"/api/v1/ramp?reference={SQL}",
        f"/api/v1/ramp/references?reference={SQL}",
        f"/api/v1/board?day={SQL}",
        f"/api/v1/milestones/plan/{SQL}",
    ],
)
@pytest.mark.slow
def test_sql_in_questions_is_a_4xx(
    client: TestClient, tokens: Tokens, store: Engine, path: str
) -> None:
    before = snapshot(store, skip=("audit_log", "api_tokens"))
    answer = client.get(path, headers=tokens.header("viewer"))
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]
    _unchanged(store, before)
    _serving(client, tokens)


def _events_with_every_field(vin: str) -> list[dict[str, Any]]:
    ts = "2025-07-01T12:00:00+08:00"
    return [
        {"id": "q-1", "kind": "unit.started", "ts": ts, "vin": vin, "model": "s7", "color": "x"},
        {"id": "q-2", "kind": "station.completed", "ts": ts, "vin": vin, "station": "ga-090",
         "result": "ok", "line": "l1"},
        {"id": "q-3", "kind": "part.installed", "ts": ts, "vin": vin, "station": "ga-090",
         "part": "BRK-2201", "lot": "L1", "supplier": "sup-brk"},
        {"id": "q-4", "kind": "inspection.recorded", "ts": ts, "vin": vin, "station": "ga-090",
         "check": "brake-torque", "result": "pass"},
        {"id": "q-5", "kind": "defect.opened", "ts": ts, "vin": vin, "station": "ga-090",
         "defect": "d1", "code": "c1", "severity": "minor"},
        {"id": "q-6", "kind": "unit.scrapped", "ts": ts, "vin": vin, "station": "ga-090",
         "reason": "r"},
        {"id": "q-7", "kind": "station.state", "ts": ts, "station": "ga-090", "state": "down"},
    ]  # fmt: skip


def _string_fields() -> list[tuple[int, str]]:
    found = []
    for index, event in enumerate(_events_with_every_field("V")):
        found += [(index, key) for key, value in event.items() if isinstance(value, str)]
    return found


@pytest.mark.parametrize(("index", "field"), _string_fields())
@pytest.mark.slow
def test_sql_in_every_event_field_is_refused_or_kept_as_inert_text(
    client: TestClient,
    tokens: Tokens,
    store: Engine,
    example: list[Event],
    index: int,
    field: str,
) -> None:
    event = _events_with_every_field(_first_vin(example))[index]
    event[field] = SQL
    before = snapshot(store, skip=("audit_log", "api_tokens", "dead_letters"))
    answer = client.post("/api/v1/events", json=event, headers=tokens.header("operator"))
    assert answer.status_code < 500, answer.text
    outcome = answer.json()["outcomes"][0]
    after = snapshot(store, skip=("audit_log", "api_tokens", "dead_letters"))
    if answer.status_code >= 400:
        assert answer.status_code == 422 and outcome["reason"]
        assert after == before
    else:
        # accepted: only free text takes any string, and it is stored exactly as sent
        assert outcome["status"] == "accepted"
        assert SQL in repr(after["events"])
    assert len(after["events"]) >= len(before["events"])
    _serving(client, tokens)


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("", "name the pieces to trace: give lot, serial or supplier"),
        (
            "?supplier=sup-brk&from=2025-02-01T00:00Z&to=2025-01-01T00:00Z",
            "to 2025-01-01T00:00:00+00:00 is before from 2025-02-01T00:00:00+00:00",
        ),
    ],
)
def test_input_errors_name_query_parameters_not_cli_flags(
    client: TestClient, tokens: Tokens, query: str, detail: str
) -> None:
    answer = client.get(f"/api/v1/trace/part/BRK-2201{query}", headers=tokens.header("viewer"))
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": "trace.input", "detail": detail}
