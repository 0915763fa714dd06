"""Migration 0011: stored bodies leave out kind, id and ts; every event reads back the same."""

from __future__ import annotations

import msgspec
import pytest
from alembic import command
from sqlalchemy import Engine, select

from linespeed.events.codec import decode_event, encode_event
from linespeed.plant.model import Plant
from linespeed.store.bodies import canonical_body
from linespeed.store.engine import _alembic_config, migrate
from linespeed.store.rebuild import rebuild
from linespeed.store.schema import events
from tests.conftest import ingest, payload, snapshot
from tests.ingest.line import event, full_line, start, vin


@pytest.mark.slow
def test_stored_bodies_are_compacted_and_read_back_as_accepted(
    memory_engine: Engine, plant: Plant
) -> None:
    car = vin(plant, "s7", 1)
    sent = [
        start(plant, "s7", 1),
        *full_line(plant, car),
        event("unit.shipped", vin=car),
        event("station.state", station="ga-090", state="down"),
    ]
    ingest(memory_engine, sent)
    canonical = [encode_event(decode_event(payload(item))).decode() for item in sent]
    query = select(events.c.kind, events.c.event_id, events.c.ts, events.c.body).order_by(
        events.c.seq
    )
    with memory_engine.connect() as connection:
        compact = connection.execute(query).all()
    assert [canonical_body(*row) for row in compact] == canonical
    assert all('"kind"' not in row.body and '"ts"' not in row.body for row in compact)

    with memory_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0010")
    with memory_engine.connect() as connection:
        assert [row.body for row in connection.execute(query)] == canonical

    migrate(memory_engine)
    with memory_engine.connect() as connection:
        assert connection.execute(query).all() == compact
    before = snapshot(memory_engine)
    rebuild(memory_engine)
    assert snapshot(memory_engine) == before
    # the same content is a duplicate, other content under the same key a conflict
    changed = {**msgspec.json.decode(payload(sent[-1])), "state": "running"}
    outcomes = ingest(memory_engine, [*sent, changed])
    assert [outcome.status for outcome in outcomes] == ["duplicate"] * len(sent) + ["rejected"]
    assert outcomes[-1].reason == "id.conflict"
