"""Migration 0006: a store made before it keeps every event and gains each one's key scope."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, select

from linespeed.plant.model import Plant
from linespeed.store.engine import _alembic_config, migrate
from linespeed.store.schema import events
from tests.conftest import ingest
from tests.ingest.line import event, full_line, start, vin


@pytest.mark.slow
def test_events_stored_before_the_scoped_key_get_their_scope(
    memory_engine: Engine, plant: Plant
) -> None:
    car = vin(plant, "s7", 1)
    lineless = event("unit.shipped", vin=car)
    ingest(
        memory_engine,
        [
            start(plant, "s7", 1),
            *full_line(plant, car),
            lineless,
            event("station.state", station="ga-090", state="down"),
        ],
    )
    query = select(events.c.seq, events.c.event_id, events.c.body, events.c.id_scope)
    with memory_engine.connect() as connection:
        scoped = connection.execute(query.order_by(events.c.seq)).all()
    assert {row.id_scope for row in scoped} >= {"line:l1", "station:body-010", "station:ga-090"}

    with memory_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0004")
    migrate(memory_engine)

    with memory_engine.connect() as connection:
        assert connection.execute(query.order_by(events.c.seq)).all() == scoped
    # the key is scoped after the migration: another station may reuse a station's id
    reused = {**event("station.state", station="ga-100", state="down"), "id": scoped[-1].event_id}
    assert [outcome.status for outcome in ingest(memory_engine, [reused])] == ["accepted"]
