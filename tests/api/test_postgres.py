"""The API on PostgreSQL: tokens, posting, the audit log and its guard, the live feed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import DatabaseError

from linespeed.access.audit import list_audit
from linespeed.access.tokens import create_token, revoke_token
from linespeed.api import ApiSettings, create_app
from linespeed.events.codec import encode_event
from linespeed.live import feed_after
from linespeed.plant.model import Plant
from linespeed.sim.example import ExampleSettings, example_events
from linespeed.store.schema import audit_log
from tests.backends import postgres_schema_url
from tests.conftest import make_store

pytestmark = pytest.mark.service


@pytest.fixture
def pg_store(plant: Plant) -> Iterator[Engine]:
    """A PostgreSQL store (its own schema) with the default plant."""
    with postgres_schema_url() as url:
        store = make_store(url, plant)
        yield store
        store.dispose()


def test_post_audit_and_feed_on_postgresql(pg_store: Engine, plant: Plant) -> None:
    operator = create_token(pg_store, "operator")
    viewer = create_token(pg_store, "viewer")
    body = b"\n".join(encode_event(e) for e in example_events(plant, ExampleSettings(cars=2)))
    with TestClient(
        create_app(pg_store, ApiSettings(live_window=None)), raise_server_exceptions=False
    ) as client:
        headers = {"Authorization": f"Bearer {operator.token}"}
        answer = client.post(
            "/api/v1/events",
            content=body,
            headers={**headers, "Content-Type": "application/x-ndjson"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["rejected"] == 0
        view = {"Authorization": f"Bearer {viewer.token}"}
        assert client.get("/api/v1/board", headers=view).json()["today"]["completed"] == 2
        assert client.post("/api/v1/events", content=body, headers=view).status_code == 403
        revoke_token(pg_store, viewer.id)
        assert client.get("/api/v1/board", headers=view).status_code == 401
    entries = list_audit(pg_store)
    assert [(e.token_id, e.status_code) for e in entries] == [
        (viewer.id, 403),
        (operator.id, 200),
    ]
    for statement in (update(audit_log).values(outcome="forged"), delete(audit_log)):
        with pytest.raises(DatabaseError, match="append-only"), pg_store.begin() as connection:
            connection.execute(statement)
    messages, _ = feed_after(pg_store, 0)
    assert [m.data["number"] for m in messages if m.event == "completion"] == [1, 2]
