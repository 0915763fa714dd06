"""`serve`'s /metrics: the names and types a scraper sees, counters that move with what is
posted, latency by route template, the lines' ages, and the token the option requires."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from linespeed.access.tokens import create_token
from linespeed.api import ApiSettings, create_app
from linespeed.events.types import Event, UnitEvent
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from tests.conftest import payload
from tests.metrics.scraping import families, value

TYPES = {
    "linespeed_events_accepted": "counter",
    "linespeed_events_refused": "counter",
    "linespeed_events_duplicate": "counter",
    "linespeed_ingest_batch_seconds": "histogram",
    "linespeed_api_request_seconds": "histogram",
    "linespeed_line_last_event_age_seconds": "gauge",
}


@pytest.fixture
def cars(plant: Plant) -> list[Event]:
    """Two example cars, every event of them."""
    return list(example_events(plant, ExampleSettings(cars=2)))


def _client(engine: Engine, **settings: Any) -> Iterator[TestClient]:
    app = create_app(engine, ApiSettings(live_window=None, webhooks=None, **settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    """A client of the app over an empty store, /metrics open."""
    yield from _client(engine)


def _post(client: TestClient, token: str, events: list[bytes]) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/events",
        content=b"[" + b",".join(events) + b"]",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    result: dict[str, Any] = answer.json()
    return result


def _scrape(client: TestClient) -> str:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


def test_a_scrape_names_every_metric_with_its_type_and_the_counters_move(
    client: TestClient, engine: Engine, cars: list[Event]
) -> None:
    operator = create_token(engine, "operator").token
    before = _scrape(client)
    good = [payload(event) for event in cars]
    bad = msgspec.json.encode({"id": "bad-1", "ts": "2025-06-30T09:00:00+08:00", "kind": "nope"})

    _post(client, operator, good)
    _post(client, operator, [*good[:3], bad])
    after = _scrape(client)

    found = families(after)
    assert {name: found[name].type for name in TYPES} == TYPES
    api = {"source": "api"}
    accepted = "linespeed_events_accepted_total"
    duplicate = "linespeed_events_duplicate_total"
    assert value(after, accepted, **api) - value(before, accepted, **api) == len(good)
    assert value(after, duplicate, **api) - value(before, duplicate, **api) == 3
    refused = [
        sample
        for sample in found["linespeed_events_refused"].samples
        if sample.labels["source"] == "api"
    ]
    moved = {
        sample.labels["reason"]: sample.value
        - value(before, sample.name, source="api", reason=sample.labels["reason"])
        for sample in refused
    }
    assert {reason: count for reason, count in moved.items() if count} == {"kind.unknown": 1}
    batches = "linespeed_ingest_batch_seconds_count"
    assert value(after, batches, **api) - value(before, batches, **api) == 2
    assert all(name.startswith("linespeed_") for name in found if name in TYPES)


def test_api_latency_is_counted_by_route_template_method_and_status(
    client: TestClient, engine: Engine, cars: list[Event]
) -> None:
    viewer = create_token(engine, "viewer").token
    vin = next(event.vin for event in cars if isinstance(event, UnitEvent))
    headers = {"Authorization": f"Bearer {viewer}"}
    before = _scrape(client)
    assert client.get(f"/api/v1/units/{vin}", headers=headers).status_code == 404
    assert client.get("/api/v1/no-such-thing", headers=headers).status_code == 404
    after = _scrape(client)

    count = "linespeed_api_request_seconds_count"
    unit = {"route": "/api/v1/units/{vin}", "method": "GET", "status": "404"}
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, count, **unit) - value(before, count, **unit) == 1
    assert value(after, count, **unmatched) - value(before, count, **unmatched) == 1
    routes = {
        sample.labels["route"]
        for sample in families(after)["linespeed_api_request_seconds"].samples
    }
    assert vin not in " ".join(routes), "raw paths would make the label unbounded"


def test_metrics_answer_without_a_token_by_default(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200


def test_the_option_requires_a_token_of_any_role(engine: Engine) -> None:
    viewer = create_token(engine, "viewer").token
    for client in _client(engine, metrics_token_required=True):
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"] == "auth.unauthorized"
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"})
        assert answer.status_code == 200
        assert "linespeed_events_accepted" in answer.text
