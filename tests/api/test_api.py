"""The API answers what the CLI answers, ingests through the one path, and keeps the rules."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from linespeed import cli
from linespeed.events.types import Event, UnitStarted
from linespeed.store.schema import dead_letters, events
from tests.api.conftest import CARS, Tokens


def _state(event_id: str, station: str = "ga-090", state: str = "down") -> dict[str, Any]:
    return {
        "id": event_id,
        "kind": "station.state",
        "ts": "2025-06-30T12:00:00+08:00",
        "station": station,
        "state": state,
        "reason": "api test",
    }


def _count(engine: Engine, table: Any = events) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _first_vin(example: list[Event]) -> str:
    return next(event.vin for event in example if isinstance(event, UnitStarted))


def test_health_needs_no_token(client: TestClient, store: Engine) -> None:
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "sqlite", "last_seq": _count(store)}


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/events" in spec["paths"]
    assert "/api/v1/units/{vin}" in spec["paths"]


@pytest.mark.parametrize(
    "question",
    [
        ("unit", "{vin}"),
        ("trace", "vin", "{vin}"),
        ("trace", "part", "BRK-2201", "--lot", "BRK-2201-L00001"),
        ("trace", "part", "BRK-2201", "--supplier", "sup-brk", "--status", "shipped"),
        ("kpi",),
        ("kpi", "--by", "station"),
        ("milestones",),
        ("milestones", "plan", "10000"),
        ("ramp",),
        ("board",),
        ("stock",),
        ("stock", "--part", "BRK-2201"),
        ("deadletters", "--all"),
    ],
    ids=lambda q: " ".join(q),
)
@pytest.mark.slow
def test_every_get_answers_the_json_of_the_cli(
    client: TestClient,
    tokens: Tokens,
    run_cli: Callable[..., Any],
    example: list[Event],
    question: tuple[str, ...],
) -> None:
    vin = _first_vin(example)
    args = [part.format(vin=vin) for part in question]
    path = {
        "unit": f"/api/v1/units/{vin}",
        "trace": f"/api/v1/trace/vin/{vin}"
        if "vin" in args
        else "/api/v1/trace/part/BRK-2201?"
        + ("lot=BRK-2201-L00001" if "--lot" in args else "supplier=sup-brk&status=shipped"),
        "kpi": "/api/v1/kpi" + ("?by=station" if "--by" in args else ""),
        "milestones": "/api/v1/milestones" + ("/plan/10000" if "plan" in args else ""),
        "ramp": "/api/v1/ramp",
        "board": "/api/v1/board",
        "stock": "/api/v1/stock" + ("?part=BRK-2201" if "--part" in args else ""),
        "deadletters": "/api/v1/deadletters?all=true",
    }[args[0]]
    role = "engineer" if args[0] == "deadletters" else "viewer"  # letters hold raw payloads
    answer = client.get(path, headers=tokens.header(role))
    assert answer.status_code == 200, answer.text
    assert answer.json() == run_cli(*args)


def test_unit_history_answers_404_for_an_unknown_car(
    client: TestClient, tokens: Tokens, example: list[Event]
) -> None:
    vin = _first_vin(example)
    unknown = vin[:-6] + "999999"
    answer = client.get(f"/api/v1/units/{unknown}", headers=tokens.header("viewer"))
    assert answer.status_code in (400, 404)
    assert set(answer.json()) == {"error", "detail"}


def test_board_counts_the_example_cars(client: TestClient, tokens: Tokens) -> None:
    board = client.get("/api/v1/board", headers=tokens.header("viewer")).json()
    assert board["today"]["completed"] == CARS
    assert board["countdown"]["completed"] == CARS
    assert board["countdown"]["next_milestone"] == 10000
    assert [s["station"] for s in board["stations"]][:2] == ["body-010", "body-020"]


@pytest.mark.slow
def test_post_one_event_an_array_and_ndjson(
    client: TestClient, tokens: Tokens, store: Engine
) -> None:
    before = _count(store)
    one = client.post("/api/v1/events", json=_state("p-1"), headers=tokens.header("operator"))
    assert one.status_code == 200, one.text
    assert one.json()["accepted"] == 1
    many = client.post(
        "/api/v1/events",
        json=[_state("p-1"), _state("p-2", state="running"), {**_state("p-3"), "station": "nope"}],
        headers=tokens.header("operator"),
    )
    assert many.status_code == 200
    body = many.json()
    assert [o["status"] for o in body["outcomes"]] == ["duplicate", "accepted", "rejected"]
    assert body["outcomes"][2]["reason"] == "station.unknown"
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 1, 1)
    lines = "\n".join(json.dumps(_state(f"p-{n}")) for n in (4, 5)) + "\n"
    ndjson = client.post(
        "/api/v1/events",
        content=lines,
        headers={**tokens.header("operator"), "Content-Type": "application/x-ndjson"},
    )
    assert ndjson.status_code == 200
    assert ndjson.json()["accepted"] == 2
    assert _count(store) == before + 4
    assert _count(store, dead_letters) == 1


def test_all_rejected_answers_422_with_outcomes(
    client: TestClient, tokens: Tokens, store: Engine
) -> None:
    answer = client.post(
        "/api/v1/events",
        json=[{**_state("r-1"), "station": "nope"}],
        headers=tokens.header("operator"),
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "events.rejected"
    assert body["outcomes"][0]["reason"] == "station.unknown"


# -- auth ---------------------------------------------------------------------------------

GETS = [
    "/api/v1/units/LSPA1S7E8SB000001",
    "/api/v1/trace/vin/LSPA1S7E8SB000001",
    "/api/v1/trace/part/BRK-2201?lot=L1",
    "/api/v1/trace/missing",
    "/api/v1/kpi",
    "/api/v1/milestones",
    "/api/v1/milestones/plan/10000",
    "/api/v1/ramp",
    "/api/v1/ramp/references",
    "/api/v1/board",
    "/api/v1/audit",
    "/api/v1/deadletters",
    "/api/v1/stream",
]


@pytest.mark.parametrize("path", GETS)
@pytest.mark.slow
def test_every_endpoint_but_health_needs_a_token(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 401
    assert answer.json()["error"] == "auth.unauthorized"


@pytest.mark.parametrize("path", GETS[:-1])
@pytest.mark.slow
def test_an_unknown_token_is_refused(client: TestClient, path: str) -> None:
    answer = client.get(path, headers={"Authorization": "Bearer ls_not-a-token"})
    assert answer.status_code == 401


@pytest.mark.slow
def test_posting_without_a_token_is_401_and_stores_nothing(
    client: TestClient, store: Engine
) -> None:
    before = _count(store)
    assert client.post("/api/v1/events", json=_state("a-1")).status_code == 401
    assert _count(store) == before


def test_a_viewer_cannot_post(client: TestClient, tokens: Tokens, store: Engine) -> None:
    before = _count(store)
    answer = client.post("/api/v1/events", json=_state("v-1"), headers=tokens.header("viewer"))
    assert answer.status_code == 403
    assert answer.json()["error"] == "auth.forbidden"
    assert _count(store) == before


def test_a_station_limited_operator_posts_only_its_stations(
    client: TestClient, tokens: Tokens, store: Engine
) -> None:
    before = _count(store)
    own = client.post("/api/v1/events", json=_state("s-1"), headers=tokens.header("ga090"))
    assert own.status_code == 200
    mixed = [_state("s-2"), _state("s-3", station="ga-100")]
    answer = client.post("/api/v1/events", json=mixed, headers=tokens.header("ga090"))
    assert answer.status_code == 403
    assert "ga-100" in answer.json()["detail"]
    assert _count(store) == before + 1
    assert _count(store, dead_letters) == 0


def test_a_station_limited_operator_cannot_post_car_events(
    client: TestClient, tokens: Tokens, store: Engine, example: list[Event]
) -> None:
    car = {"id": "c-1", "kind": "unit.shipped", "ts": "2025-07-01T12:00:00+08:00"}
    car["vin"] = _first_vin(example)
    answer = client.post("/api/v1/events", json=car, headers=tokens.header("ga090"))
    assert answer.status_code == 403
    assert "without a station" in answer.json()["detail"]


def test_a_revoked_token_answers_401(
    client: TestClient, tokens: Tokens, store: Engine, run_cli: Callable[..., Any]
) -> None:
    listed = run_cli("token", "list")
    viewer = next(token for token in listed if token["role"] == "viewer")
    assert "token" not in viewer and "token_sha256" not in viewer
    assert client.get("/api/v1/kpi", headers=tokens.header("viewer")).status_code == 200
    assert run_cli("token", "revoke", str(viewer["id"]))["revoked_at"] is not None
    assert client.get("/api/v1/kpi", headers=tokens.header("viewer")).status_code == 401
    assert viewer["id"] not in [token["id"] for token in run_cli("token", "list")]


def test_token_create_from_the_cli_shows_the_secret_once(
    store: Engine, run_cli: Callable[..., Any], client: TestClient
) -> None:
    created = run_cli("token", "create", "--role", "operator", "--station", "ga-090")
    assert created["token"].startswith("ls_") and created["stations"] == ["ga-090"]
    header = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/milestones", headers=header).status_code == 200
    assert "token" not in run_cli("token", "list")[0]


def test_only_engineers_record_a_milestone_plan(client: TestClient, tokens: Tokens) -> None:
    path = "/api/v1/milestones/plan/10000"
    assert client.post(path, headers=tokens.header("operator")).status_code == 403
    answer = client.post(path, headers=tokens.header("engineer"))
    assert answer.status_code == 200
    assert answer.json()["best"]["start_seq"] >= 10000


def test_only_admins_read_the_audit_log(client: TestClient, tokens: Tokens) -> None:
    assert client.get("/api/v1/audit", headers=tokens.header("engineer")).status_code == 403
    assert client.get("/api/v1/audit", headers=tokens.header("admin")).status_code == 200


# -- audit --------------------------------------------------------------------------------


def test_every_write_request_is_audited_whatever_its_outcome(
    client: TestClient, tokens: Tokens, run_cli: Callable[..., Any]
) -> None:
    client.post("/api/v1/events", json=_state("w-1"))
    client.post("/api/v1/events", json=_state("w-2"), headers=tokens.header("viewer"))
    client.post("/api/v1/events", json=_state("w-3"), headers=tokens.header("operator"))
    client.post("/api/v1/events", content=b"{", headers=tokens.header("operator"))
    entries = client.get("/api/v1/audit", headers=tokens.header("admin")).json()
    assert entries == run_cli("audit")
    seen = [(e["token_id"] is None, e["status_code"], e["outcome"]) for e in reversed(entries)]
    assert seen == [
        (True, 401, "auth.unauthorized"),
        (False, 403, "auth.forbidden"),
        (False, 200, "ok"),
        (False, 415, "request.content_type"),
    ]
    assert all(e["action"] == "post_events" and e["path"] == "/api/v1/events" for e in entries)
    assert "accepted 1" in entries[1]["detail"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_no_api_call_changes_the_audit_log(client: TestClient, tokens: Tokens, method: str) -> None:
    client.post("/api/v1/events", json=_state("x-1"), headers=tokens.header("operator"))
    before = client.get("/api/v1/audit", headers=tokens.header("admin")).json()
    answer = client.request(method, "/api/v1/audit", headers=tokens.header("admin"))
    assert answer.status_code == 405
    after = client.get("/api/v1/audit", headers=tokens.header("admin")).json()
    assert after[-len(before) :] == before


def test_the_database_refuses_to_change_the_audit_log(
    client: TestClient, tokens: Tokens, store: Engine
) -> None:
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DatabaseError

    from linespeed.store.schema import audit_log

    client.post("/api/v1/events", json=_state("y-1"), headers=tokens.header("operator"))
    for statement in (update(audit_log).values(outcome="forged"), delete(audit_log)):
        with pytest.raises(DatabaseError, match="append-only"), store.begin() as connection:
            connection.execute(statement)
    assert _count(store, audit_log) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("role", "stations", "message"),
    [
        ("boss", (), "not one of viewer, operator, engineer, admin"),
        ("viewer", ("ga-090",), "a viewer token takes none"),
    ],
)
def test_token_create_names_what_is_wrong(
    store: Engine, role: str, stations: tuple[str, ...], message: str
) -> None:
    from linespeed.access.tokens import create_token
    from linespeed.errors import LinespeedError

    with pytest.raises(LinespeedError, match=message):
        create_token(store, role, stations=stations)


def test_revoking_an_unknown_token_is_not_found(store: Engine) -> None:
    from linespeed.access.tokens import revoke_token
    from linespeed.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no token with id 999"):
        revoke_token(store, 999)


def test_the_stream_refuses_an_unknown_access_token(client: TestClient) -> None:
    answer = client.get("/api/v1/stream", params={"access_token": "ls_not-a-token"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "auth.unauthorized"


def test_a_daily_table_of_the_bundled_ramp_is_answered(client: TestClient, tokens: Tokens) -> None:
    """The library's limit (1,000 days) is the API's: 15 months by day is one question."""
    sop, fifteen_months = "2024-03-01T00:00:00+08:00", "2025-06-01T00:00:00+08:00"
    answer = client.get(
        f"/api/v1/kpi?by=day&since={sop}&until={fifteen_months}".replace("+", "%2B"),
        headers=tokens.header("viewer"),
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["by"], report["since"], report["until"]) == (
        "day",
        "2024-02-29T16:00:00Z",
        "2025-05-31T16:00:00Z",
    )
    assert len(report["groups"]) == 457  # one row per day of the 15 months


def test_the_recall_file_is_the_same_from_the_api_and_the_cli(
    client: TestClient, tokens: Tokens, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "recall.csv"
    lot = ["BRK-2201", "--lot", "BRK-2201-L00001"]
    monkeypatch.setattr(
        sys, "argv", ["linespeed", "trace", "part", *lot, "--csv", str(path), "--db", db_url]
    )
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert not stop.value.code
    answer = client.get(
        "/api/v1/trace/part/BRK-2201?lot=BRK-2201-L00001",
        headers={**tokens.header("viewer"), "Accept": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content == path.read_bytes()
    assert answer.content.startswith(b"vin,model,color,status,station,")
    cars = client.get(
        "/api/v1/trace/part/BRK-2201?lot=BRK-2201-L00001", headers=tokens.header("viewer")
    ).json()["cars"]
    assert cars and answer.content.count(b"\r\n") == 1 + len(cars)
