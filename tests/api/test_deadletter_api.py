"""`GET /api/v1/deadletters` answers what `linespeed deadletters --json` prints, for engineers;
`POST .../dismiss` and `.../assign` act on a letter, audited as the token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed.access.audit import list_audit
from linespeed.access.tokens import create_token
from linespeed.api import ApiSettings, create_app
from linespeed.events.types import Event
from linespeed.plant.model import Plant
from linespeed.store.deadletters import list_dead_letters
from tests.api.conftest import Tokens
from tests.backends import postgres_schema_url
from tests.conftest import ingest, make_store
from tests.ingest.line import event, vin

PATH = "/api/v1/deadletters"


@pytest.fixture
def letters(store: Engine, plant: Plant, example: list[Event]) -> list[int]:
    """Three dead letters beside the example cars: a car never started, a station that is
    not in the plant, and a payload that is not JSON."""
    unknown_car = vin(plant, "s7", 900)
    ingest(
        store,
        [
            event("station.entered", vin=unknown_car, station="body-010"),
            event("station.state", station="ga-999", state="down"),
            b"{not json",
        ],
    )
    return [letter.id for letter in list_dead_letters(store)]


@pytest.mark.parametrize(
    ("query", "args"),
    [
        ("", ()),
        ("?reason=unit.unknown", ("--reason", "unit.unknown")),
        ("?station=ga-999", ("--station", "ga-999")),
        ("?source=test%3A3", ("--source", "test:3")),
        ("?reason=no.such_reason", ("--reason", "no.such_reason")),
        (
            "?since=2020-01-01T00:00%2B08:00&limit=2",
            ("--since", "2020-01-01T00:00+08:00", "--limit", "2"),
        ),
        ("?all=true", ("--all",)),
    ],
    ids=lambda value: str(value),
)
def test_the_get_answers_the_json_of_the_cli(
    client: TestClient,
    tokens: Tokens,
    run_cli: Callable[..., Any],
    letters: list[int],
    query: str,
    args: tuple[str, ...],
) -> None:
    answer = client.get(PATH + query, headers=tokens.header("engineer"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == run_cli("deadletters", *args)


def test_the_filters_select_letters(
    client: TestClient, tokens: Tokens, letters: list[int], plant: Plant
) -> None:
    def ids(query: str) -> list[int]:
        answer = client.get(PATH + query, headers=tokens.header("admin"))
        assert answer.status_code == 200, answer.text
        return [letter["id"] for letter in answer.json()]

    first, second, third = letters
    assert ids("") == letters
    assert ids(f"?vin={vin(plant, 's7', 900)}") == [first]
    assert ids("?station=ga-999") == [second]
    assert ids("?reason=json.malformed") == [third]
    assert ids("?reason=no.such_reason") == []
    assert ids("?until=2020-01-01T00:00:00Z") == []


def test_reading_dead_letters_needs_the_engineer_role(
    client: TestClient, tokens: Tokens, letters: list[int]
) -> None:
    assert client.get(PATH).status_code == 401
    for role in ("viewer", "operator", "ga090"):
        answer = client.get(PATH, headers=tokens.header(role))
        assert answer.status_code == 403, role
        assert answer.json()["error"] == "auth.forbidden"
    assert client.get(PATH, headers=tokens.header("engineer")).status_code == 200
    assert client.get(PATH, headers=tokens.header("admin")).status_code == 200


def test_a_time_without_offset_is_a_400_naming_the_parameter(
    client: TestClient, tokens: Tokens
) -> None:
    answer = client.get(PATH + "?until=2025-06-30T09:00:00", headers=tokens.header("engineer"))
    assert answer.status_code == 400
    assert answer.json()["error"] == "deadletters.input"
    assert answer.json()["detail"].startswith("until 2025-06-30T09:00:00 has no UTC offset")


def test_dismiss_and_assign_are_audited_as_the_token(
    client: TestClient, tokens: Tokens, letters: list[int], store: Engine
) -> None:
    first, second, _ = letters
    engineer = tokens.header("engineer")
    answer = client.post(f"{PATH}/{first}/dismiss", json={"note": "test car"}, headers=engineer)
    assert answer.status_code == 200, answer.text
    [dismissed] = answer.json()
    assert (dismissed["id"], dismissed["status"], dismissed["note"]) == (
        first,
        "dismissed",
        "test car",
    )
    assert dismissed["handled_by"].startswith("token ") and "(engineer)" in dismissed["handled_by"]
    answer = client.post(f"{PATH}/{second}/assign", json={"to": "Li Wei"}, headers=engineer)
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["assignee"] == "Li Wei"
    listed = client.get(PATH + "?assignee=Li%20Wei", headers=engineer).json()
    assert [letter["id"] for letter in listed] == [second]
    entries = list_audit(store)
    actions = {entry.action: entry for entry in entries}
    token_id = actions["deadletters.dismiss"].token_id
    assert token_id is not None
    assert actions["deadletters.assign"].token_id == token_id
    assert "test car" in actions["deadletters.dismiss"].detail
    # the requests themselves are in the audit log too, as every write request is
    requests = [entry for entry in entries if entry.method == "POST"]
    assert {entry.path for entry in requests} == {
        f"{PATH}/{first}/dismiss",
        f"{PATH}/{second}/assign",
    }
    assert all(entry.token_id == token_id for entry in requests)


def test_only_engineers_dismiss_or_assign(
    client: TestClient, tokens: Tokens, letters: list[int], store: Engine
) -> None:
    first = letters[0]
    for role in ("viewer", "operator"):
        answer = client.post(
            f"{PATH}/{first}/dismiss", json={"note": "x"}, headers=tokens.header(role)
        )
        assert answer.status_code == 403
        answer = client.post(
            f"{PATH}/{first}/assign", json={"to": "x"}, headers=tokens.header(role)
        )
        assert answer.status_code == 403
    assert list_dead_letters(store)[0].status == "open"


def test_an_unknown_letter_is_404_and_a_handled_one_400(
    client: TestClient, tokens: Tokens, letters: list[int]
) -> None:
    engineer = tokens.header("engineer")
    answer = client.post(f"{PATH}/424242/dismiss", json={"note": "x"}, headers=engineer)
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "detail": "no dead letter #424242"}
    assert (
        client.post(f"{PATH}/424242/assign", json={"to": "x"}, headers=engineer).status_code == 404
    )
    first = letters[0]
    assert (
        client.post(f"{PATH}/{first}/dismiss", json={"note": "x"}, headers=engineer).status_code
        == 200
    )
    again = client.post(f"{PATH}/{first}/assign", json={"to": "Li Wei"}, headers=engineer)
    assert again.status_code == 400
    assert again.json()["error"] == "deadletters.handled"
    assert f"#{first} is already dismissed" in again.json()["detail"]
    blank = client.post(f"{PATH}/{letters[1]}/dismiss", json={"note": " "}, headers=engineer)
    assert blank.status_code == 400
    assert blank.json()["error"] == "deadletters.input"
    missing = client.post(f"{PATH}/{letters[1]}/dismiss", json={}, headers=engineer)
    assert missing.status_code == 422


@pytest.mark.service
def test_list_and_dismiss_on_postgresql(plant: Plant) -> None:
    with postgres_schema_url() as url:
        engine = make_store(url, plant)
        try:
            ingest(engine, [event("station.state", station="ga-999", state="down")])
            engineer = create_token(engine, "engineer")
            header = {"Authorization": f"Bearer {engineer.token}"}
            app = create_app(engine, ApiSettings(live_window=None))
            with TestClient(app, raise_server_exceptions=False) as client:
                since = "?since=2020-01-01T00:00%2B08:00&station=ga-999"
                [letter] = client.get(PATH + since, headers=header).json()
                answer = client.post(
                    f"{PATH}/{letter['id']}/dismiss", json={"note": "typo"}, headers=header
                )
                assert answer.status_code == 200, answer.text
                assert client.get(PATH, headers=header).json() == []
                [dismissed] = client.get(PATH + "?all=true", headers=header).json()
                assert (dismissed["status"], dismissed["note"]) == ("dismissed", "typo")
            assert any(e.action == "deadletters.dismiss" for e in list_audit(engine))
        finally:
            engine.dispose()
